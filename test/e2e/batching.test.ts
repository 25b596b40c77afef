import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { goldenRows } from '../support/examples';
import { request, startGateway, type HttpResult, type RunningGateway } from '../support/gateway.process';
import { startWorker, type RunningWorker } from '../support/worker.process';

// End to end: real gateway and worker processes, real HTTP and V2 gRPC over loopback, real onnxruntime
// sessions on the committed iris MLP; the graphs are test/fixtures/graphs-batching/*.yaml.

const GRAPHS_DIR = 'test/fixtures/graphs-batching';
const ROWS = goldenRows('iris-mlp');
const CONCURRENCY = 64;

interface BatchingStats {
  batches: number;
  requests: number;
  rows: number;
  largestBatchRequests: number;
  largestBatchRows: number;
  rejected: number;
  queued: number;
}
interface GraphListing {
  name: string;
  state: string;
  error?: string;
  batching?: Record<string, BatchingStats>;
}

/** Request k of a burst: 1 to 3 rows taken from the held-out rows, so the batches split unevenly. */
function body(k: number): object {
  const rows = Array.from({ length: (k % 3) + 1 }, (_, r) => ROWS[(k * 3 + r) % ROWS.length] as number[]);
  return { id: `req-${k}`, inputs: [{ name: 'features', shape: [rows.length, 4], datatype: 'FP32', data: rows }] };
}

const infer = (gw: RunningGateway, graph: string, k: number): Promise<HttpResult> => request(gw, 'POST', `/v2/models/${graph}/infer`, body(k));

/** Fires `count` requests at once (each its own HTTP request on loopback). */
const burst = (gw: RunningGateway, graph: string, count = CONCURRENCY): Promise<HttpResult[]> => Promise.all(Array.from({ length: count }, (_, k) => infer(gw, graph, k)));

async function listing(gw: RunningGateway, graph: string): Promise<GraphListing> {
  const { graphs } = (await request(gw, 'GET', '/v1/graphs')).body as { graphs: GraphListing[] };
  const entry = graphs.find((g) => g.name === graph);
  assert.ok(entry, `GET /v1/graphs lists no graph "${graph}"`);
  return entry;
}

/** The response minus its id: output names, datatypes, shapes and values exactly as the gateway wrote them. */
const outputsOf = (res: HttpResult): string => {
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return JSON.stringify((res.body as { outputs: unknown }).outputs);
};

