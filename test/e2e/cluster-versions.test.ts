import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { request, startGateway, type RunningGateway } from '../support/gateway.process';
import { startController, type RunningController } from '../support/controller.process';
import { clusterStatus, readyWorkers, type ClusterStatusBody } from '../support/cluster-status';
import { V2GrpcClient } from '../support/grpc-client';
import { describeFailures, startLoad } from '../support/load-generator';
import { startWorker, type RunningWorker } from '../support/worker.process';
import { waitFor } from '../support/wait';

// Real parts: OS processes on loopback (a controller, two workers, a gateway following the controller), a
// separate load-generator process, REST and V2 gRPC. Version 1 of graph "shift" is a file of the controller's
// GRAPHS_DIR, version 2 is posted through its admin API; both are placed on the workers as replicas of their own.

/** Two transformers on workers (a chain, so whole-graph calls carry the version too): (x - mean) / 2. */
function shiftGraph(version: string, mean: number, extra = ''): string {
  return `apiVersion: infergraph.dev/v1alpha1
kind: InferenceGraph
metadata: {name: shift}
spec:
  version: "${version}"
  inputs: [{name: x, datatype: FP32, shape: [-1, 1]}]
  nodes:
    - name: center
      type: transformer
      inputs: [graph.inputs.x]
      replicas: 2
      resources: {cpu: 100m, memory: 32Mi}
      transformer: {steps: [{op: standardize, tensor: x, mean: [${mean}], std: [1]}]}
    - name: halve
      type: transformer
      inputs: [center.outputs.x]
      replicas: 2
      resources: {cpu: 100m, memory: 32Mi}
      transformer: {steps: [{op: standardize, tensor: x, mean: [0], std: [2]}]}
  outputs: [halve.outputs.x]
${extra}`;
}

const X = 5;
/** What each version answers for X: (X - mean) / 2 with its own mean. */
const MEANS: Readonly<Record<string, number>> = { '1': 1, '2': 11, '3': 21 };
const expected = (version: string): number => (X - (MEANS[version] as number)) / 2;
const BODY = { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 1], data: [X] }] };
const KEYS = ['shift.center', 'shift.halve', 'shift@2.center', 'shift@2.halve'];

type Status = ClusterStatusBody;
const status = clusterStatus;

async function infer(gw: RunningGateway, route: string): Promise<{ status: number; value: number | undefined; version: string | undefined }> {
  const res = await request(gw, 'POST', route, BODY);
  const body = res.body as { model_version?: string; outputs?: { data: number[] }[] } | undefined;
  return { status: res.status, value: body?.outputs?.[0]?.data[0], version: body?.model_version };
}

