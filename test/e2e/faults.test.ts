import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { goldenRows } from '../support/examples';
import { request, startGateway, type RunningGateway } from '../support/gateway.process';
import { startController, type RunningController } from '../support/controller.process';
import { monotonicMs } from '../support/clock';
import { clusterStatus, readyWorkers, type ClusterStatusBody } from '../support/cluster-status';
import { describeFailures, failuresBetween, p99Between, startLoad } from '../support/load-generator';
import { repoPath } from '../support/repo';
import { startWorker, type RunningWorker } from '../support/worker.process';
import { waitFor } from '../support/wait';

// The fault suite: real OS processes on loopback (a controller, two workers, a gateway) under constant-rate
// load from a separate load-generator process that records every response. Components are killed (-9),
// stopped (TERM) and restarted while the load runs; the assertions count failed requests.

type Status = ClusterStatusBody;
const status = clusterStatus;

const KEYS = ['iris-two.standardize', 'iris-two.classifier', 'iris-one.standardize', 'iris-one.classifier'];

describe('fault suite: a controller, two workers and a gateway under constant load', () => {
  let controller: RunningController;
  const workers = new Map<string, RunningWorker>();
  let gateway: RunningGateway;
  /** A second gateway of the same cluster: graph changes must reach every gateway. */
  let gateway2: RunningGateway;
  const rows = goldenRows('iris-logreg').slice(0, 4);
  const body = { inputs: [{ name: 'features', shape: [rows.length, 4], datatype: 'FP32', data: rows }] };
  const controllerEnv = { GRAPHS_DIR: 'test/fixtures/graphs-faults', SYNC_WINDOW_MS: '1500', HEARTBEAT_TIMEOUT_MS: '2000' };
  // Worker connections are pinged every 500 ms, lost after 2.5 s unanswered (iris-two's requests have 5 s).
  const gatewayEnv = () => ({ GRAPHS_DIR: 'test/fixtures/graphs-faults', CONTROLLER: controller.control, NODE_PING_INTERVAL_MS: '500', NODE_PING_TIMEOUT_MS: '2500' });

  const worker = async (id: string): Promise<RunningWorker> => {
    // w-b holds every model session in model threads (MODEL_THREADS=2); the others run the default, auto:
    // sessions opened at start-up on the event loop, those placed on them while they serve (re-placements
    // after a kill or a drain) in model threads. Every fault below meets each way of serving, the TERM drain
    // the threaded one.
    const modelThreads = id === 'w-b' ? '2' : 'auto';
    const w = await startWorker({ CONTROLLER: controller.control, WORKER_ID: id, WORKER_POOL: 'cpu', WORKER_CPU: '2', WORKER_MEMORY: String(2 * 1024 ** 3), HEARTBEAT_MS: '200', DRAIN_TIMEOUT_MS: '15000', MODEL_THREADS: modelThreads });
    workers.set(id, w);
    return w;
  };
  const url = (graph: string): string => `${gateway.baseUrl}/v2/models/${graph}/infer`;
  const allReady = (s: Status, replicasOfTwo = 2): boolean =>
    readyWorkers(s, 'iris-two.standardize').length === replicasOfTwo &&
    readyWorkers(s, 'iris-two.classifier').length === replicasOfTwo &&
    KEYS.slice(2).every((k) => readyWorkers(s, k).length === 1);

  before(async () => {
    controller = await startController(undefined, controllerEnv);
    await Promise.all([worker('w-a'), worker('w-b')]);
    [gateway, gateway2] = await Promise.all([startGateway(gatewayEnv()), startGateway(gatewayEnv())]);
    await waitFor('every replica READY', () => status(controller), (s) => allReady(s));
    await waitFor('the gateway ready', () => request(gateway, 'GET', '/v2/health/ready'), (r) => r.status === 200);
  });
  after(async () => {
    await Promise.all([gateway?.stop(), gateway2?.stop(), ...[...workers.values()].map((w) => w.kill())]);
    controller?.process.kill('SIGKILL');
  });

  it('loses no request when one of two workers is killed (-9) under 200 requests/second, with 2 replicas per node', async () => {
    const load = startLoad(url('iris-two'), 200, 8000, body);
    await new Promise((r) => setTimeout(r, 2000));
    await (workers.get('w-a') as RunningWorker).kill();
    const summary = await load.done;
    console.log(`[faults] kill -9 w-a, 2 replicas: ${summary.sent} sent at ${summary.rate}/s, p99 ${summary.p99Ms} ms, max ${summary.maxMs} ms; ${describeFailures(summary)}`);
    assert.ok(summary.rate >= 190, `load reached only ${summary.rate} requests/second`);
    assert.equal(summary.failures.length, 0, describeFailures(summary));
  });

  it('gives a worker that returns a fair share of the replicas, moving them without a failed request', async () => {
    const load = startLoad(url('iris-two'), 100, 6000, body);
    await worker('w-a');
    const s = await waitFor('w-a holds replicas again', () => status(controller), (st) => allReady(st) && (st.workers.find((w) => w.id === 'w-a')?.replicas ?? 0) >= 2);
    const summary = await load.done;
    const held = s.workers.map((w) => `${w.id}=${w.replicas}`).join(' ');
    console.log(`[faults] w-a returned: ${held}; ${describeFailures(summary)}`);
    const counts = s.workers.map((w) => w.replicas);
    assert.ok(Math.max(...counts) - Math.min(...counts) <= 2, `unbalanced after the return: ${held}`);
    assert.equal(summary.failures.length, 0, describeFailures(summary));
  });

  it('answers only inside a 2 s re-placement window when the worker of a single replica is killed (-9)', async () => {
    const s = await status(controller);
    const victim = readyWorkers(s, 'iris-one.classifier')[0] as string;
    const load = startLoad(url('iris-one'), 200, 8000, body);
    await new Promise((r) => setTimeout(r, 2500));
    const killedAt = monotonicMs();
    await (workers.get(victim) as RunningWorker).kill();
    const summary = await load.done;
    await worker(victim);
    const inside = failuresBetween(summary, killedAt - 50, killedAt + 2000);
    console.log(`[faults] kill -9 ${victim}, 1 replica: ${describeFailures(summary)}; ${summary.failures.length - inside.length} outside [kill, kill + 2 s]`);
    assert.equal(inside.length, summary.failures.length, `failures outside the 2 s after the kill: ${describeFailures(summary)}`);
    assert.ok(
      inside.every((f) => f.status === 503),
      'inside the window the answer is a quick 503',
    );
    await waitFor('every replica READY again', () => status(controller), (st) => allReady(st));
  });

  it('loses no request when a worker is stopped (TERM) under load: it drains first', async () => {
    const load = startLoad(url('iris-two'), 200, 8000, body);
    const loadOne = startLoad(url('iris-one'), 50, 8000, body);
    await new Promise((r) => setTimeout(r, 1500));
    const victim = workers.get('w-b') as RunningWorker;
    const exited = new Promise<number | null>((resolve) => victim.process.once('exit', (code) => resolve(code)));
    victim.process.kill('SIGTERM');
    const code = await exited;
    const [summary, summaryOne] = await Promise.all([load.done, loadOne.done]);
    await worker('w-b');
    console.log(`[faults] TERM w-b: exit ${code}; iris-two ${describeFailures(summary)}; iris-one ${describeFailures(summaryOne)}`);
    assert.match(victim.output(), /released by the controller/);
    assert.equal(summary.failures.length, 0, describeFailures(summary));
    assert.equal(summaryOne.failures.length, 0, describeFailures(summaryOne));
    await waitFor('every replica READY again', () => status(controller), (st) => allReady(st));
  });

  it('loses no request when one of two workers freezes (SIGSTOP) under load for 8 s, and gives it its share again once it resumes (SIGCONT)', async () => {
    // A frozen process (a paused VM, a stuck host, a partition) keeps its connections open: calls sent to it
    // neither fail nor answer. The gateway's pings find it; its calls go to the other replica's worker.
    const victim = workers.get('w-a') as RunningWorker;
    const load = startLoad(url('iris-two'), 200, 14_000, body);
    await new Promise((r) => setTimeout(r, 2000));
    const frozenAt = monotonicMs();
    victim.process.kill('SIGSTOP');
    try {
      await new Promise((r) => setTimeout(r, 8000));
    } finally {
      victim.process.kill('SIGCONT');
    }
    const summary = await load.done;
    const s = await waitFor('w-a holds replicas again', () => status(controller), (st) => allReady(st) && (st.workers.find((w) => w.id === 'w-a')?.replicas ?? 0) >= 2);
    const frozenP99 = p99Between(summary, frozenAt, frozenAt + 8000);
    console.log(
      `[faults] SIGSTOP w-a for 8 s: ${summary.sent} sent at ${summary.rate}/s, p99 ${summary.p99Ms} ms (${frozenP99} ms while frozen), max ${summary.maxMs} ms; ` +
        `${describeFailures(summary)}; after SIGCONT ${s.workers.map((w) => `${w.id}=${w.replicas}`).join(' ')}`,
    );
    assert.ok(summary.rate >= 190, `load reached only ${summary.rate} requests/second`);
    assert.equal(summary.failures.length, 0, describeFailures(summary));
  });

  it('loses no request when the controller is killed (-9) and restarted 30 s later, and adopts what the workers hold', async () => {
    // A graph posted through the admin API (kept in STATE_DIR) is served through the restart too.
    const postedYaml = readFileSync(repoPath(controllerEnv.GRAPHS_DIR, 'iris-two.yaml'), 'utf8').replace('name: iris-two', 'name: iris-posted');
    const posted = await fetch(`${controller.base}/v1/graphs`, { method: 'POST', headers: { 'content-type': 'application/yaml' }, body: postedYaml });
    assert.equal(posted.status, 201, await posted.clone().text());
    const postedKeys = ['iris-posted.standardize', 'iris-posted.classifier'];
    // A settled placement first: two replicas of each iris-two node on two different workers, nothing moving.
    const spread = (st: Status): boolean => allReady(st) && [...KEYS.slice(0, 2), ...postedKeys].every((k) => new Set(readyWorkers(st, k)).size === 2);
    const before = await waitFor('a settled placement', () => status(controller), spread);
    await waitFor('iris-posted served', () => request(gateway, 'POST', '/v2/models/iris-posted/infer', body), (r) => r.status === 200);
    const load = startLoad(url('iris-two'), 100, 40_000, body);
    const loadPosted = startLoad(url('iris-posted'), 50, 40_000, body);
    await new Promise((r) => setTimeout(r, 2000));
    controller.process.kill('SIGKILL');
    await new Promise((r) => setTimeout(r, 30_000));
    controller = await startController(controller.ports, controllerEnv);
    const s = await waitFor('the new controller synced with both workers', () => status(controller), (st) => st.synced && st.workers.length === 2 && spread(st)).catch((err: unknown) => {
      for (const [id, w] of workers) console.log(`--- ${id}\n${w.output().split('\n').slice(-15).join('\n')}`);
      console.log(`--- controller\n${controller.output().split('\n').slice(-30).join('\n')}`);
      throw err;
    });
    const [summary, summaryPosted] = await Promise.all([load.done, loadPosted.done]);
    console.log(`[faults] controller kill -9 + restart after 30 s: iris-two ${describeFailures(summary)}, p99 ${summary.p99Ms} ms; iris-posted ${describeFailures(summaryPosted)}`);
    assert.notEqual(s.epoch, before.epoch);
    assert.equal(summary.failures.length, 0, describeFailures(summary));
    assert.equal(summaryPosted.failures.length, 0, describeFailures(summaryPosted));
    // Adopted, not re-placed: every replica stayed on the worker that held it; the posted graph is still there.
    for (const key of [...KEYS, ...postedKeys]) assert.deepEqual(readyWorkers(s, key).sort(), readyWorkers(before, key).sort(), key);
  });

  it('serves a graph PUT at the controller on every gateway within 2 s, changing outputs without a failed request', async () => {
    const graphYaml = (mean: number[]): string => `
apiVersion: infergraph.dev/v1alpha1
kind: InferenceGraph
metadata: {name: iris-put}
spec:
  inputs: [{name: features, datatype: FP32, shape: [-1, 4]}]
  nodes:
    - name: standardize
      type: transformer
      inputs: [graph.inputs.features]
      resources: {cpu: 100m, memory: 32Mi}
      transformer:
        steps: [{op: standardize, tensor: features, mean: [${mean.join(', ')}], std: [0.85, 0.44, 1.78, 0.77]}]
    - name: classifier
      type: model
      inputs: [standardize.outputs.features]
      tensorMap: {features: input}
      resources: {cpu: 100m}
      model: {uri: ../../../models/iris-logreg-core/1/model.onnx}
  outputs: [classifier.outputs.probabilities]
`;
    const put = (mean: number[]): Promise<Response> =>
      fetch(`${controller.base}/v1/graphs/iris-put`, { method: 'PUT', headers: { 'content-type': 'application/yaml' }, body: graphYaml(mean) });
    const probabilities = async (gw: RunningGateway): Promise<string> => {
      const res = await request(gw, 'POST', '/v2/models/iris-put/infer', body);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      return JSON.stringify((res.body as { outputs: { data: number[] }[] }).outputs[0]?.data);
    };
    const addedAt = performance.now();
    const added = await fetch(`${controller.base}/v1/graphs`, { method: 'POST', headers: { 'content-type': 'application/yaml' }, body: graphYaml([5.88, 3.07, 3.76, 1.19]) });
    assert.equal(added.status, 201, await added.clone().text());
    const first = await waitFor('iris-put served on both gateways', () => Promise.all([probabilities(gateway), probabilities(gateway2)]), ([a, b]) => a === b, 5000);
    const addMs = performance.now() - addedAt;
    const loads = [gateway, gateway2].map((gw) => startLoad(`${gw.baseUrl}/v2/models/iris-put/infer`, 100, 6000, body));
    await new Promise((r) => setTimeout(r, 1500));
    const changedAt = performance.now();
    assert.equal((await put([4.0, 2.0, 2.0, 0.5])).status, 200);
    const changed = await waitFor('the new outputs on both gateways', () => Promise.all([probabilities(gateway), probabilities(gateway2)]), (now) => now.every((p) => p !== first[0]), 5000);
    const switchMs = performance.now() - changedAt;
    const summaries = await Promise.all(loads.map((l) => l.done));
    console.log(`[faults] POST iris-put: served on both gateways after ${addMs} ms; PUT: new outputs on both after ${switchMs} ms; ${summaries.map(describeFailures).join('; ')}`);
    assert.ok(addMs <= 2000, `the new graph took ${addMs} ms to be served on every gateway`);
    assert.equal(changed[0], changed[1]);
    assert.ok(switchMs <= 2000, `the change took ${switchMs} ms to reach every gateway`);
    for (const summary of summaries) assert.equal(summary.failures.length, 0, describeFailures(summary));
  });

  it('removes a graph DELETEd at the controller from every gateway within 2 s', async () => {
    const served = async (gw: RunningGateway): Promise<number> => (await request(gw, 'POST', '/v2/models/iris-put/infer', body)).status;
    assert.deepEqual(await Promise.all([served(gateway), served(gateway2)]), [200, 200]);
    const deletedAt = performance.now();
    assert.equal((await fetch(`${controller.base}/v1/graphs/iris-put`, { method: 'DELETE' })).status, 200);
    await waitFor('iris-put gone from both gateways', () => Promise.all([served(gateway), served(gateway2)]), (codes) => codes.every((c) => c === 404), 5000);
    const goneMs = performance.now() - deletedAt;
    console.log(`[faults] DELETE iris-put: 404 on both gateways after ${goneMs} ms`);
    assert.ok(goneMs <= 2000, `the delete took ${goneMs} ms to reach every gateway`);
    // The graphs of GRAPHS_DIR are still served.
    assert.equal((await request(gateway2, 'POST', '/v2/models/iris-two/infer', body)).status, 200);
  });
});
