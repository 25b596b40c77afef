import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { goldenRows } from '../support/examples';
import { request, startGateway, type RunningGateway } from '../support/gateway.process';
import { startController, type RunningController } from '../support/controller.process';
import { describeFailures, startLoad } from '../support/load-generator';
import { startWorker, type RunningWorker } from '../support/worker.process';

// Real OS processes on loopback: a controller, two workers, a gateway, and a separate load-generator
// process recording every response. The graph's model is batched on workers, so the gateway stacks its
// requests into one node call per batch (StackedBatchTransport); a worker killed (-9) under load takes
// whole batches down with it, and each must be answered by the other replica: zero failed requests.

interface Status {
  graphs: { name: string; nodes: { key: string; replicas: { worker: string; state: string }[] }[] }[];
}

interface GraphsView {
  graphs: { name: string; batching?: Record<string, { batches: number; requests: number }> }[];
}

const GRAPH = 'iris-batched-two';

describe('stacked batches survive a worker killed (-9) under load', () => {
  let controller: RunningController;
  const workers = new Map<string, RunningWorker>();
  let gateway: RunningGateway;
  const env = { GRAPHS_DIR: 'test/fixtures/graphs-batching-faults' };
  const rows = goldenRows('iris-logreg').slice(0, 1);
  const body = { inputs: [{ name: 'features', shape: [1, 4], datatype: 'FP32', data: rows }] };

  before(async () => {
    controller = await startController(undefined, { ...env, HEARTBEAT_TIMEOUT_MS: '2000' });
    for (const id of ['w-a', 'w-b']) {
      workers.set(id, await startWorker({ CONTROLLER: controller.control, WORKER_ID: id, WORKER_POOL: 'cpu', WORKER_CPU: '2', WORKER_MEMORY: String(2 * 1024 ** 3), HEARTBEAT_MS: '200' }));
    }
    gateway = await startGateway({ ...env, CONTROLLER: controller.control, KAFKA_BROKERS: '' });
    const deadline = performance.now() + 30_000;
    for (;;) {
      const s = (await (await fetch(`${controller.base}/v1/cluster`)).json()) as Status;
      const nodes = s.graphs.find((g) => g.name === GRAPH)?.nodes ?? [];
      const both = nodes.length === 2 && nodes.every((n) => n.replicas.filter((r) => r.state === 'READY').length === 2);
      if (both && (await request(gateway, 'POST', `/v2/models/${GRAPH}/infer`, body)).status === 200) break;
      if (performance.now() > deadline) assert.fail(`every node of ${GRAPH} READY on both workers within 30 s; last: ${JSON.stringify(s)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  });
  after(async () => {
    await Promise.all([gateway?.stop(), ...[...workers.values()].map((w) => w.kill())]);
    controller?.process.kill('SIGKILL');
  });

  async function batched(): Promise<{ batches: number; requests: number }> {
    const view = (await request(gateway, 'GET', '/v1/graphs')).body as GraphsView;
    return view.graphs.find((g) => g.name === GRAPH)?.batching?.['classifier'] ?? { batches: 0, requests: 0 };
  }

  it('loses no request at 200 requests/second when one of the two workers is killed, every request through a stacked batch', async () => {
    const before = await batched();
    const load = startLoad(`${gateway.baseUrl}/v2/models/${GRAPH}/infer`, 200, 8000, body);
    await new Promise((r) => setTimeout(r, 2000));
    await (workers.get('w-a') as RunningWorker).kill();
    const summary = await load.done;
    console.log(`[batching-faults] kill -9 w-a: ${summary.sent} sent at ${summary.rate}/s, p99 ${summary.p99Ms} ms, max ${summary.maxMs} ms; ${describeFailures(summary)}`);
    assert.ok(summary.rate >= 190, `load reached only ${summary.rate} requests/second`);
    assert.equal(summary.failures.length, 0, describeFailures(summary));
    const after = await batched();
    // Every request of the load went through the gateway's batcher (stacked), in fewer or as many calls.
    assert.ok(after.requests - before.requests >= summary.sent, `batched requests ${after.requests - before.requests} < ${summary.sent} sent`);
    assert.ok(after.batches - before.batches > 0 && after.batches - before.batches <= after.requests - before.requests);
  });
});
