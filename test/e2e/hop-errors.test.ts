import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { goldenRows } from '../support/examples';
import { request, startGateway, type HttpResult, type RunningGateway } from '../support/gateway.process';
import { startWorker, type RunningWorker } from '../support/worker.process';

// End to end: a real gateway calling two real worker processes over V2 gRPC streams on loopback, real
// onnxruntime sessions on the iris MLP; graphs in test/fixtures/graphs-hop-errors. An error a worker's
// node raises reaches the client with the status it has in-process, carried as an explicit code per call.

const GRAPHS_DIR = 'test/fixtures/graphs-hop-errors';
const ROWS = goldenRows('iris-mlp');

// Requests carry a parameter: the gateway stacks a batched remote node's requests before the hop (its own
// queue and input checks come first), except requests with parameters, which go to the worker as they are —
// so these reach the worker's batch queue and checks, and the errors tested are the worker's.
const PARAMETERS = { probe: 'hop-errors' };
const body = (k: number): object => ({ parameters: PARAMETERS, inputs: [{ name: 'features', shape: [1, 4], datatype: 'FP32', data: [ROWS[k % ROWS.length]] }] });

describe('errors across the gateway → worker hop keep their status', () => {
  let workers: RunningWorker[] = [];
  let gateway: RunningGateway;

  before(async () => {
    workers = await Promise.all([startWorker({ GRAPHS_DIR }), startWorker({ GRAPHS_DIR })]);
    gateway = await startGateway({ GRAPHS_DIR, NODE_TRANSPORT: 'grpc', WORKERS: workers.map((w) => w.address).join(',') });
  });
  after(async () => {
    await Promise.all([gateway?.stop(), ...workers.map((w) => w.kill())]);
  });

  it("answers a worker's full batch queue with 503 and the queue's own message, not a failed retry", async () => {
    const results: HttpResult[] = await Promise.all(Array.from({ length: 24 }, (_, k) => request(gateway, 'POST', '/v2/models/iris-tiny-queue/infer', body(k))));
    const statuses = results.map((r) => r.status);
    assert.deepEqual([...new Set(statuses)].sort(), [200, 503], `statuses: ${statuses.join(',')}`);
    for (const r of results.filter((x) => x.status === 503)) {
      assert.deepEqual(r.body, {
        error: 'graph "iris-tiny-queue" node "classifier": batch queue is full (maxQueueSize 2 requests); retry later',
        reason: 'batch_queue_full',
      });
    }
  });

  it('answers an invalid input found on the worker with 400', async () => {
    const res = await request(gateway, 'POST', '/v2/models/iris-tiny-queue/infer', { parameters: PARAMETERS, inputs: [{ name: 'features', shape: [1, 4], datatype: 'FP32', data: [5.1, 'NaN', 1.4, 0.2] }] });
    assert.equal(res.status, 400);
    assert.match((res.body as { error: string }).error, /node "classifier": input "input" element 1 is NaN/);
  });

  it('answers a node call that outlives the request deadline on the worker with 504', async () => {
    const started = performance.now();
    const res = await request(gateway, 'POST', '/v2/models/iris-slow-deadline/infer', body(0));
    assert.equal(res.status, 504, JSON.stringify(res.body));
    assert.ok(performance.now() - started < 1500, `answered after ${performance.now() - started} ms, not at the 300 ms deadline`);
  });
});
