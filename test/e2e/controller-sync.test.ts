import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startController, type RunningController } from '../support/controller.process';
import { goldenRows } from '../support/examples';
import { request, startGateway, type RunningGateway } from '../support/gateway.process';
import { describeFailures, startLoad } from '../support/load-generator';
import { startWorker, type RunningWorker } from '../support/worker.process';
import { until } from '../support/wait';

// End to end: how a restarted controller and the gateways that watch it take over from the previous one
// without a failed request. Real controller, worker and gateway processes over real gRPC on loopback, join
// tokens on; a separate load-generator process records every response while the controller is killed (-9)
// and restarted on the same ports and STATE_DIR.

const GRAPHS_DIR = 'test/fixtures/graphs-faults';
const rows = goldenRows('iris-logreg').slice(0, 2);
const body = { inputs: [{ name: 'features', shape: [rows.length, 4], datatype: 'FP32', data: rows }] };

interface Status {
  epoch: string;
  synced: boolean;
  workers: { id: string }[];
}

async function cluster(controller: RunningController): Promise<Status> {
  return (await (await fetch(`${controller.base}/v1/cluster`)).json()) as Status;
}

/** The time (epoch ms) of the last JSON log line whose message passes `test`. */
function loggedAt(output: string, test: (msg: string) => boolean): number {
  const lines = output.split('\n').flatMap((l) => {
    try {
      return [JSON.parse(l) as { time: string; msg: string }];
    } catch {
      return [];
    }
  });
  const line = lines.filter((l) => typeof l.msg === 'string' && test(l.msg)).pop();
  if (line === undefined) return assert.fail(`no such log line in:\n${output.slice(-3000)}`);
  return Date.parse(line.time);
}