describe('graph versions side by side in the distributed mode: a controller, two workers and a gateway', () => {
  let dir: string;
  let controller: RunningController;
  const workers = new Map<string, RunningWorker>();
  let gateway: RunningGateway;

  const worker = async (id: string): Promise<RunningWorker> => {
    const w = await startWorker({ CONTROLLER: controller.control, WORKER_ID: id, WORKER_POOL: 'cpu', WORKER_CPU: '2', WORKER_MEMORY: String(2 * 1024 ** 3), HEARTBEAT_MS: '200' });
    workers.set(id, w);
    return w;
  };
  const allReady = (s: Status): boolean => KEYS.every((k) => readyWorkers(s, k).length === 2);

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'infergraph-cluster-versions-'));
    writeFileSync(path.join(dir, 'shift.yaml'), shiftGraph('1', MEANS['1'] as number));
    controller = await startController(undefined, { GRAPHS_DIR: dir, SYNC_WINDOW_MS: '1000', HEARTBEAT_TIMEOUT_MS: '2000' });
    await Promise.all([worker('w-a'), worker('w-b')]);
    gateway = await startGateway({ GRAPHS_DIR: dir, CONTROLLER: controller.control });
  });
  after(async () => {
    await Promise.all([gateway?.stop(), ...[...workers.values()].map((w) => w.kill())]);
    controller?.process.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('places a posted second version as replicas of its own beside the first', async () => {
    const posted = await fetch(`${controller.base}/v1/graphs`, { method: 'POST', headers: { 'content-type': 'application/yaml' }, body: shiftGraph('2', MEANS['2'] as number) });
    assert.equal(posted.status, 201, await posted.clone().text());
    const described = (await posted.json()) as { name: string; version: string; nodes: string[] };
    assert.deepEqual([described.name, described.version, described.nodes], ['shift', '2', ['shift@2.center', 'shift@2.halve']]);
    const again = await fetch(`${controller.base}/v1/graphs`, { method: 'POST', headers: { 'content-type': 'application/yaml' }, body: shiftGraph('2', 0) });
    assert.equal(again.status, 409, 'the same version cannot be added twice');

    const s = await waitFor('both versions READY on both workers', () => status(controller), allReady);
    assert.deepEqual(
      s.graphs.map((g) => [g.name, g.version]),
      [
        ['shift', undefined],
        ['shift', '2'],
      ],
    );
    for (const key of KEYS) assert.deepEqual(readyWorkers(s, key).sort(), ['w-a', 'w-b'], key);
    assert.deepEqual(
      s.routing.routes.map((r) => r.key),
      KEYS,
    );
  });

  it('answers each version with its own outputs over REST, and the latest on the unversioned path', async () => {
    await waitFor('version 2 ready at the gateway', () => request(gateway, 'GET', '/v2/models/shift/versions/2/ready'), (r) => r.status === 200);
    assert.deepEqual(await infer(gateway, '/v2/models/shift/versions/1/infer'), { status: 200, value: expected('1'), version: '1' });
    assert.deepEqual(await infer(gateway, '/v2/models/shift/versions/2/infer'), { status: 200, value: expected('2'), version: '2' });
    assert.deepEqual(await infer(gateway, '/v2/models/shift/infer'), { status: 200, value: expected('2'), version: '2' });
    assert.deepEqual(((await request(gateway, 'GET', '/v2/models/shift')).body as { versions: string[] }).versions, ['1', '2']);
  });

  it('answers each version with its own outputs over gRPC model_version', async () => {
    const client = new V2GrpcClient(gateway.grpcAddress);
    try {
      for (const version of ['1', '2']) {
        const r = await client.call<{ model_version: string; raw_output_contents: Uint8Array[] }>('ModelInfer', {
          model_name: 'shift',
          model_version: version,
          inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 1], contents: { fp32_contents: [X] } }],
        });
        assert.deepEqual([r.model_version, Buffer.from(r.raw_output_contents[0] as Uint8Array).readFloatLE(0)], [version, expected(version)]);
      }
    } finally {
      client.close();
    }
  });

  it('loses no request of either version when one of two workers is killed (-9) under load, with 2 replicas per node', async () => {
    const loads = ['1', '2'].map((v) => startLoad(`${gateway.baseUrl}/v2/models/shift/versions/${v}/infer`, 100, 8000, BODY));
    await new Promise((r) => setTimeout(r, 2000));
    await (workers.get('w-a') as RunningWorker).kill();
    const summaries = await Promise.all(loads.map((l) => l.done));
    summaries.forEach((summary, i) => {
      console.log(`[cluster-versions] kill -9 w-a, version ${i + 1}: ${summary.sent} sent at ${summary.rate}/s; ${describeFailures(summary)}`);
      assert.ok(summary.sent > 500, `version ${i + 1}: only ${summary.sent} requests sent`);
      assert.equal(summary.failures.length, 0, `version ${i + 1}: ${describeFailures(summary)}`);
    });
    await worker('w-a');
    await waitFor('both versions READY on both workers again', () => status(controller), allReady);
  });

  it('keeps version 1 serving with no failed request while version 2 is deleted', async () => {
    const load = startLoad(`${gateway.baseUrl}/v2/models/shift/versions/1/infer`, 100, 5000, BODY);
    await new Promise((r) => setTimeout(r, 1000));
    const deleted = await fetch(`${controller.base}/v1/graphs/shift/versions/2`, { method: 'DELETE' });
    assert.equal(deleted.status, 200, await deleted.clone().text());
    assert.deepEqual(((await deleted.json()) as { version: string }).version, '2');
    const s = await waitFor('version 2 unplaced', () => status(controller), (st) => st.graphs.length === 1);
    assert.deepEqual(s.graphs.map((g) => [g.name, g.version]), [['shift', undefined]]);
    assert.deepEqual(s.routing.routes.map((r) => r.key), ['shift.center', 'shift.halve']);
    await waitFor('version 2 gone at the gateway', () => request(gateway, 'GET', '/v2/models/shift/versions/2/ready'), (r) => r.status === 404);
    const summary = await load.done;
    assert.equal(summary.failures.length, 0, describeFailures(summary));
    assert.deepEqual(await infer(gateway, '/v2/models/shift/infer'), { status: 200, value: expected('1'), version: '1' });
    const file = await fetch(`${controller.base}/v1/graphs/shift/versions/1`, { method: 'DELETE' });
    assert.equal(file.status, 409, 'a GRAPHS_DIR version cannot be deleted through the API');
  });

  it('rolls out a version posted to the controller as a canary on the workers, and promotes it with no failed request', async () => {
    const rollout = `  rollout:
    steps: [{weightPercent: 20, requests: 20}, {weightPercent: 100, requests: 20}]
    checks: {maxErrorRatio: 0.01, minRequests: 10}
`;
    const posted = await fetch(`${controller.base}/v1/graphs`, { method: 'POST', headers: { 'content-type': 'application/yaml' }, body: shiftGraph('3', MEANS['3'] as number, rollout) });
    assert.equal(posted.status, 201, await posted.clone().text());
    await waitFor('a rollout of version 3 at the gateway', () => request(gateway, 'GET', '/v1/rollouts/shift'), (r) => r.status === 200);
    let failed = 0;
    const answered = new Set<string>();
    let phase = '';
    for (let sent = 0; !['promoted', 'rolled-back', 'aborted'].includes(phase); ) {
      for (let i = 0; i < 20; i++, sent++) {
        const r = await infer(gateway, '/v2/models/shift/infer');
        if (r.status !== 200 || r.value !== expected(r.version ?? '?')) failed++;
        else answered.add(r.version as string);
      }
      phase = ((await request(gateway, 'GET', '/v1/rollouts/shift')).body as { phase: string }).phase;
      if (sent > 3000) assert.fail(`the rollout did not finish after ${sent} requests (phase ${phase})`);
    }
    assert.equal(phase, 'promoted');
    assert.equal(failed, 0, 'every answer came from version 1 or 3 with that version\'s own output');
    assert.deepEqual([...answered].sort(), ['1', '3'], 'both versions answered during the canary');
    assert.ok(readyWorkers(await status(controller), 'shift@3.center').length > 0, 'version 3 runs on the workers');
    assert.deepEqual(await infer(gateway, '/v2/models/shift/infer'), { status: 200, value: expected('3'), version: '3' });
  });
});

