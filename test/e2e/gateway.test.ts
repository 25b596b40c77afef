import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { repoPath } from '../support/repo';
import { request, startGateway, type HttpResult, type RunningGateway } from '../support/gateway.process';

// End to end: the real gateway process, real HTTP over loopback, real onnxruntime sessions on the
// committed ONNX models. Golden files hold scikit-learn's own predictions on held-out rows.

interface Golden {
  model: string;
  rows: number[][];
  labels: number[];
  probabilities: number[][];
}
interface OutputTensor {
  name: string;
  datatype: string;
  shape: number[];
  data: unknown[];
  parameters?: Record<string, unknown>;
}
interface InferBody {
  model_name: string;
  model_version: string;
  id: string;
  parameters?: { trace?: { nodes: { node: string; durationMs: number; status: string }[] } };
  outputs: OutputTensor[];
}

const golden = (name: string): Golden => JSON.parse(readFileSync(repoPath('models', name, '1', 'golden.json'), 'utf8')) as Golden;

function output(body: unknown, name: string): OutputTensor {
  const out = (body as InferBody).outputs.find((o) => o.name === name);
  assert.ok(out, `response has no output "${name}": ${JSON.stringify(body)}`);
  return out;
}

function assertGolden(res: HttpResult, g: Golden, labelName: string, probName: string): void {
  assert.equal(res.status, 200, JSON.stringify(res.body));
  const labels = output(res.body, labelName);
  const probs = output(res.body, probName);
  assert.equal(labels.datatype, 'INT64');
  assert.deepEqual(labels.shape, [g.rows.length]);
  assert.deepEqual(labels.data, g.labels, `${g.model}: labels differ from scikit-learn`);
  const classes = g.probabilities[0]?.length ?? 0;
  assert.deepEqual(probs.shape, [g.rows.length, classes]);
  const flat = g.probabilities.flat();
  let maxDiff = 0;
  flat.forEach((p, i) => (maxDiff = Math.max(maxDiff, Math.abs(p - (probs.data[i] as number)))));
  assert.ok(maxDiff <= 1e-5, `${g.model}: max |probability difference| ${maxDiff} > 1e-5`);
}

const infer = (gw: RunningGateway, graph: string, body: unknown, headers: Record<string, string> = {}): Promise<HttpResult> =>
  request(gw, 'POST', `/v2/models/${graph}/infer`, typeof body === 'string' ? body : (body as object), headers);

const irisRow = (data: unknown = [5.1, 3.5, 1.4, 0.2], extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  inputs: [{ name: 'features', shape: [1, 4], datatype: 'FP32', data, ...extra }],
});