describe('controller restart: the sync ends when the known workers are back, gateways carry routes over', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'infergraph-sync-'));
  const tokens = { workers: 'workers-secret-sync-1', gateways: 'gateways-secret-sync-2' };
  const allTokens = path.join(dir, 'cluster-tokens');
  const gatewayOnly = path.join(dir, 'gateway-token-only');
  let controller: RunningController;
  let worker: RunningWorker;
  let gateway: RunningGateway;
  const restart = async (env: Record<string, string>): Promise<void> => {
    controller.process.kill('SIGKILL');
    controller = await startController(controller.ports, { GRAPHS_DIR, ...env });
  };

  before(async () => {
    writeFileSync(allTokens, `workers:${tokens.workers}\ngateways:${tokens.gateways}\n`, { mode: 0o600 });
    writeFileSync(gatewayOnly, `gateways:${tokens.gateways}\n`, { mode: 0o600 });
    controller = await startController(undefined, { GRAPHS_DIR, SYNC_WINDOW_MS: '0', CLUSTER_TOKENS_FILE: allTokens });
    worker = await startWorker({ CONTROLLER: controller.control, CLUSTER_TOKEN: tokens.workers, WORKER_ID: 'w-a', WORKER_POOL: 'cpu', WORKER_CPU: '4', HEARTBEAT_MS: '200' });
    gateway = await startGateway({ GRAPHS_DIR, CONTROLLER: controller.control, CLUSTER_TOKEN: tokens.gateways, ROUTE_CARRY_OVER_MS: '8000' });
    await until('the gateway ready', async () => (await request(gateway, 'GET', '/v2/health/ready')).status === 200);
  });
  after(async () => {
    await Promise.all([gateway?.stop(), worker?.kill()]);
    controller?.process.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps the live workers in STATE_DIR', () => {
    const known = JSON.parse(readFileSync(path.join(tmpdir(), `infergraph-test-state-${controller.ports.controlPort}`, 'workers.json'), 'utf8')) as { workers: string[] };
    assert.deepEqual(known.workers, ['w-a']);
  });

  it('ends the start-up sync as soon as every worker of the previous run re-joined, long before the sync window, with no failed request', async () => {
    const load = startLoad(`${gateway.baseUrl}/v2/models/iris-one/infer`, 100, 5000, body);
    await new Promise((r) => setTimeout(r, 1000));
    await restart({ SYNC_WINDOW_MS: '600000', CLUSTER_TOKENS_FILE: allTokens });
    assert.match(controller.output(), /syncing for 600000 ms, or until 1 worker\(s\) of the previous run re-join: w-a/);
    await until('the restarted controller synced', async () => (await cluster(controller)).synced, 20_000);
    assert.match(controller.output(), /every worker of the previous run re-joined/);
    assert.doesNotMatch(controller.output(), /sync window over/);
    assert.deepEqual((await cluster(controller)).workers.map((w) => w.id), ['w-a']);
    const summary = await load.done;
    assert.equal(summary.failures.length, 0, describeFailures(summary));
  });

  it('re-joins the worker and re-subscribes the gateway within 1 s of the controller listening again after 5 s down', async () => {
    // 5 s down: grpc-js's default back-off (1 s, x1.6, up to 120 s) would retry only after the controller is back.
    controller.process.kill('SIGKILL');
    await new Promise((r) => setTimeout(r, 5000));
    controller = await startController(controller.ports, { GRAPHS_DIR, SYNC_WINDOW_MS: '600000', CLUSTER_TOKENS_FILE: allTokens });
    await until('the restarted controller synced', async () => (await cluster(controller)).synced, 20_000);
    const { epoch } = await cluster(controller);
    await until('the gateway took the new controller\'s table', () => Promise.resolve(gateway.output().includes(`controller epoch ${epoch.slice(0, 8)}`)), 10_000);
    // Times from each process's own log lines, so how often this test polls does not count.
    const listening = loggedAt(controller.output(), (msg) => msg.startsWith('control plane listening') && msg.includes(epoch));
    const joined = loggedAt(controller.output(), (msg) => msg.startsWith('worker w-a joined'));
    const routed = loggedAt(gateway.output(), (msg) => msg.includes(`controller epoch ${epoch.slice(0, 8)}`));
    console.log(`[sync] after 5 s down: worker re-joined ${joined - listening} ms, gateway routed ${routed - listening} ms after the controller listened`);
    assert.ok(joined - listening <= 1000, `the worker re-joined ${joined - listening} ms after the controller listened`);
    assert.ok(routed - listening <= 1000, `the gateway took the new table ${routed - listening} ms after the controller listened`);
  });

  it('serves through a worker that has not re-joined a restarted, synced controller yet, for ROUTE_CARRY_OVER_MS and no longer', async () => {
    // The new controller syncs at once (window 0) and refuses the worker's token, so its tables name no
    // worker: only the routes the gateway carried over from the previous controller reach w-a.
    await restart({ SYNC_WINDOW_MS: '0', CLUSTER_TOKENS_FILE: gatewayOnly });
    const { epoch } = await cluster(controller);
    await until('the gateway took the new controller\'s table', () => Promise.resolve(gateway.output().includes(`controller epoch ${epoch.slice(0, 8)}`)), 10_000);
    const load = startLoad(`${gateway.baseUrl}/v2/models/iris-one/infer`, 100, 2000, body);
    const summary = await load.done;
    assert.equal(summary.failures.length, 0, describeFailures(summary));
    assert.match(controller.output(), /refused a control-plane Join call/, 'the worker was refused');
    assert.deepEqual((await cluster(controller)).workers, [], 'w-a never re-joined');
    // Bounded: once the carry-over ends, a node no table routes answers 503.
    await until('the carried routes expired', async () => (await request(gateway, 'POST', '/v2/models/iris-one/infer', body)).status === 503, 20_000);
  });

  it('serves again once the worker may re-join', async () => {
    await restart({ SYNC_WINDOW_MS: '0', CLUSTER_TOKENS_FILE: allTokens });
    await until('iris-one served again', async () => (await request(gateway, 'POST', '/v2/models/iris-one/infer', body)).status === 200);
  });
});
