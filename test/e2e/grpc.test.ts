import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ServiceError } from '@grpc/grpc-js';
import { decodeBinaryElements, elementCount, type Datatype, type ModelInferResponseMessage } from '@infergraph/protocol';
import { EXAMPLES, goldenRows } from '../support/examples';
import { request, startGateway, type RunningGateway } from '../support/gateway.process';
import { V2GrpcClient } from '../support/grpc-client';

// End to end: the V2 gRPC endpoint of the real gateway process over loopback, with a plain
// @grpc/grpc-js client; every example graph answers the same over gRPC as over REST.

interface RestTensor {
  name: string;
  datatype: Datatype;
  shape: number[];
  data: unknown[];
}

function grpcOutputs(response: ModelInferResponseMessage): RestTensor[] {
  return response.outputs.map((o, i) => {
    const shape = o.shape.map(Number);
    const data = decodeBinaryElements(response.raw_output_contents[i] as Uint8Array, o.datatype as Datatype, elementCount(shape), o.name);
    const values = Array.isArray(data)
      ? data
      : o.datatype === 'BOOL'
        ? Array.from(data as Uint8Array, (v) => v !== 0)
        : Array.from(data as ArrayLike<number | bigint>, (v) => (typeof v === 'bigint' ? Number(v) : v));
    return { name: o.name, datatype: o.datatype as Datatype, shape, data: values };
  });
}

function rawFp32(rows: number[][]): Buffer {
  return Buffer.from(Float32Array.from(rows.flat()).buffer);
}

describe('V2 gRPC endpoint', () => {
  let gw: RunningGateway;
  let client: V2GrpcClient;
  before(async () => {
    gw = await startGateway({ GRAPHS_DIR: 'graphs,test/fixtures/graphs-broken,test/fixtures/graphs' });
    client = new V2GrpcClient(gw.grpcAddress);
  });
  after(async () => {
    client?.close();
    await gw?.stop();
  });

  it('answers health, server and model metadata', async () => {
    assert.deepEqual(await client.call('ServerLive', {}), { live: true });
    assert.deepEqual(await client.call('ServerReady', {}), { ready: true });
    assert.equal((await client.call<{ name: string }>('ServerMetadata', {})).name, 'infergraph');
    assert.deepEqual(await client.call('ModelReady', { name: 'iris', version: '' }), { ready: true });
    assert.deepEqual(await client.call('ModelReady', { name: 'broken', version: '' }), { ready: false });
    assert.deepEqual(await client.call('ModelReady', { name: 'iris', version: '1' }), { ready: true });
    // A version the graph does not have is NOT_FOUND, as for ModelMetadata and ModelInfer, not "not ready".
    await assert.rejects(client.call('ModelReady', { name: 'iris', version: '7' }), (err: ServiceError) => {
      assert.equal(err.code, 5);
      assert.match(err.details, /graph "iris" has no version "7"/);
      return true;
    });
    const meta = await client.call<{ inputs: { name: string; datatype: string; shape: string[] }[] }>('ModelMetadata', { name: 'iris', version: '1' });
    assert.deepEqual(meta.inputs, [{ name: 'features', datatype: 'FP32', shape: ['-1', '4'] }]);
  });

  for (const example of EXAMPLES) {
    it(`gives the same outputs as REST for ${example.graph}`, async () => {
      const shape = [example.rows.length, example.rows[0]?.length ?? 0];
      const rest = await request(
        gw,
        'POST',
        `/v2/models/${example.graph}/infer`,
        { inputs: [{ name: example.input, shape, datatype: 'FP32', data: example.rows }], parameters: example.parameters ?? {} },
        example.headers ?? {},
      );
      assert.equal(rest.status, 200, JSON.stringify(rest.body));
      const parameters = Object.fromEntries(Object.entries(example.parameters ?? {}).map(([k, v]) => [k, { string_param: String(v) }]));
      const grpc = await client.call<ModelInferResponseMessage>(
        'ModelInfer',
        { model_name: example.graph, inputs: [{ name: example.input, datatype: 'FP32', shape }], raw_input_contents: [rawFp32(example.rows)], parameters },
        example.headers ?? {},
      );
      assert.deepEqual(grpcOutputs(grpc), (rest.body as { outputs: RestTensor[] }).outputs);
      const restRoute = rest.headers.get('x-infergraph-route');
      assert.equal(grpc.parameters['route']?.string_param ?? null, restRoute);
    });
  }

  it('accepts typed contents as well as raw bytes', async () => {
    const grpc = await client.call<ModelInferResponseMessage>('ModelInfer', {
      model_name: 'iris',
      id: 'typed-1',
      inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 4], contents: { fp32_contents: [5.1, 3.5, 1.4, 0.2] } }],
      outputs: [{ name: 'species' }],
    });
    assert.equal(grpc.id, 'typed-1');
    assert.deepEqual(grpcOutputs(grpc), [{ name: 'species', datatype: 'BYTES', shape: [1], data: ['setosa'] }]);
  });

  const failures: { name: string; request: object; code: number; message: RegExp }[] = [
    { name: 'an unknown graph', request: { model_name: 'nope', inputs: [] }, code: 5, message: /unknown graph "nope"/ },
    {
      name: 'a wrong shape',
      request: { model_name: 'iris', inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 3], contents: { fp32_contents: [1, 2, 3] } }] },
      code: 3,
      message: /input "features": dimension 1 must be 4/,
    },
    {
      name: 'contents that do not match the shape',
      request: { model_name: 'iris', inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 4], contents: { fp32_contents: [1, 2] } }] },
      code: 3,
      message: /inputs\[0\]: shape \[1, 4\] needs 4 elements, but contents.fp32_contents holds 2/,
    },
    { name: 'a graph that failed to load', request: { model_name: 'broken', inputs: [] }, code: 14, message: /graph "broken" failed to load/ },
  ];
  for (const f of failures) {
    it(`maps ${f.name} to gRPC status ${f.code}`, async () => {
      await assert.rejects(client.call('ModelInfer', f.request), (err: ServiceError) => {
        assert.equal(err.code, f.code);
        assert.match(err.details, f.message);
        return true;
      });
    });
  }

  it('rejects an outlier with FAILED_PRECONDITION (the REST 422)', async () => {
    const rows = goldenRows('breast-cancer-gb').slice(0, 1).map((r) => r.map((v, i) => (i === 0 ? 1e4 : v)));
    await assert.rejects(
      client.call('ModelInfer', { model_name: 'slow-drift', inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 30] }], raw_input_contents: [rawFp32(rows)] }),
      (err: ServiceError) => {
        assert.equal(err.code, 9);
        assert.match(err.details, /node "guard": 1 of 1 rows are outliers/);
        return true;
      },
    );
  });
});
