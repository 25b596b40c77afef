import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { repoPath } from '../support/repo';
import { request, startGateway, type HttpResult, type RunningGateway } from '../support/gateway.process';

// End to end: the real gateway process, real HTTP over loopback, real onnxruntime sessions. Requests a
// client can build but the gateway must refuse with a 400 (not a 500, not a crash, not after running the
// model): huge ranks, deep nesting, request ids that cannot go back into a response header.

const ROW = { name: 'features', shape: [1, 4], datatype: 'FP32', data: [5.1, 3.5, 1.4, 0.2] };

/** A graph whose router keys sticky sessions on a request parameter: it reads (and stringifies) it. */
const STICKY_PARAMETER_GRAPH = `apiVersion: infergraph.dev/v1alpha1
kind: InferenceGraph
metadata:
  name: iris-sticky-parameter
spec:
  inputs:
    - {name: features, datatype: FP32, shape: [-1, 4]}
  nodes:
    - name: split
      type: router
      inputs: [graph.inputs]
      router:
        strategy: sticky
        sticky: {parameter: user}
        routes:
          - {name: logreg, to: [logreg]}
    - name: logreg
      type: model
      inputs: [split]
      tensorMap: {features: input}
      model: {uri: ${pathToFileURL(repoPath('models', 'iris-logreg', '1', 'model.onnx')).href}}
  outputs:
    - logreg.outputs.label
`;

const nestedText = (depth: number, leaf: string): string => `${'['.repeat(depth)}${leaf}${']'.repeat(depth)}`;

function errorOf(res: HttpResult): string {
  const body = res.body as { error?: unknown } | undefined;
  assert.equal(typeof body?.error, 'string', `expected a JSON error body, got ${res.raw.toString().slice(0, 200)}`);
  return body?.error as string;
}

/** How often the iris graph's model node ran, from the gateway's /metrics (0 before its first run). */
async function irisModelRuns(gw: RunningGateway): Promise<number> {
  const text = (await request(gw, 'GET', '/metrics')).raw.toString();
  const labels = ['graph="iris"', 'node="classifier"', 'type="model"', 'status="ok"'];
  const line = text.split('\n').find((l) => l.startsWith('infergraph_node_calls_total{') && labels.every((label) => l.includes(label)));
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
}

