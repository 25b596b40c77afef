import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { request, startGateway, type RunningGateway } from '../support/gateway.process';
import { startController, type RunningController } from '../support/controller.process';
import { startWorker, type RunningWorker } from '../support/worker.process';
import { metricSample, scrapeMetrics } from '../support/metrics';

// Real parts: a worker process serving the example graphs, a gateway sending their nodes to it over gRPC
// (WORKERS), and an in-process gateway as the reference, all over loopback. A chain graph whose nodes the
// worker holds crosses to it once per request (one whole-graph call), answers what the in-process graph
// answers, and still reports every node at the gateway; a graph whose router reads the request crosses
// node by node. With a controller (real controller process, two workers in two pools), the gateway makes
// the whole-graph call only to a worker its routing table says holds every node.

const ROWS = [
  [5.1, 3.5, 1.4, 0.2],
  [6.7, 3.1, 4.7, 1.5],
  [6.3, 3.3, 6.0, 2.5],
];

function body(row: number[], parameters?: Record<string, unknown>): object {
  return { inputs: [{ name: 'features', shape: [1, 4], datatype: 'FP32', data: row }], ...(parameters === undefined ? {} : { parameters }) };
}

describe('chain graphs run whole on a worker over gRPC', () => {
  let worker: RunningWorker;
  let remote: RunningGateway;
  let local: RunningGateway;

  before(async () => {
    worker = await startWorker({ GRAPHS_DIR: 'graphs' });
    [remote, local] = await Promise.all([
      startGateway({ GRAPHS_DIR: 'graphs', NODE_TRANSPORT: 'grpc', WORKERS: worker.address, KAFKA_BROKERS: '' }),
      startGateway({ GRAPHS_DIR: 'graphs', KAFKA_BROKERS: '' }),
    ]);
  });
  after(async () => {
    await Promise.all([remote?.stop(), local?.stop()]);
    await worker?.kill();
  });

  it('crosses to the worker once per request for a three-node chain and answers what the in-process graph answers', async () => {
    const before = metricSample(await scrapeMetrics(remote.baseUrl), 'infergraph_node_bus_calls_total');
    for (const row of ROWS) {
      const [viaWorker, inProcess] = await Promise.all([request(remote, 'POST', '/v2/models/iris/infer', body(row)), request(local, 'POST', '/v2/models/iris/infer', body(row))]);
      assert.equal(viaWorker.status, 200, JSON.stringify(viaWorker.body));
      assert.equal(inProcess.status, 200, JSON.stringify(inProcess.body));
      assert.deepEqual((viaWorker.body as { outputs: unknown }).outputs, (inProcess.body as { outputs: unknown }).outputs);
    }
    // Node by node, iris (standardize -> classifier -> species) would be three calls per request.
    assert.equal(metricSample(await scrapeMetrics(remote.baseUrl), 'infergraph_node_bus_calls_total') - before, ROWS.length);
  });

  it("reports every node of the graph at the gateway, from the worker's report", async () => {
    const count = async (node: string): Promise<number> => metricSample(await scrapeMetrics(remote.baseUrl), 'infergraph_node_calls_total', { graph: 'iris', node, status: 'ok' });
    const nodes = ['standardize', 'classifier', 'species'];
    const before = await Promise.all(nodes.map(count));
    const res = await request(remote, 'POST', '/v2/models/iris/infer', body(ROWS[0] as number[], { trace: true }));
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const after = await Promise.all(nodes.map(count));
    nodes.forEach((node, i) => assert.equal((after[i] as number) - (before[i] as number), 1, `node "${node}" reported once`));
    // A traced request gets each node's timing, in the order the nodes ran on the worker.
    const timings = (res.body as { parameters?: { trace?: { nodes: { node: string; status: string }[] } } }).parameters?.trace?.nodes;
    assert.deepEqual(
      timings?.map((t) => [t.node, t.status]),
      nodes.map((n) => [n, 'ok']),
    );
  });

  it('calls node by node when a router reads the request, and routes as the request asks', async () => {
    const before = metricSample(await scrapeMetrics(remote.baseUrl), 'infergraph_node_bus_calls_total');
    const res = await request(remote, 'POST', '/v2/models/iris-conditional/infer', body(ROWS[1] as number[], { model: 'forest' }));
    const ref = await request(local, 'POST', '/v2/models/iris-conditional/infer', body(ROWS[1] as number[], { model: 'forest' }));
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual((res.body as { outputs: unknown }).outputs, (ref.body as { outputs: unknown }).outputs);
    // The router runs in the gateway; only the forest model crosses.
    assert.equal(metricSample(await scrapeMetrics(remote.baseUrl), 'infergraph_node_bus_calls_total') - before, 1);
  });

  it("keeps a node's refusal a 400 naming the field when the graph ran whole", async () => {
    const res = await request(remote, 'POST', '/v2/models/iris/infer', { inputs: [{ name: 'features', shape: [1, 4], datatype: 'FP32', data: [5.1, 3.5, 'NaN', 0.2] }] });
    const ref = await request(local, 'POST', '/v2/models/iris/infer', { inputs: [{ name: 'features', shape: [1, 4], datatype: 'FP32', data: [5.1, 3.5, 'NaN', 0.2] }] });
    assert.equal(res.status, ref.status, JSON.stringify(res.body));
    assert.equal((res.body as { error: string }).error, (ref.body as { error: string }).error);
  });
});

