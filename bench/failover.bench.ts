import { startController, type RunningController } from '../test/support/controller.process';
import { goldenRows } from '../test/support/examples';
import { startGateway } from '../test/support/gateway.process';
import { failuresBetween, startLoad, type LoadSummary } from '../test/support/load-generator';
import { startWorker, type RunningWorker } from '../test/support/worker.process';

// `npm run bench -- failover`: a controller, two workers and a gateway (separate processes on loopback)
// under 200 requests/second from a separate load process; one worker is killed (-9) mid-run. Reports how
// long re-placement took (kill → every wanted replica READY again), the worst request latency across the
// kill and the failed requests, for a graph with 2 replicas per node and one with 1, against issue 14's
// targets: 0 failed with 2 replicas; failures only inside 2 s after the kill with 1.

interface Status {
  graphs: { nodes: { key: string; wanted: number; replicas: { state: string; worker: string; leaving?: boolean }[] }[] }[];
}

/** Every node has its wanted replicas READY (not leaving), none on `lost`. */
async function allReady(controller: RunningController, lost?: string): Promise<boolean> {
  const s = (await (await fetch(`${controller.base}/v1/cluster`)).json()) as Status;
  return s.graphs.every((g) => g.nodes.every((n) => n.replicas.filter((r) => r.state === 'READY' && r.leaving !== true && r.worker !== lost).length >= n.wanted));
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function row(name: string, summary: LoadSummary, replacedMs: number, killedAt: number, target: (s: LoadSummary) => boolean): string {
  const outside = summary.failures.length - failuresBetween(summary, killedAt - 50, killedAt + 2000).length;
  const verdict = target(summary) ? 'PASS' : 'MISS';
  return `${name.padEnd(34)} ${String(summary.rate).padStart(5)}/s  re-placed ${String(replacedMs).padStart(5)} ms  worst ${String(summary.maxMs).padStart(7)} ms  p99 ${String(summary.p99Ms).padStart(6)} ms  failed ${summary.failures.length}/${summary.sent} (${outside} after 2 s)  ${verdict}`;
}

async function scenario(graph: string, target: (s: LoadSummary, killedAt: number) => boolean): Promise<string> {
  const controller = await startController(undefined, { GRAPHS_DIR: 'test/fixtures/graphs-faults', SYNC_WINDOW_MS: '500', HEARTBEAT_TIMEOUT_MS: '2000' });
  const env = (id: string): Record<string, string> => ({ CONTROLLER: controller.control, WORKER_ID: id, WORKER_CPU: '2', WORKER_MEMORY: String(2 * 1024 ** 3), HEARTBEAT_MS: '200' });
  const workers: RunningWorker[] = await Promise.all([startWorker(env('w-a')), startWorker(env('w-b'))]);
  const gateway = await startGateway({ GRAPHS_DIR: 'test/fixtures/graphs-faults', CONTROLLER: controller.control });
  try {
    await until('every replica READY', () => allReady(controller));
    const rows = goldenRows('iris-logreg').slice(0, 4);
    const load = startLoad(`${gateway.baseUrl}/v2/models/${graph}/infer`, 200, 10_000, { inputs: [{ name: 'features', shape: [rows.length, 4], datatype: 'FP32', data: rows }] });
    await new Promise((r) => setTimeout(r, 3000));
    const killedAt = Date.now();
    await (workers[0] as RunningWorker).kill();
    await until('re-placed', () => allReady(controller, 'w-a'));
    const replacedMs = Date.now() - killedAt;
    const summary = await load.done;
    return row(`failover.kill-9.${graph}`, summary, replacedMs, killedAt, (s) => target(s, killedAt));
  } finally {
    await Promise.all([gateway.stop(), ...workers.map((w) => w.kill())]);
    controller.process.kill('SIGKILL');
  }
}

async function main(): Promise<void> {
  console.log('[failover] targets: 2 replicas → 0 failed; 1 replica → failures only within 2 s of the kill');
  console.log(await scenario('iris-two', (s) => s.failures.length === 0));
  console.log(await scenario('iris-one', (s, killedAt) => failuresBetween(s, killedAt - 50, killedAt + 2000).length === s.failures.length));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