describe('graph versions side by side with a static worker list (WORKERS, no controller)', () => {
  let dir: string;
  let worker: RunningWorker;
  let gateway: RunningGateway;

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'infergraph-static-versions-'));
    for (const version of ['1', '2']) writeFileSync(path.join(dir, `shift-${version}.yaml`), shiftGraph(version, MEANS[version] as number));
    worker = await startWorker({ GRAPHS_DIR: dir });
    gateway = await startGateway({ GRAPHS_DIR: dir, NODE_TRANSPORT: 'grpc', WORKERS: worker.address });
  });
  after(async () => {
    await Promise.all([gateway?.stop(), worker?.kill()]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves both versions from a worker that loaded both, each answering with its own outputs', async () => {
    assert.match(worker.output(), /serving 4 node\(s\): .*shift@2\.center/);
    assert.deepEqual(await infer(gateway, '/v2/models/shift/versions/1/infer'), { status: 200, value: expected('1'), version: '1' });
    assert.deepEqual(await infer(gateway, '/v2/models/shift/versions/2/infer'), { status: 200, value: expected('2'), version: '2' });
    // The worker's node metrics keep the versions apart, as the cluster's do (graph label = graph id).
    const metrics = await (await fetch(`${worker.metricsUrl as string}/metrics`)).text();
    for (const graph of ['shift', 'shift@2']) assert.match(metrics, new RegExp(`infergraph_node_calls_total\\{[^}]*graph="${graph}"[^}]*\\} [1-9]`), graph);
  });
});
