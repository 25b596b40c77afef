import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { EXAMPLES, goldenRows } from '../support/examples';
import { assertSameOutputs } from '../support/same-outputs';
import { request, startGateway, type RunningGateway } from '../support/gateway.process';
import { oneModelGraphYaml } from '../support/graph-yaml';
import { startController } from '../support/controller.process';
import { V2GrpcClient } from '../support/grpc-client';
import { repoPath } from '../support/repo';
import { startWorker, type RunningWorker } from '../support/worker.process';
import { tempDir } from '../support/temp-dir';

// Distributed mode with a controller, all real OS processes on loopback: the controller places
// replicas on the workers that join it, gateways follow its routing table, kill -9 re-places.

interface Replica {
  replica: number;
  worker: string;
  state: string;
  provider: string;
}
interface Status {
  workers: { id: string; pool: string }[];
  graphs: { name: string; nodes: { key: string; wanted: number; replicas: Replica[] }[] }[];
  pending: { key: string; replica: number; reason: string }[];
  removedWorkers: { id: string; reason: string }[];
  routing: { version: number; routes: { key: string; addresses: string[] }[] };
}

async function status(base: string): Promise<Status> {
  return (await (await fetch(`${base}/v1/cluster`)).json()) as Status;
}

async function waitFor(base: string, what: string, test: (s: Status) => boolean, timeoutMs = 20_000): Promise<Status> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const s = await status(base);
    if (test(s)) return s;
    if (performance.now() > deadline) assert.fail(`${what} within ${timeoutMs} ms; last status:\n${JSON.stringify(s, null, 1)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const node = (s: Status, key: string) => s.graphs.flatMap((g) => g.nodes).find((n) => n.key === key);
const readyOn = (s: Status, key: string): string[] => (node(s, key)?.replicas ?? []).filter((r) => r.state === 'READY').map((r) => r.worker);

describe('controller: placement on worker pools, routing, re-placement', () => {
  let controller: Awaited<ReturnType<typeof startController>>;
  let workers: RunningWorker[] = [];
  let gpu: RunningWorker | undefined;
  let gateway: RunningGateway;
  const rows = goldenRows('iris-logreg');
  const irisBody = { inputs: [{ name: 'features', shape: [rows.length, 4], datatype: 'FP32', data: rows }] };

  before(async () => {
    controller = await startController();
    const env = (id: string) => ({ CONTROLLER: controller.control, WORKER_ID: id, WORKER_POOL: 'cpu', WORKER_CPU: '2', WORKER_MEMORY: String(2 * 1024 ** 3), HEARTBEAT_MS: '200' });
    workers = await Promise.all([startWorker(env('cpu-a')), startWorker(env('cpu-b'))]);
    gateway = await startGateway({ GRAPHS_DIR: 'test/fixtures/graphs-cluster', CONTROLLER: controller.control });
  });
  after(async () => {
    await Promise.all([gateway?.stop(), ...workers.map((w) => w.kill()), gpu?.kill()]);
    controller?.process.kill('SIGKILL');
  });

  it('spreads 2 replicas of each node over the two CPU workers and routes to them', async () => {
    const s = await waitFor(controller.base, 'every iris node has 2 READY replicas', (st) =>
      ['iris-replicated.standardize', 'iris-replicated.classifier'].every((k) => readyOn(st, k).length === 2),
    );
    for (const key of ['iris-replicated.standardize', 'iris-replicated.classifier']) assert.deepEqual(readyOn(s, key).sort(), ['cpu-a', 'cpu-b']);
    assert.equal(s.routing.routes.find((r) => r.key === 'iris-replicated.classifier')?.addresses.length, 2);
  });

  it('keeps a GPU-pool replica pending with a reason until a GPU-labelled worker joins, which reports the CPU provider', async () => {
    const pending = (await status(controller.base)).pending.find((p) => p.key === 'gpu-only.mlp');
    assert.match(pending?.reason ?? '', /no worker in pool "gpu"/);
    const digits = goldenRows('digits-mlp').slice(0, 1);
    const unplaced = await request(gateway, 'POST', '/v2/models/gpu-only/infer', { inputs: [{ name: 'input', shape: [1, 64], datatype: 'FP32', data: digits }] });
    assert.equal(unplaced.status, 503);
    assert.match((unplaced.body as { error: string }).error, /node "mlp" of graph "gpu-only" has no ready replica/);
    assert.equal(unplaced.headers.get('retry-after'), '1', 'a 503 for a missing replica says when to try again');
    // Readiness tells the truth, and names the node that is missing; the other graph still serves.
    const graphReady = await request(gateway, 'GET', '/v2/models/gpu-only/ready');
    assert.equal(graphReady.status, 503);
    assert.match((graphReady.body as { error: string }).error, /graph "gpu-only" cannot serve: node "mlp" has no READY replica/);
    const serverReady = await request(gateway, 'GET', '/v2/health/ready');
    assert.equal(serverReady.status, 200);
    assert.deepEqual((serverReady.body as { missing: string[] }).missing, ['graph "gpu-only": node "mlp" has no READY replica in the routing table']);
    // The same over V2 gRPC: the standard answer, and what is missing in the trailing metadata.
    const grpc = new V2GrpcClient(gateway.grpcAddress);
    try {
      const model = await grpc.callWithTrailers<{ ready: boolean }>('ModelReady', { name: 'gpu-only', version: '' });
      assert.deepEqual(model.response, { ready: false });
      assert.match(model.trailers['infergraph-not-ready'] ?? '', /graph "gpu-only" cannot serve: node "mlp" has no READY replica/);
      const server = await grpc.callWithTrailers<{ ready: boolean }>('ServerReady', {});
      assert.deepEqual(server.response, { ready: true });
      assert.equal(server.trailers['infergraph-not-ready'], 'graph "gpu-only": node "mlp" has no READY replica in the routing table');
      assert.deepEqual((await grpc.callWithTrailers('ModelReady', { name: 'iris-replicated', version: '' })).response, { ready: true });
    } finally {
      grpc.close();
    }
    gpu = await startWorker({ CONTROLLER: controller.control, WORKER_ID: 'gpu-0', WORKER_POOL: 'gpu', WORKER_GPUS: '1', WORKER_GPU_MEMORY: String(8 * 1024 ** 3), HEARTBEAT_MS: '200' });
    const s = await waitFor(controller.base, 'gpu-only.mlp READY on gpu-0', (st) => readyOn(st, 'gpu-only.mlp').includes('gpu-0'));
    const replica = node(s, 'gpu-only.mlp')?.replicas[0];
    assert.equal(replica?.provider, 'cpu');
    assert.match((replica as Replica & { reason: string }).reason, /CUDA execution provider unavailable/);
    assert.equal(s.pending.length, 0);
  });

  it('answers through the gateway exactly as scikit-learn did', async () => {
    await waitFor(controller.base, 'routes published', (st) => st.routing.routes.length >= 3);
    await new Promise((r) => setTimeout(r, 300));
    const res = await request(gateway, 'POST', '/v2/models/iris-replicated/infer', irisBody);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const label = (res.body as { outputs: { name: string; data: number[] }[] }).outputs.find((o) => o.name === 'label');
    const golden = JSON.parse(await (await import('node:fs/promises')).readFile(repoPath('models', 'iris-logreg', '1', 'golden.json'), 'utf8')) as { labels: number[] };
    assert.deepEqual(label?.data, golden.labels);
  });

  it('re-places the replicas of a killed worker within the timeout under 200+ requests/second for 20 s', async () => {
    // Paced load from 8 concurrent clients (~250 requests/second in all) for 20 s; cpu-a is killed at 5 s.
    const durationMs = 20_000;
    const perClientGapMs = 32;
    const startedAt = performance.now();
    const statuses: number[] = [];
    const errors = new Map<string, number>();
    const client = async (): Promise<void> => {
      for (let next = performance.now(); performance.now() - startedAt < durationMs; next += perClientGapMs) {
        const res = await request(gateway, 'POST', '/v2/models/iris-replicated/infer', irisBody);
        statuses.push(res.status);
        if (res.status !== 200) {
          const e = (res.body as { error?: string }).error ?? String(res.status);
          errors.set(e, (errors.get(e) ?? 0) + 1);
        }
        const wait = next + perClientGapMs - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      }
    };
    const load = Promise.all(Array.from({ length: 8 }, client));
    await new Promise((r) => setTimeout(r, 5000));
    const killedAt = performance.now();
    await (workers[0] as RunningWorker).kill();
    const s = await waitFor(controller.base, 'replicas re-placed on cpu-b', (st) =>
      ['iris-replicated.standardize', 'iris-replicated.classifier'].every((k) => readyOn(st, k).length === 2 && readyOn(st, k).every((w) => w === 'cpu-b')),
    );
    const replacedMs = performance.now() - killedAt;
    await load;
    const seconds = (performance.now() - startedAt) / 1000;
    const failed = statuses.filter((c) => c !== 200).length;
    const rate = statuses.length / seconds;
    console.log(
      `[cluster] kill -9 cpu-a under ${rate.toFixed(0)} req/s for ${seconds.toFixed(1)} s: re-placed in ${replacedMs} ms; ${failed} of ${statuses.length} requests failed ${JSON.stringify([...errors])}`,
    );
    assert.ok(rate >= 200, `load reached only ${rate.toFixed(0)} requests/second`);
    assert.ok(replacedMs < 5000, `re-placement took ${replacedMs} ms`);
    assert.ok(failed <= 3, `${failed} of ${statuses.length} requests failed`);
    assert.ok(s.removedWorkers.some((w) => w.id === 'cpu-a'));
  });

  it('keeps serving while the controller is down, and rebuilds its view from the workers when it returns', async () => {
    controller.process.kill('SIGKILL');
    await new Promise((r) => setTimeout(r, 300));
    for (let i = 0; i < 10; i++) assert.equal((await request(gateway, 'POST', '/v2/models/iris-replicated/infer', irisBody)).status, 200);
    controller = await startController(controller.ports);
    const s = await waitFor(controller.base, 'workers re-joined and replicas READY again', (st) =>
      st.workers.length === 2 && ['iris-replicated.standardize', 'iris-replicated.classifier', 'gpu-only.mlp'].every((k) => readyOn(st, k).length > 0),
    );
    assert.deepEqual(s.workers.map((w) => w.id).sort(), ['cpu-b', 'gpu-0']);
    assert.equal((await request(gateway, 'POST', '/v2/models/iris-replicated/infer', irisBody)).status, 200);
  });
});

describe('controller: autoscaling a slow node under load', () => {
  let controller: Awaited<ReturnType<typeof startController>>;
  let workers: RunningWorker[] = [];
  let gateway: RunningGateway;
  const wanted = async (): Promise<number> => node(await status(controller.base), 'slow.work')?.wanted ?? 0;

  before(async () => {
    controller = await startController(undefined, {
      GRAPHS_DIR: 'test/fixtures/graphs-autoscale',
      AUTOSCALE_UP_AFTER_MS: '1000',
      AUTOSCALE_IDLE_MS: '1500',
      AUTOSCALE_COOLDOWN_MS: '500',
    });
    const env = (id: string) => ({ CONTROLLER: controller.control, WORKER_ID: id, WORKER_CPU: '2', WORKER_MEMORY: String(2 * 1024 ** 3), HEARTBEAT_MS: '200' });
    workers = await Promise.all([startWorker(env('cpu-a')), startWorker(env('cpu-b'))]);
    gateway = await startGateway({ GRAPHS_DIR: 'test/fixtures/graphs-autoscale', CONTROLLER: controller.control });
    await waitFor(controller.base, 'slow.work READY', (st) => readyOn(st, 'slow.work').length === 1);
  });
  after(async () => {
    await Promise.all([gateway?.stop(), ...workers.map((w) => w.kill())]);
    controller?.process.kill('SIGKILL');
  });

  it('adds replicas while in-flight requests per replica stay above the target, and removes them when idle', async () => {
    assert.equal(await wanted(), 1);
    const body = { inputs: [{ name: 'x', shape: [1, 2], datatype: 'FP32', data: [1, 2] }] };
    let stop = false;
    const failures: number[] = [];
    const clients = Array.from({ length: 6 }, async () => {
      while (!stop) {
        const res = await request(gateway, 'POST', '/v2/models/slow/infer', body);
        if (res.status !== 200) failures.push(res.status);
      }
    });
    const scaled = await waitFor(controller.base, 'scaled to 3 READY replicas', (st) => readyOn(st, 'slow.work').length === 3, 20_000);
    assert.equal(node(scaled, 'slow.work')?.wanted, 3);
    assert.deepEqual([...new Set(readyOn(scaled, 'slow.work'))].sort(), ['cpu-a', 'cpu-b'], 'the replicas use both workers');
    stop = true;
    await Promise.all(clients);
    assert.deepEqual(failures, [], 'no request failed while replicas were added');
    const idle = await waitFor(controller.base, 'scaled back to 1 replica', (st) => node(st, 'slow.work')?.wanted === 1, 20_000);
    assert.ok((node(idle, 'slow.work')?.replicas.length ?? 0) >= 1);
    assert.match(controller.output(), /autoscale slow.work to 3 replica\(s\): in-flight per replica above 1/);
    assert.match(controller.output(), /autoscale slow.work to 1 replica\(s\): idle for 1500 ms/);
  });
});

describe('controller: every example graph answers as in-process', () => {
  let controller: Awaited<ReturnType<typeof startController>>;
  let workers: RunningWorker[] = [];
  let local: RunningGateway;
  let remote: RunningGateway;

  before(async () => {
    controller = await startController(undefined, { GRAPHS_DIR: 'graphs' });
    const env = (id: string, pool: string) => ({
      CONTROLLER: controller.control,
      WORKER_ID: id,
      WORKER_POOL: pool,
      // Every example graph with the cluster default of 2 replicas per node.
      WORKER_CPU: '8',
      WORKER_MEMORY: String(8 * 1024 ** 3),
      WORKER_GPUS: pool === 'gpu' ? '1' : '0',
      WORKER_GPU_MEMORY: pool === 'gpu' ? String(8 * 1024 ** 3) : '0',
      HEARTBEAT_MS: '200',
    });
    workers = await Promise.all([startWorker(env('cpu-0', 'cpu')), startWorker(env('cpu-1', 'cpu')), startWorker(env('gpu-0', 'gpu'))]);
    [local, remote] = await Promise.all([startGateway({ GRAPHS_DIR: 'graphs' }), startGateway({ GRAPHS_DIR: 'graphs', CONTROLLER: controller.control })]);
    await waitFor(controller.base, 'every replica placed and READY', (st) =>
      st.pending.length === 0 && st.graphs.every((g) => g.nodes.every((n) => n.replicas.filter((r) => r.state === 'READY').length === n.wanted)),
    );
    await new Promise((r) => setTimeout(r, 300)); // the routing table reaches the gateway
  });
  after(async () => {
    await Promise.all([local?.stop(), remote?.stop(), ...workers.map((w) => w.kill())]);
    controller?.process.kill('SIGKILL');
  });

  for (const example of EXAMPLES) {
    it(`gives the same outputs for ${example.graph}`, async () => {
      const body = {
        inputs: [{ name: example.input, shape: [example.rows.length, example.rows[0]?.length ?? 0], datatype: 'FP32', data: example.rows }],
        parameters: example.parameters ?? {},
      };
      const path = `/v2/models/${example.graph}/infer`;
      const [a, b] = await Promise.all([request(local, 'POST', path, body, example.headers ?? {}), request(remote, 'POST', path, body, example.headers ?? {})]);
      assertSameOutputs(a, b, example.graph);
    });
  }
});

describe('controller: admin API', () => {
  let controller: Awaited<ReturnType<typeof startController>>;
  let worker: RunningWorker;
  let dir: string;

  before(async () => {
    dir = tempDir('infergraph-admin-');
    // Posted graphs are stored in STATE_DIR: a fresh one, never the repository's default.
    controller = await startController(undefined, { GRAPHS_DIR: dir, STATE_DIR: tempDir('infergraph-admin-state-') });
    worker = await startWorker({ CONTROLLER: controller.control, WORKER_ID: 'cpu-a', HEARTBEAT_MS: '200' });
  });
  after(async () => {
    await worker?.kill();
    controller?.process.kill('SIGKILL');
  });

  const yaml = (name: string, model: string): string => oneModelGraphYaml(name, model);

  it('adds a graph posted as YAML, places it, and removes it on DELETE', async () => {
    const post = await fetch(`${controller.base}/v1/graphs`, { method: 'POST', headers: { 'content-type': 'application/yaml' }, body: yaml('posted', repoPath('models', 'iris-logreg', '1', 'model.onnx')) });
    assert.equal(post.status, 201, await post.clone().text());
    assert.deepEqual(((await post.json()) as { nodes: string[] }).nodes, ['posted.clf']);
    const listed = (await (await fetch(`${controller.base}/v1/graphs`)).json()) as { graphs: { name: string }[] };
    assert.deepEqual(listed.graphs.map((g) => g.name), ['posted']);
    await waitFor(controller.base, 'posted.clf READY on cpu-a', (st) => readyOn(st, 'posted.clf').includes('cpu-a'));
    const del = await fetch(`${controller.base}/v1/graphs/posted`, { method: 'DELETE' });
    assert.equal(del.status, 200);
    const after = await status(controller.base);
    assert.equal(after.graphs.length, 0);
    assert.equal(after.routing.routes.length, 0);
    const again = await fetch(`${controller.base}/v1/graphs/posted`, { method: 'DELETE' });
    assert.equal(again.status, 404);
  });

  it('rejects an invalid graph with the problems located in the posted document', async () => {
    const res = await fetch(`${controller.base}/v1/graphs`, { method: 'POST', body: yaml('broken', '/nowhere/model.onnx') });
    assert.equal(res.status, 400);
    assert.match(((await res.json()) as { error: string }).error, /broken\.yaml:9:\d+ spec\.nodes\[0\]\.model\.uri: model\.uri "\/nowhere\/model\.onnx" is outside the allowed roots/);
    assert.equal(((await (await fetch(`${controller.base}/v1/graphs`)).json()) as { graphs: unknown[] }).graphs.length, 0);
  });
});