describe('REST gateway (Open Inference Protocol V2)', () => {
  let gw: RunningGateway;

  before(async () => {
    gw = await startGateway({ GRAPHS_DIR: 'graphs,test/fixtures/graphs,test/fixtures/graphs-broken' });
  });
  after(async () => {
    await gw?.stop();
  });

  describe('health and metadata', () => {
    it('answers liveness, readiness and server metadata', async () => {
      assert.deepEqual((await request(gw, 'GET', '/v2/health/live')).body, { live: true });
      const ready = await request(gw, 'GET', '/v2/health/ready');
      assert.equal(ready.status, 200);
      assert.deepEqual(ready.body, { ready: true });
      const server = await request(gw, 'GET', '/v2');
      assert.equal((server.body as { name: string }).name, 'infergraph');
      assert.ok((server.body as { extensions: string[] }).extensions.includes('binary_tensor_data'));
    });

    it('describes a graph as a V2 model, with and without the version path', async () => {
      const expected = {
        name: 'iris',
        versions: ['1'],
        platform: 'infergraph',
        inputs: [{ name: 'features', datatype: 'FP32', shape: [-1, 4] }],
        outputs: [
          { name: 'species', datatype: 'BYTES', shape: [-1] },
          { name: 'label', datatype: 'INT64', shape: [-1] },
          { name: 'probabilities', datatype: 'FP32', shape: [-1, 3] },
        ],
      };
      assert.deepEqual((await request(gw, 'GET', '/v2/models/iris')).body, expected);
      assert.deepEqual((await request(gw, 'GET', '/v2/models/iris/versions/1')).body, expected);
      const wrong = await request(gw, 'GET', '/v2/models/iris/versions/7');
      assert.equal(wrong.status, 404);
      assert.match((wrong.body as { error: string }).error, /graph "iris" has no version "7" \(available: 1\)/);
    });

    it('reports per-graph readiness, including why a graph failed to load', async () => {
      assert.deepEqual((await request(gw, 'GET', '/v2/models/iris/ready')).body, { name: 'iris', ready: true });
      assert.equal((await request(gw, 'GET', '/v2/models/pipeline/versions/2/ready')).status, 200);
      // An unknown version is not "not ready": it does not exist, as for metadata and infer.
      const unknownVersion = await request(gw, 'GET', '/v2/models/iris/versions/7/ready');
      assert.equal(unknownVersion.status, 404);
      assert.match((unknownVersion.body as { error: string }).error, /graph "iris" has no version "7" \(available: 1\)/);
      const broken = await request(gw, 'GET', '/v2/models/broken/ready');
      assert.equal(broken.status, 503);
      const error = (broken.body as { error: string }).error;
      assert.match(error, /broken\.yaml:13:20 spec\.nodes\[0\]\.model\.uri: model file not found: .*does-not-exist/);
      assert.match(error, /broken\.yaml:15:13 spec\.nodes\[1\]\.type: unknown node type "transformr"/);
      const infer503 = await infer(gw, 'broken', { inputs: [{ name: 'x', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3, 4] }] });
      assert.equal(infer503.status, 503);
      assert.match((infer503.body as { error: string }).error, /graph "broken" failed to load/);
    });

    it('lists every graph with its load state', async () => {
      const { graphs } = (await request(gw, 'GET', '/v1/graphs')).body as { graphs: { name: string; state: string }[] };
      const states = Object.fromEntries(graphs.map((g) => [g.name, g.state]));
      assert.equal(states['broken'], 'failed');
      const ready = Object.keys(states).filter((name) => states[name] === 'ready').sort();
      assert.deepEqual(ready, [
        'breast-cancer',
        'breast-cancer-monitored',
        'custom-errors',
        'digits',
        'digits-batched',
        'dtypes',
        'fixed-batch',
        'iris',
        'iris-ab',
        'iris-conditional',
        'iris-custom',
        'iris-ensemble',
        'iris-monitored',
        'iris-trio',
        'join-any',
        'join-inner-fail',
        'join-inner-skip',
        'join-outer',
        'ops',
        'pipeline',
        'shadow-throws',
        'slow-drift',
      ]);
    });
  });

  describe('predictions equal scikit-learn on held-out rows', () => {
    it('iris: standardize transformer, logistic regression core, species label map (graphs/iris.yaml)', async () => {
      const g = golden('iris-logreg');
      const res = await infer(gw, 'iris', { inputs: [{ name: 'features', shape: [g.rows.length, 4], datatype: 'FP32', data: g.rows }] });
      assertGolden(res, g, 'label', 'probabilities');
      const names = ['setosa', 'versicolor', 'virginica'];
      assert.deepEqual(output(res.body, 'species').data, g.labels.map((l) => names[l]));
    });

    it('iris, one row per request', async () => {
      const g = golden('iris-logreg');
      for (let i = 0; i < 5; i++) {
        const row = g.rows[i] as number[];
        const res = await infer(gw, 'iris', { inputs: [{ name: 'features', shape: [1, 4], datatype: 'FP32', data: row }] });
        assertGolden(res, { ...g, rows: [row], labels: [g.labels[i] as number], probabilities: [g.probabilities[i] as number[]] }, 'label', 'probabilities');
      }
    });

    it('iris random forest, MLP and logistic regression side by side (iris-trio)', async () => {
      const rows = golden('iris-rf').rows;
      const res = await infer(gw, 'iris-trio', { inputs: [{ name: 'input', shape: [rows.length, 4], datatype: 'FP32', data: rows }] });
      assertGolden(res, golden('iris-logreg'), 'logreg_label', 'logreg_probabilities');
      assertGolden(res, golden('iris-rf'), 'forest_label', 'forest_probabilities');
      assertGolden(res, golden('iris-mlp'), 'mlp_label', 'mlp_probabilities');
    });

    it('breast-cancer gradient boosting (graphs/breast-cancer.yaml)', async () => {
      const g = golden('breast-cancer-gb');
      const res = await infer(gw, 'breast-cancer', { inputs: [{ name: 'input', shape: [g.rows.length, 30], datatype: 'FP32', data: g.rows }] });
      assertGolden(res, g, 'label', 'probabilities');
    });

    it('digits MLP with 1024-unit hidden layers, its 4.5 MB model run in a model thread (MODEL_THREADS=auto)', async () => {
      const g = golden('digits-mlp');
      const res = await infer(gw, 'digits', { inputs: [{ name: 'pixels', shape: [g.rows.length, 64], datatype: 'FP32', data: g.rows }] });
      assertGolden(res, g, 'label', 'probabilities');
      // The small models of the other graphs run on the event loop: only the digits sessions are in the thread.
      const metrics = (await request(gw, 'GET', '/metrics')).raw.toString('utf8');
      const inThreads = [...metrics.matchAll(/^infergraph_model_thread_sessions\{[^}]*\} (\d+)$/gm)].map((m) => Number(m[1]));
      assert.equal(inThreads.length, 1, `one model thread by default:\n${metrics.split('\n').filter((l) => l.includes('model_thread')).join('\n')}`);
      // graphs/digits-batched.yaml and the fixture digits graph share one session of the same model.
      assert.equal(inThreads[0], 1, 'sessions in the model thread');
    });
  });

  describe('protocol features', () => {
    it('echoes the body id, else the x-request-id header, else a generated id', async () => {
      const fromBody = await infer(gw, 'iris', { id: 'body-id-1', ...irisRow() }, { 'x-request-id': 'header-id' });
      assert.equal((fromBody.body as InferBody).id, 'body-id-1');
      assert.equal(fromBody.headers.get('x-request-id'), 'body-id-1');
      const fromHeader = await infer(gw, 'iris', irisRow(), { 'x-request-id': 'header-id-2' });
      assert.equal((fromHeader.body as InferBody).id, 'header-id-2');
      assert.equal(fromHeader.headers.get('x-request-id'), 'header-id-2');
      const generated = await infer(gw, 'iris', irisRow());
      const id = (generated.body as InferBody).id;
      assert.match(id, /^[0-9a-f-]{36}$/);
      assert.equal(generated.headers.get('x-request-id'), id);
    });

    it('accepts nested row-major data and returns only the requested outputs', async () => {
      const res = await infer(gw, 'iris', {
        inputs: [{ name: 'features', shape: [2, 4], datatype: 'FP32', data: [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]] }],
        outputs: [{ name: 'label' }],
      });
      assert.equal(res.status, 200);
      const body = res.body as InferBody;
      assert.deepEqual(body.outputs.map((o) => o.name), ['label']);
      assert.deepEqual(body.outputs[0]?.data, [0, 2]);
      assert.equal(body.model_name, 'iris');
      assert.equal(body.model_version, '1');
    });

    it('returns per-node timings when parameters.trace is true', async () => {
      const res = await infer(gw, 'pipeline', {
        parameters: { trace: true },
        inputs: [
          { name: 'left', shape: [1, 3], datatype: 'FP32', data: [1, 2, 3] },
          { name: 'right', shape: [1, 3], datatype: 'FP32', data: [10, 20, 30] },
        ],
      });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      const body = res.body as InferBody;
      assert.deepEqual(output(body, 'sum').data, [11, 22, 33]);
      assert.deepEqual(output(body, 'echoed_a').data, [1, 2, 3]);
      assert.equal(body.model_version, '2');
      const nodes = body.parameters?.trace?.nodes ?? [];
      assert.deepEqual(nodes.map((n) => n.node), ['prep', 'adder']);
      assert.ok(nodes.every((n) => n.status === 'ok' && n.durationMs >= 0));
      const untraced = await infer(gw, 'iris', irisRow());
      assert.equal((untraced.body as InferBody).parameters, undefined);
    });

    it('round-trips every datatype through an identity model', async () => {
      const inputs = [
        { name: 'in_bool', datatype: 'BOOL', data: [true, false, false, true] },
        { name: 'in_int8', datatype: 'INT8', data: [-128, 127, 0, -1] },
        { name: 'in_int16', datatype: 'INT16', data: [-32768, 32767, 1, -2] },
        { name: 'in_int32', datatype: 'INT32', data: [-2147483648, 2147483647, 3, -4] },
        { name: 'in_int64', datatype: 'INT64', data: [-9007199254740991, 9007199254740991, 5, '-9223372036854775808'] },
        { name: 'in_uint8', datatype: 'UINT8', data: [0, 255, 6, 7] },
        { name: 'in_uint16', datatype: 'UINT16', data: [0, 65535, 8, 9] },
        { name: 'in_uint32', datatype: 'UINT32', data: [0, 4294967295, 10, 11] },
        { name: 'in_uint64', datatype: 'UINT64', data: [0, '18446744073709551615', 12, 13] },
        { name: 'in_float16', datatype: 'FP16', data: [0.5, -2, 65504, 0.0999755859375] },
        { name: 'in_float32', datatype: 'FP32', data: [1.5, -0.25, 'NaN', 'Infinity'] },
        { name: 'in_float64', datatype: 'FP64', data: [Math.PI, -1e300, 5e-324, '-Infinity'] },
        { name: 'in_string', datatype: 'BYTES', data: ['héllo', '', 'a b', '✓'] },
      ];
      const res = await infer(gw, 'dtypes', { inputs: inputs.map((i) => ({ ...i, shape: [2, 2] })) });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      for (const i of inputs) {
        const out = output(res.body, i.name.replace('in_', 'out_'));
        assert.equal(out.datatype, i.datatype);
        assert.deepEqual(out.shape, [2, 2]);
        assert.deepEqual(out.data, i.data, `${i.datatype} did not round-trip`);
      }
    });

    it('speaks the binary tensor data extension in both directions', async () => {
      const rows = new Float32Array([5.1, 3.5, 1.4, 0.2, 6.7, 3.0, 5.2, 2.3]);
      const header = Buffer.from(
        JSON.stringify({
          inputs: [{ name: 'features', shape: [2, 4], datatype: 'FP32', parameters: { binary_data_size: rows.byteLength } }],
          outputs: [{ name: 'label', parameters: { binary_data: true } }, { name: 'probabilities' }],
        }),
      );
      const res = await request(gw, 'POST', '/v2/models/iris/infer', Buffer.concat([header, Buffer.from(rows.buffer)]), {
        'content-type': 'application/octet-stream',
        'inference-header-content-length': String(header.byteLength),
      });
      assert.equal(res.status, 200, res.raw.toString());
      const jsonLength = Number(res.headers.get('inference-header-content-length'));
      assert.ok(jsonLength > 0 && jsonLength < res.raw.byteLength);
      const json = JSON.parse(res.raw.subarray(0, jsonLength).toString()) as InferBody;
      const label = output(json, 'label');
      assert.deepEqual(label.parameters, { binary_data_size: 16 });
      assert.equal(label.data, undefined);
      const tail = res.raw.subarray(jsonLength);
      assert.deepEqual([tail.readBigInt64LE(0), tail.readBigInt64LE(8)], [0n, 2n]);
      assert.equal(output(json, 'probabilities').data.length, 6);
    });
  });

  describe('bad input gets a 4xx naming the problem, and the server keeps serving', () => {
    const cases: { name: string; graph?: string; body: unknown; headers?: Record<string, string>; status: number; error: RegExp }[] = [
      { name: 'malformed JSON', body: '{"inputs": [', status: 400, error: /^malformed JSON in request body: / },
      { name: 'an empty body', body: '', status: 400, error: /request body is empty/ },
      { name: 'a body that is not an object', body: '[1, 2]', status: 400, error: /request body must be a JSON object with an "inputs" array/ },
      { name: 'no inputs field', body: { id: 'x' }, status: 400, error: /inputs: required field is missing/ },
      { name: 'an unknown top-level field', body: { ...irisRow(), input: [] }, status: 400, error: /input: unknown field/ },
      { name: 'a missing input', body: { inputs: [{ name: 'other', shape: [1], datatype: 'FP32', data: [1] }] }, status: 400, error: /unexpected input "other": graph "iris" takes "features" FP32 \[-1, 4\]/ },
      {
        name: 'an extra input',
        body: { inputs: [...(irisRow().inputs as object[]), { name: 'extra', shape: [1], datatype: 'FP32', data: [1] }] },
        status: 400,
        error: /unexpected input "extra"/,
      },
      { name: 'a wrong datatype', body: irisRow([5, 3, 1, 0], { datatype: 'INT32' }), status: 400, error: /input "features": expected datatype FP32, got INT32/ },
      { name: 'an unknown datatype', body: irisRow([5, 3, 1, 0], { datatype: 'FLOAT32' }), status: 400, error: /inputs\[0\]\.datatype: must be one of BOOL/ },
      { name: 'an element-count mismatch', body: irisRow([5.1, 3.5, 1.4]), status: 400, error: /inputs\[0\]: shape \[1, 4\] needs 4 elements, but data holds 3/ },
      { name: 'a shape that breaks a fixed dimension', body: irisRow([1, 2, 3, 4, 5], { shape: [1, 5] }), status: 400, error: /input "features": dimension 1 must be 4/ },
      { name: 'a negative dimension', body: irisRow([1, 2, 3, 4], { shape: [-1, 4] }), status: 400, error: /inputs\[0\]\.shape\[0\]: dimensions must be >= 0/ },
      { name: 'a string where a number belongs', body: irisRow([5.1, 'x', 1.4, 0.2]), status: 400, error: /inputs\[0\]\.data\[1\]: expected a number .* for FP32, got string "x"/ },
      { name: 'NaN where the model does not allow it', body: irisRow([5.1, 'NaN', 1.4, 0.2]), status: 400, error: /node "classifier": input "input" element 1 is NaN; this model does not accept NaN/ },
      { name: 'Infinity where the model does not allow it', body: irisRow([5.1, 3.5, 'Infinity', 0.2]), status: 400, error: /element 2 is Infinity/ },
      { name: 'an unknown requested output', body: { ...irisRow(), outputs: [{ name: 'labels' }] }, status: 400, error: /outputs: unknown output "labels"; graph "iris" returns species, label, probabilities/ },
      { name: 'an unknown graph', graph: 'iriss', body: irisRow(), status: 404, error: /unknown graph "iriss" \(served: .*iris.*\)/ },
      {
        name: 'a model whose fixed batch dimension does not match',
        graph: 'fixed-batch',
        body: { inputs: [{ name: 'x', shape: [3, 3], datatype: 'FP32', data: [1, 2, 3, 4, 5, 6, 7, 8, 9] }] },
        status: 400,
        error: /node "double": input "x": dimension 0 must be 2 \(declared \[2, 3\]\), got \[3, 3\]/,
      },
    ];
    for (const c of cases) {
      it(`answers ${c.status} for ${c.name}`, async () => {
        const res = await infer(gw, c.graph ?? 'iris', c.body, c.headers ?? {});
        assert.equal(res.status, c.status, JSON.stringify(res.body));
        assert.match((res.body as { error: string }).error, c.error);
      });
    }

    it('answers 400 for binary data that does not match the shape', async () => {
      const header = Buffer.from(
        JSON.stringify({ inputs: [{ name: 'features', shape: [1, 4], datatype: 'FP32', parameters: { binary_data_size: 12 } }] }),
      );
      const res = await infer(gw, 'iris', Buffer.concat([header, Buffer.alloc(12)]), {
        'content-type': 'application/octet-stream',
        'inference-header-content-length': String(header.byteLength),
      });
      assert.equal(res.status, 400);
      assert.match((res.body as { error: string }).error, /inputs\[0\]: binary_data_size 12 does not match shape \(4 elements x 4 bytes = 16\)/);
    });

    it('answers 413 for a body over the limit', async () => {
      const big = JSON.stringify(irisRow(new Array(3_600_000).fill(1.25), { shape: [900_000, 4] }));
      assert.ok(big.length > 16 * 1024 * 1024);
      const res = await infer(gw, 'iris', big);
      assert.equal(res.status, 413);
      assert.match((res.body as { error: string }).error, /request body exceeds the 16777216-byte limit/);
    });

    it('answers 413 for a chunked body over the limit without buffering all of it, and keeps the caller\'s request id', async () => {
      const res = await new Promise<{ status: number; body: string; requestId: string | undefined }>((resolve, reject) => {
        const req = httpRequest(`${gw.baseUrl}/v2/models/iris/infer`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-request-id': 'big-1' } }, (r) => {
          const chunks: Buffer[] = [];
          r.on('data', (c: Buffer) => chunks.push(c));
          r.on('end', () => resolve({ status: r.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), requestId: r.headers['x-request-id'] as string | undefined }));
        });
        req.on('error', reject);
        // No content-length: the limit can only be found while reading. Stop writing once answered.
        const chunk = Buffer.alloc(1024 * 1024, 0x20);
        let sent = 0;
        const more = (): void => {
          while (sent < 20 && !req.destroyed) {
            sent++;
            if (!req.write(chunk)) return void req.once('drain', more);
          }
          req.end();
        };
        req.on('response', () => (sent = 20));
        more();
      });
      assert.equal(res.status, 413);
      assert.match((JSON.parse(res.body) as { error: string }).error, /request body exceeds the 16777216-byte limit/);
      assert.equal(res.requestId, 'big-1');
    });

    it('takes a client that hangs up mid-body as the client\'s fault: nothing logged as a server error, and serving goes on', async () => {
      const port = Number(new URL(gw.baseUrl).port);
      await new Promise<void>((resolve) => {
        const socket = connect(port, '127.0.0.1', () => {
          socket.write('POST /v2/models/iris/infer HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"inputs": [');
          setTimeout(() => socket.destroy(), 100);
        });
        socket.on('close', () => resolve());
        socket.on('error', () => undefined);
      });
      const res = await infer(gw, 'iris', irisRow());
      assert.equal(res.status, 200);
      assert.doesNotMatch(gw.output(), /-> 500/);
    });

    it('serves the versioned infer path and names a version it does not have', async () => {
      const res = await request(gw, 'POST', '/v2/models/iris/versions/1/infer', irisRow());
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.deepEqual(output(res.body, 'label').data, [0]);
      const wrong = await request(gw, 'POST', '/v2/models/iris/versions/9/infer', irisRow(), { 'x-request-id': 'v9' });
      assert.equal(wrong.status, 404);
      assert.match((wrong.body as { error: string }).error, /graph "iris" has no version "9"/);
      assert.equal(wrong.headers.get('x-request-id'), 'v9');
    });

    it('answers 404 with a JSON error for an unknown route', async () => {
      const res = await request(gw, 'GET', '/v2/modelz');
      assert.equal(res.status, 404);
      assert.deepEqual(res.body, { error: 'no route GET /v2/modelz' });
    });

    it('still serves correct predictions after all of the above', async () => {
      const res = await infer(gw, 'iris', irisRow());
      assert.equal(res.status, 200);
      assert.deepEqual(output(res.body, 'label').data, [0]);
      assert.equal(gw.process.exitCode, null);
    });
  });
});

describe('gateway start-up', () => {
  it('refuses to start on bad configuration, naming every bad variable', async () => {
    await assert.rejects(startGateway({ PORT: 'eighty', BODY_LIMIT_BYTES: '-5', LOG_LEVEL: 'loud' }, { timeoutMs: 15_000 }), (err: Error) => {
      assert.match(err.message, /gateway exited with 1/);
      assert.match(err.message, /invalid gateway configuration/);
      assert.match(err.message, /PORT="eighty"/);
      assert.match(err.message, /BODY_LIMIT_BYTES="-5"/);
      assert.match(err.message, /LOG_LEVEL="loud"/);
      return true;
    });
  });
});