describe('REST gateway: malformed requests are 400s', () => {
  let gw: RunningGateway;
  let graphsDir: string;

  before(async () => {
    graphsDir = mkdtempSync(path.join(tmpdir(), 'infergraph-bad-input-'));
    writeFileSync(path.join(graphsDir, 'iris-sticky-parameter.yaml'), STICKY_PARAMETER_GRAPH);
    gw = await startGateway({ GRAPHS_DIR: `graphs,${graphsDir}`, KAFKA_BROKERS: '' });
  });
  after(async () => {
    await gw?.stop();
    rmSync(graphsDir, { recursive: true, force: true });
  });

  /** The gateway still serves: a good request right after a bad one succeeds. */
  async function assertStillServing(): Promise<void> {
    const res = await request(gw, 'POST', '/v2/models/iris/infer', { inputs: [ROW] });
    assert.equal(res.status, 200, res.raw.toString());
  }

  it('refuses a 50,000-rank shape with matching nested data with a 400 naming inputs[0].shape', async () => {
    const rank = 50_000;
    const body = `{"inputs":[{"name":"features","shape":[${new Array(rank).fill(1).join(',')}],"datatype":"FP32","data":${nestedText(rank, '1')}}]}`;
    const res = await request(gw, 'POST', '/v2/models/iris/infer', body);
    assert.equal(res.status, 400, res.raw.toString().slice(0, 300));
    assert.equal(errorOf(res), 'inputs[0].shape: rank 50000 exceeds the maximum of 64');
    await assertStillServing();
  });

  it('refuses a body nested 100,000 levels deep with a 400 naming the field, where it used to overflow the stack', async () => {
    // Deep in a parameter a sticky router reads: this graph used to answer 500 (stack overflow).
    const deepParameter = `{"parameters":{"user":${nestedText(100_000, '1')}},"inputs":[${JSON.stringify(ROW)}]}`;
    const sticky = await request(gw, 'POST', '/v2/models/iris-sticky-parameter/infer', deepParameter);
    assert.equal(sticky.status, 400, sticky.raw.toString().slice(0, 300));
    assert.equal(errorOf(sticky), 'parameters.user: nests arrays and objects more than 32 levels deep');
    // Deep in the data, under a shape of the same depth: the rank cap answers first.
    const deepData = `{"inputs":[{"name":"features","shape":[${new Array(100_000).fill(1).join(',')}],"datatype":"FP32","data":${nestedText(100_000, '1')}}]}`;
    const data = await request(gw, 'POST', '/v2/models/iris/infer', deepData);
    assert.equal(data.status, 400, data.raw.toString().slice(0, 300));
    assert.equal(errorOf(data), 'inputs[0].shape: rank 100000 exceeds the maximum of 64');
    const good = await request(gw, 'POST', '/v2/models/iris-sticky-parameter/infer', { parameters: { user: 'u-1' }, inputs: [ROW] });
    assert.equal(good.status, 200, good.raw.toString());
    await assertStillServing();
  });

  it('refuses a body id with CR/LF or a character beyond Latin-1 with a 400 naming id, before the model runs', async () => {
    await assertStillServing();
    const runsBefore = await irisModelRuns(gw);
    assert.ok(runsBefore >= 1, `the model node ran ${runsBefore} times for a good request`);
    for (const [id, problem] of [
      ['a\r\nset-cookie: x=1', 'U+000D at index 1'],
      ['é€', 'U+20AC at index 1'],
    ] as const) {
      const res = await request(gw, 'POST', '/v2/models/iris/infer', { id, inputs: [ROW] });
      assert.equal(res.status, 400, `${JSON.stringify(id)}: ${res.raw.toString()}`);
      assert.match(errorOf(res), new RegExp(`^id: ${problem.replace('+', '\\+')} cannot go into an HTTP header; a request id must be printable Latin-1 text`));
      assert.equal(res.headers.get('x-request-id'), null);
    }
    assert.equal(await irisModelRuns(gw), runsBefore, 'the model ran for a request refused for its id');
    // "é" is Latin-1: accepted, and echoed in the response header.
    const latin1 = await request(gw, 'POST', '/v2/models/iris/infer', { id: 'é', inputs: [ROW] });
    assert.equal(latin1.status, 200, latin1.raw.toString());
    assert.equal(latin1.headers.get('x-request-id'), 'é');
    assert.equal((latin1.body as { id: string }).id, 'é');
  });

  it('refuses an x-request-id header that is not printable Latin-1 with a 400 naming the header, before the model runs', async () => {
    // Node's clients refuse to send CR/LF or characters beyond U+00FF in a header; the UTF-8 bytes of "é€"
    // they send, and the server reads them as Latin-1: "Ã©â\u0082¬", with a C1 control character.
    await assertStillServing();
    const runsBefore = await irisModelRuns(gw);
    assert.ok(runsBefore >= 1, `the model node ran ${runsBefore} times for a good request`);
    const utf8AsLatin1 = Buffer.from('é€', 'utf8').toString('latin1');
    const res = await request(gw, 'POST', '/v2/models/iris/infer', { inputs: [ROW] }, { 'x-request-id': utf8AsLatin1 });
    assert.equal(res.status, 400, res.raw.toString());
    assert.match(errorOf(res), /^x-request-id header: U\+0082 at index 3 cannot go into an HTTP header; a request id must be printable Latin-1 text/);
    assert.equal(res.headers.get('x-request-id'), null, 'the refused id is not echoed');
    assert.equal(await irisModelRuns(gw), runsBefore, 'the model ran for a request refused for its id');
    const latin1 = await request(gw, 'POST', '/v2/models/iris/infer', { inputs: [ROW] }, { 'x-request-id': 'é-1' });
    assert.equal(latin1.status, 200, latin1.raw.toString());
    assert.equal(latin1.headers.get('x-request-id'), 'é-1');
  });
});