/** Node calls the worker answered for one node (its `infergraph_node_calls_total`, status ok). */
async function workerNodeCalls(worker: RunningWorker, graph: string, node: string): Promise<number> {
  assert.ok(worker.metricsUrl, 'the worker printed no metrics address');
  const text = await (await fetch(`${worker.metricsUrl}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith('infergraph_node_calls_total{') && l.includes(`graph="${graph}"`) && l.includes(`node="${node}"`) && l.includes('status="ok"'));
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
}

function assertQueueFull(responses: readonly HttpResult[], node: string, limit: number): void {
  const statuses = responses.map((r) => r.status);
  assert.ok(statuses.includes(503), `expected some 503s, got ${statuses.join(',')}`);
  assert.ok(statuses.includes(200), `expected some requests to succeed, got ${statuses.join(',')}`);
  assert.deepEqual([...new Set(statuses)].sort(), [200, 503]);
  for (const r of responses.filter((x) => x.status === 503)) {
    assert.match((r.body as { error: string }).error, new RegExp(`node "${node}": batch queue is full \\(maxQueueSize ${limit} requests\\); retry later`));
  }
}

describe('dynamic batching in the gateway process (REST)', () => {
  let gw: RunningGateway;

  before(async () => {
    gw = await startGateway({ GRAPHS_DIR });
  });
  after(async () => {
    await gw?.stop();
  });

  it('answers 64 concurrent requests exactly as the unbatched graph does, running them in shared batches', async () => {
    const batched = await burst(gw, 'iris-batched');
    const unbatched = await burst(gw, 'iris-unbatched');
    batched.forEach((res, k) => {
      assert.equal(outputsOf(res), outputsOf(unbatched[k] as HttpResult), `request ${k}`);
      assert.equal((res.body as { id: string }).id, `req-${k}`);
    });
    const stats = (await listing(gw, 'iris-batched')).batching?.['classifier'];
    assert.ok(stats, 'GET /v1/graphs shows the batching counters of node "classifier"');
    assert.equal(stats.requests, CONCURRENCY);
    assert.equal(stats.rows, Array.from({ length: CONCURRENCY }, (_, k) => (k % 3) + 1).reduce((a, b) => a + b, 0));
    assert.ok(stats.batches < CONCURRENCY, `${stats.batches} model runs for ${CONCURRENCY} requests: nothing was batched`);
    assert.ok(stats.largestBatchRequests > 1, `largest batch carried ${stats.largestBatchRequests} request(s)`);
    assert.ok(stats.largestBatchRows <= 32, `a batch of ${stats.largestBatchRows} rows exceeds maxBatchSize 32`);
    assert.equal((await listing(gw, 'iris-unbatched')).batching, undefined, 'a graph without batching shows no counters');
  });

  it('refuses a burst beyond maxQueueSize with 503s that name the node and the limit, and keeps serving', async () => {
    const responses = await burst(gw, 'iris-tiny-queue');
    assertQueueFull(responses, 'classifier', 2);
    const rejected = responses.filter((r) => r.status === 503).length;
    const stats = (await listing(gw, 'iris-tiny-queue')).batching?.['classifier'];
    assert.equal(stats?.rejected, rejected);
    assert.equal(outputsOf(await infer(gw, 'iris-tiny-queue', 5)), outputsOf(await infer(gw, 'iris-unbatched', 5)));
    assert.equal((await request(gw, 'GET', '/v2/health/ready')).status, 200);
  });

  it('refuses to load a graph that batches a model with a fixed first dimension, saying why', async () => {
    const entry = await listing(gw, 'fixed-batch-batched');
    assert.equal(entry.state, 'failed');
    assert.match(
      entry.error ?? '',
      /fixed-batch-batched\.yaml:15:19 spec\.nodes\[0\]\.model\.batching: model \.\.\/models\/fixed-batch\.onnx cannot be batched: its input "x" \[2, 3\], output "y" \[2, 3\] have a fixed first dimension/,
    );
    const res = await request(gw, 'POST', '/v2/models/fixed-batch-batched/infer', { inputs: [{ name: 'x', shape: [2, 3], datatype: 'FP32', data: [1, 2, 3, 4, 5, 6] }] });
    assert.equal(res.status, 503);
  });
});

describe('dynamic batching on a worker process (gateway calling it over V2 gRPC)', () => {
  let worker: RunningWorker;
  let remote: RunningGateway;
  let local: RunningGateway;

  before(async () => {
    worker = await startWorker({ GRAPHS_DIR });
    [remote, local] = await Promise.all([startGateway({ GRAPHS_DIR, NODE_TRANSPORT: 'grpc', WORKERS: worker.address }), startGateway({ GRAPHS_DIR })]);
  });
  after(async () => {
    await Promise.all([remote?.stop(), local?.stop(), worker?.kill()]);
  });

  it('answers concurrent requests through the batched node on the worker exactly as in-process', async () => {
    const [viaWorker, inProcess] = await Promise.all([burst(remote, 'iris-batched'), burst(local, 'iris-unbatched')]);
    viaWorker.forEach((res, k) => assert.equal(outputsOf(res), outputsOf(inProcess[k] as HttpResult), `request ${k}`));
    // The gateway stacked the requests' rows before the hop: each of its batches is one node call, so the
    // worker served fewer calls than there were requests, as many as the gateway ran batches.
    const stats = (await listing(remote, 'iris-batched')).batching?.['classifier'];
    assert.ok(stats, "GET /v1/graphs shows no batching stats for classifier");
    assert.equal(stats.requests, CONCURRENCY);
    assert.ok(stats.batches < CONCURRENCY, `the gateway sent ${stats.batches} batches for ${CONCURRENCY} requests`);
    assert.equal(await workerNodeCalls(worker, 'iris-batched', 'classifier'), stats.batches);
  });

  it('sends a request with parameters on its own, unstacked (parameters are per request)', async () => {
    const before = await workerNodeCalls(worker, 'iris-batched', 'classifier');
    const stacked = (await listing(remote, 'iris-batched')).batching?.['classifier']?.requests ?? 0;
    const withParameters = { ...body(5), parameters: { tenant: 'a' } };
    const res = await request(remote, 'POST', '/v2/models/iris-batched/infer', withParameters);
    assert.equal(outputsOf(res), outputsOf(await infer(local, 'iris-unbatched', 5)));
    assert.equal(await workerNodeCalls(worker, 'iris-batched', 'classifier'), before + 1);
    assert.equal((await listing(remote, 'iris-batched')).batching?.['classifier']?.requests, stacked, 'the gateway batcher did not see it');
  });

  it('refuses a burst beyond the batch queue with 503s that name the node and the limit (the gateway queues before the hop)', async () => {
    assertQueueFull(await burst(remote, 'iris-tiny-queue'), 'classifier', 2);
    assert.equal(outputsOf(await infer(remote, 'iris-tiny-queue', 7)), outputsOf(await infer(local, 'iris-unbatched', 7)));
  });
});