describe('whole-graph calls with a controller: only to a worker that holds every node', () => {
  let controller: RunningController;
  let workers: RunningWorker[] = [];
  let gateway: RunningGateway;
  let local: RunningGateway;
  const env = { GRAPHS_DIR: 'test/fixtures/graphs-whole' };

  before(async () => {
    controller = await startController(undefined, env);
    const worker = (id: string, pool: string) => startWorker({ CONTROLLER: controller.control, WORKER_ID: id, WORKER_POOL: pool, WORKER_CPU: '2', WORKER_MEMORY: String(2 * 1024 ** 3), HEARTBEAT_MS: '200' });
    workers = await Promise.all([worker('cpu-a', 'cpu'), worker('edge-a', 'edge')]);
    [gateway, local] = await Promise.all([startGateway({ ...env, CONTROLLER: controller.control, KAFKA_BROKERS: '' }), startGateway({ ...env, KAFKA_BROKERS: '' })]);
  });
  after(async () => {
    await Promise.all([gateway?.stop(), local?.stop(), ...workers.map((w) => w.kill())]);
    controller?.process.kill('SIGKILL');
  });

  async function untilServing(graph: string): Promise<void> {
    const deadline = performance.now() + 30_000;
    for (;;) {
      const res = await request(gateway, 'POST', `/v2/models/${graph}/infer`, body(ROWS[0] as number[]));
      if (res.status === 200) return;
      if (performance.now() > deadline) assert.fail(`graph "${graph}" did not serve within 30 s: ${res.status} ${JSON.stringify(res.body)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  for (const [graph, callsPerRequest, why] of [
    ['iris-together', 1, 'both nodes on worker cpu-a: one whole-graph call'],
    ['iris-apart', 2, 'the model on worker edge-a: node by node'],
  ] as const) {
    it(`calls ${graph} ${callsPerRequest === 1 ? 'whole' : 'node by node'} (${why}) with the in-process outputs`, async () => {
      await untilServing(graph);
      const before = metricSample(await scrapeMetrics(gateway.baseUrl), 'infergraph_node_bus_calls_total');
      for (const row of ROWS) {
        const [res, ref] = await Promise.all([request(gateway, 'POST', `/v2/models/${graph}/infer`, body(row)), request(local, 'POST', `/v2/models/${graph}/infer`, body(row))]);
        assert.equal(res.status, 200, JSON.stringify(res.body));
        assert.deepEqual((res.body as { outputs: unknown }).outputs, (ref.body as { outputs: unknown }).outputs);
      }
      assert.equal(metricSample(await scrapeMetrics(gateway.baseUrl), 'infergraph_node_bus_calls_total') - before, callsPerRequest * ROWS.length);
    });
  }
});
