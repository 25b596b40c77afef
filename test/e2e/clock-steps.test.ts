import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { goldenRows } from '../support/examples';
import { request, startGateway, type RunningGateway } from '../support/gateway.process';
import { startController, type RunningController } from '../support/controller.process';
import { clusterStatus, readyWorkers, type ClusterStatusBody } from '../support/cluster-status';
import { describeFailures, startLoad } from '../support/load-generator';
import { repoPath } from '../support/repo';
import { startWorker, type RunningWorker } from '../support/worker.process';
import { waitFor } from '../support/wait';

// A wall clock that steps (an NTP step, a VM resumed or live-migrated, someone running `date -s`) under load:
// real processes on loopback (a controller, two workers, a gateway), one process's wall clock stepped by
// test/support/clock-step.preload.ts while its monotonic clock runs on. Liveness and deadlines must not read
// the wall clock: a forward step must not expire live workers or requests in flight, a backward one must not
// keep a dead worker, and a worker whose clock is off must not refuse the gateway's node calls.

type Status = ClusterStatusBody;

const HEARTBEAT_TIMEOUT_MS = 2000;

describe('wall clock steps under constant load', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'infergraph-clock-'));
  /** A clock file per process that can be stepped. */
  const clockFile = (who: string): string => path.join(dir, `${who}.offset-ms`);
  const preload = (who: string): Record<string, string> => {
    writeFileSync(clockFile(who), '0');
    return { NODE_OPTIONS: `--require=${repoPath('dist', 'test', 'support', 'clock-step.preload.js')}`, INFERGRAPH_TEST_CLOCK_FILE: clockFile(who) };
  };
  let controller: RunningController;
  const workers = new Map<string, RunningWorker>();
  let gateway: RunningGateway;
  const rows = goldenRows('iris-logreg').slice(0, 4);
  const body = { inputs: [{ name: 'features', shape: [rows.length, 4], datatype: 'FP32', data: rows }] };
  const status = (): Promise<Status> => clusterStatus(controller);
  const bothReady = (s: Status): boolean => ['iris-two.standardize', 'iris-two.classifier'].every((k) => new Set(readyWorkers(s, k)).size === 2);

  /** Steps a process's wall clock to `offsetMs` from the real time and waits until it says so. */
  async function stepClock(who: string, offsetMs: number): Promise<void> {
    const target = who === 'controller' ? controller : who === 'gateway' ? gateway : (workers.get(who) as RunningWorker);
    writeFileSync(clockFile(who), String(offsetMs));
    const said = `(offset ${offsetMs} ms)`;
    target.process.kill('SIGWINCH');
    await waitFor(`${who} stepped its clock`, () => Promise.resolve(target.output()), (out) => out.includes(said));
  }

  before(async () => {
    controller = await startController(undefined, { GRAPHS_DIR: 'test/fixtures/graphs-faults', SYNC_WINDOW_MS: '1500', HEARTBEAT_TIMEOUT_MS: String(HEARTBEAT_TIMEOUT_MS), ...preload('controller') });
    for (const id of ['w-a', 'w-b']) {
      workers.set(id, await startWorker({ CONTROLLER: controller.control, WORKER_ID: id, WORKER_POOL: 'cpu', WORKER_CPU: '2', WORKER_MEMORY: String(2 * 1024 ** 3), HEARTBEAT_MS: '200', ...preload(id) }));
    }
    gateway = await startGateway({ GRAPHS_DIR: 'test/fixtures/graphs-faults', CONTROLLER: controller.control, NODE_PING_INTERVAL_MS: '500', NODE_PING_TIMEOUT_MS: '2500', ...preload('gateway') });
    await waitFor('both replicas of each iris-two node READY', status, bothReady);
    await waitFor('the gateway ready', () => request(gateway, 'GET', '/v2/health/ready'), (r) => r.status === 200);
  });
  after(async () => {
    await Promise.all([gateway?.stop(), ...[...workers.values()].map((w) => w.kill())]);
    controller?.process.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('removes no worker and fails no request when the wall clock steps forward by a minute', async () => {
    const before = await status();
    const load = startLoad(`${gateway.baseUrl}/v2/models/iris-two/infer`, 150, 7000, body);
    await new Promise((r) => setTimeout(r, 2000));
    await stepClock('controller', 60_000);
    const summary = await load.done;
    const afterStep = await status();
    const removed = controller.output().split('\n').filter((l) => l.includes('missed its heartbeats'));
    console.log(`[clock] +60 s on the controller: ${summary.sent} sent, ${describeFailures(summary)}; workers ${afterStep.workers.map((w) => `${w.id}=${w.replicas} (${w.lastHeartbeatAgeMs} ms)`).join(' ')}; ${removed.length} removal(s)`);
    assert.deepEqual(removed, [], 'the step expired live workers');
    assert.deepEqual(afterStep.workers.map((w) => `${w.id}=${w.replicas}`).sort(), before.workers.map((w) => `${w.id}=${w.replicas}`).sort());
    for (const w of afterStep.workers) assert.ok((w.lastHeartbeatAgeMs ?? Infinity) < HEARTBEAT_TIMEOUT_MS, `${w.id}: last heartbeat ${w.lastHeartbeatAgeMs} ms ago`);
    assert.equal(summary.failures.length, 0, describeFailures(summary));
  });

  it('still removes a frozen worker within the heartbeat timeout after the wall clock stepped back by two minutes, failing no request', async () => {
    await stepClock('controller', -60_000);
    const load = startLoad(`${gateway.baseUrl}/v2/models/iris-two/infer`, 150, 9000, body);
    await new Promise((r) => setTimeout(r, 1500));
    const victim = workers.get('w-a') as RunningWorker;
    victim.process.kill('SIGSTOP');
    const frozenAt = performance.now();
    let removedAfter: number;
    try {
      await waitFor('w-a removed', status, (s) => !s.workers.some((w) => w.id === 'w-a'), 20_000);
      removedAfter = performance.now() - frozenAt;
    } finally {
      victim.process.kill('SIGCONT');
    }
    const summary = await load.done;
    await waitFor('w-a back with its share', status, (s) => bothReady(s) && s.workers.some((w) => w.id === 'w-a' && w.replicas >= 2));
    console.log(`[clock] -120 s on the controller, then w-a frozen: removed ${Math.round(removedAfter)} ms after the freeze (timeout ${HEARTBEAT_TIMEOUT_MS} ms); ${summary.sent} sent, ${describeFailures(summary)}`);
    assert.ok(removedAfter < HEARTBEAT_TIMEOUT_MS + 2000, `the frozen worker was removed ${Math.round(removedAfter)} ms after the freeze`);
    assert.equal(summary.failures.length, 0, describeFailures(summary));
  });

  it('fails no request when a worker\'s and then the gateway\'s wall clock step forward by a minute: node calls carry the time left, not a wall-clock deadline', async () => {
    // A worker a minute ahead of the gateway compared the gateway's epoch deadline with its own clock and
    // refused every call as arrived too late; a gateway stepped mid-request counted the step against the
    // requests in flight.
    const load = startLoad(`${gateway.baseUrl}/v2/models/iris-two/infer`, 150, 8000, body);
    await new Promise((r) => setTimeout(r, 2000));
    await stepClock('w-b', 60_000);
    await new Promise((r) => setTimeout(r, 2000));
    await stepClock('gateway', 60_000);
    const summary = await load.done;
    const served = await status();
    console.log(`[clock] +60 s on w-b, then on the gateway: ${summary.sent} sent, ${describeFailures(summary)}; workers ${served.workers.map((w) => `${w.id}=${w.replicas}`).join(' ')}`);
    assert.ok(bothReady(served), 'both workers still serve both iris-two nodes');
    assert.equal(summary.failures.length, 0, describeFailures(summary));
  });
});
