import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { EXAMPLES, goldenRows } from '../support/examples';
import { assertSameOutputs } from '../support/same-outputs';
import { request, startGateway, type RunningGateway } from '../support/gateway.process';
import { startWorker, type RunningWorker } from '../support/worker.process';
import { V2GrpcClient } from '../support/grpc-client';
import { decodeBinaryElements, type ModelInferResponseMessage } from '@infergraph/protocol';

// Distributed mode with real separate processes on loopback: two worker processes serve the nodes of
// graphs/ over V2 gRPC; one gateway runs them in-process, another calls the workers. Same answers.

describe('distributed mode: gateway calling worker processes over gRPC', () => {
  let workers: RunningWorker[] = [];
  let local: RunningGateway;
  let remote: RunningGateway;

  before(async () => {
    workers = await Promise.all([startWorker({ GRAPHS_DIR: 'graphs' }), startWorker({ GRAPHS_DIR: 'graphs' })]);
    [local, remote] = await Promise.all([
      startGateway({ GRAPHS_DIR: 'graphs' }),
      startGateway({ GRAPHS_DIR: 'graphs', NODE_TRANSPORT: 'grpc', WORKERS: workers.map((w) => w.address).join(',') }),
    ]);
  });
  after(async () => {
    await Promise.all([local?.stop(), remote?.stop(), ...workers.map((w) => w.kill())]);
  });

  for (const example of EXAMPLES) {
    it(`gives the same outputs in-process and distributed for ${example.graph}`, async () => {
      const body = {
        inputs: [{ name: example.input, shape: [example.rows.length, example.rows[0]?.length ?? 0], datatype: 'FP32', data: example.rows }],
        parameters: example.parameters ?? {},
      };
      const path = `/v2/models/${example.graph}/infer`;
      const [a, b] = await Promise.all([request(local, 'POST', path, body, example.headers ?? {}), request(remote, 'POST', path, body, example.headers ?? {})]);
      assertSameOutputs(a, b, example.graph);
    });
  }

  it('lets any V2 gRPC client call a node on a worker directly, with its metadata', async () => {
    const client = new V2GrpcClient((workers[1] as RunningWorker).address);
    try {
      assert.deepEqual(await client.call('ModelReady', { name: 'iris.classifier', version: '' }), { ready: true });
      const meta = await client.call<{ inputs: { name: string; datatype: string; shape: string[] }[]; outputs: { name: string }[] }>('ModelMetadata', { name: 'iris.classifier', version: '' });
      assert.deepEqual(meta.inputs, [{ name: 'input', datatype: 'FP32', shape: ['-1', '4'] }]);
      assert.deepEqual(meta.outputs.map((o) => o.name), ['label', 'probabilities']);
      const standardized = new Float32Array([-0.90068117, 1.01900435, -1.34022653, -1.3154443]);
      const res = await client.call<ModelInferResponseMessage>('ModelInfer', {
        model_name: 'iris.classifier',
        inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 4] }],
        raw_input_contents: [Buffer.from(standardized.buffer)],
      });
      assert.deepEqual(Array.from(decodeBinaryElements(res.raw_output_contents[0] as Uint8Array, 'INT64', 1, 'label') as BigInt64Array), [0n]);
    } finally {
      client.close();
    }
  });

  it('passes request errors from a worker through with their status', async () => {
    const res = await request(remote, 'POST', '/v2/models/iris/infer', {
      inputs: [{ name: 'features', shape: [1, 4], datatype: 'FP32', data: [5.1, 'NaN', 1.4, 0.2] }],
    });
    assert.equal(res.status, 400);
    assert.match((res.body as { error: string }).error, /node "classifier": input "input" element 1 is NaN/);
  });

  it('keeps answering when a worker is killed, retrying on the other replica', async () => {
    const rows = goldenRows('iris-logreg').slice(0, 3);
    const body = { inputs: [{ name: 'features', shape: [3, 4], datatype: 'FP32', data: rows }] };
    await (workers[0] as RunningWorker).kill();
    const statuses: number[] = [];
    for (let i = 0; i < 30; i++) statuses.push((await request(remote, 'POST', '/v2/models/iris-ensemble/infer', body)).status);
    assert.deepEqual([...new Set(statuses)], [200], `statuses after kill -9: ${statuses.join(',')}`);
  });
});
