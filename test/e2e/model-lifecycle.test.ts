import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { request, startGateway, type RunningGateway } from '../support/gateway.process';
import { describeFailures, startLoad } from '../support/load-generator';
import { V2GrpcClient } from '../support/grpc-client';

// Real parts: the gateway process (dist/apps/gateway/src/main.js) serving graphs from a temporary GRAPHS_DIR
// over loopback HTTP, a separate load generator process, real file edits picked up by hot reload, and a
// real TypeScript custom module that throws.

/** Graph "shift" answering x - mean: each version's own output tells which version answered. */
function shiftGraph(version: string, mean: number | string, extra = '', module = false): string {
  const flaky = module
    ? `
    - name: flaky
      type: transformer
      inputs: [standardize.outputs.x]
      transformer:
        module: ./flaky.ts
        export: flaky
        outputs: [{name: x, datatype: FP32, shape: [-1, 1]}]`
    : '';
  return `apiVersion: infergraph.dev/v1alpha1
kind: InferenceGraph
metadata: {name: shift}
spec:
  version: "${version}"
  inputs: [{name: x, datatype: FP32, shape: [-1, 1]}]
  nodes:
    - name: standardize
      type: transformer
      inputs: [graph.inputs.x]
      transformer:
        steps: [{op: standardize, tensor: x, mean: [${mean}], std: [1]}]${flaky}
  outputs: [${module ? 'flaky' : 'standardize'}.outputs.x]
${extra}`;
}

/** A custom transformer that fails every fifth call (20 % of requests). */
const FLAKY_MODULE = `let calls = 0;
export const flaky = (inputs: Record<string, { shape: number[]; data: ArrayLike<number> }>) => {
  calls++;
  if (calls % 5 === 0) throw new Error('flaky: every fifth call fails');
  const x = inputs['x'];
  if (x === undefined) throw new Error('expected x');
  return [{ name: 'x', datatype: 'FP32', shape: x.shape, data: Array.from(x.data) }];
};
`;

const BODY = { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 1], data: [5] }] };

async function infer(gw: RunningGateway, route = '/v2/models/shift/infer', headers: Record<string, string> = {}): Promise<{ status: number; value: number | undefined; version: string | undefined }> {
  const res = await request(gw, 'POST', route, BODY, headers);
  const body = res.body as { model_version?: string; outputs?: { data: number[] }[] } | undefined;
  return { status: res.status, value: body?.outputs?.[0]?.data[0], version: body?.model_version };
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, gw: RunningGateway, limitMs = 30_000): Promise<T> {
  const deadline = performance.now() + limitMs;
  for (;;) {
    const got = await probe();
    if (got !== undefined) return got;
    if (performance.now() > deadline) throw new Error(`${what} did not happen within ${limitMs} ms:\n${gw.output().slice(-4000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

interface GraphRow {
  name: string;
  version?: string;
  state: string;
  default: boolean;
  reloadError?: string;
}

async function graphRows(gw: RunningGateway): Promise<GraphRow[]> {
  return ((await request(gw, 'GET', '/v1/graphs')).body as { graphs: GraphRow[] }).graphs;
}

describe('graph versions side by side', () => {
  let dir: string;
  let gw: RunningGateway;
  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'infergraph-versions-'));
    writeFileSync(path.join(dir, 'shift-1.yaml'), shiftGraph('1', 0));
    writeFileSync(path.join(dir, 'shift-2.yaml'), shiftGraph('2', 10));
    gw = await startGateway({ GRAPHS_DIR: dir });
  });
  after(async () => {
    await gw.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers each version on its own path with its own outputs, and the latest on the unversioned one', async () => {
    assert.deepEqual(await infer(gw, '/v2/models/shift/versions/1/infer'), { status: 200, value: 5, version: '1' });
    assert.deepEqual(await infer(gw, '/v2/models/shift/versions/2/infer'), { status: 200, value: -5, version: '2' });
    assert.deepEqual(await infer(gw), { status: 200, value: -5, version: '2' });
    const missing = await request(gw, 'POST', '/v2/models/shift/versions/3/infer', BODY);
    assert.equal(missing.status, 404);
    assert.match((missing.body as { error: string }).error, /no version "3" \(available: 1, 2\)/);
  });

  it('lists the versions in the model metadata and each version state in /v1/graphs', async () => {
    assert.deepEqual((await request(gw, 'GET', '/v2/models/shift')).body, { name: 'shift', versions: ['1', '2'], platform: 'infergraph', inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 1] }], outputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 1] }] });
    assert.equal((await request(gw, 'GET', '/v2/models/shift/versions/1/ready')).status, 200);
    const rows = (await graphRows(gw)).map((r) => ({ name: r.name, version: r.version, state: r.state, default: r.default }));
    assert.deepEqual(rows, [
      { name: 'shift', version: '1', state: 'ready', default: false },
      { name: 'shift', version: '2', state: 'ready', default: true },
    ]);
  });

  it('reaches a version through gRPC model_version, and the default without one', async () => {
    const client = new V2GrpcClient(gw.grpcAddress);
    try {
      const call = (version: string): Promise<{ model_version: string; outputs: { contents?: { fp32_contents?: number[] } }[]; raw_output_contents: Uint8Array[] }> =>
        client.call('ModelInfer', { model_name: 'shift', model_version: version, inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 1], contents: { fp32_contents: [5] } }] });
      const value = (r: Awaited<ReturnType<typeof call>>): number => Buffer.from(r.raw_output_contents[0] as Uint8Array).readFloatLE(0);
      const v1 = await call('1');
      assert.deepEqual([v1.model_version, value(v1)], ['1', 5]);
      const latest = await call('');
      assert.deepEqual([latest.model_version, value(latest)], ['2', -5]);
      assert.deepEqual((await client.call<{ versions: string[] }>('ModelMetadata', { name: 'shift', version: '' })).versions, ['1', '2']);
    } finally {
      client.close();
    }
  });

  it('serves the version pinned by GRAPH_DEFAULT_VERSIONS on the unversioned path', async () => {
    const pinned = await startGateway({ GRAPHS_DIR: dir, GRAPH_DEFAULT_VERSIONS: 'shift=1' });
    try {
      assert.deepEqual(await infer(pinned), { status: 200, value: 5, version: '1' });
    } finally {
      await pinned.stop();
    }
  });
});

describe('hot reload of GRAPHS_DIR', () => {
  let dir: string;
  let gw: RunningGateway;
  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'infergraph-reload-'));
    writeFileSync(path.join(dir, 'shift.yaml'), shiftGraph('1', 0));
    gw = await startGateway({ GRAPHS_DIR: dir, GRAPHS_SCAN_MS: '500' });
    await until('hot reload to start', () => Promise.resolve(gw.output().includes('hot reload: watching') ? true : undefined), gw);
  });
  after(async () => {
    await gw.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('switches to an edited graph with no failed request under constant load, and keeps it through a broken edit', async () => {
    const load = startLoad(`${gw.baseUrl}/v2/models/shift/infer`, 100, 8000, BODY);
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal((await infer(gw)).value, 5);
    writeFileSync(path.join(dir, 'shift.yaml'), shiftGraph('1', 10));
    await until('the edited graph to serve', async () => ((await infer(gw)).value === -5 ? true : undefined), gw);

    writeFileSync(path.join(dir, 'shift.yaml'), shiftGraph('1', '"not a number"'));
    const row = await until('the broken edit to be reported', async () => (await graphRows(gw)).find((r) => r.reloadError !== undefined), gw);
    assert.match(row.reloadError ?? '', /reload failed, version 1 keeps serving: [\s\S]*mean\[0\]: Invalid input/);
    assert.equal(row.state, 'ready');
    assert.deepEqual(await infer(gw), { status: 200, value: -5, version: '1' });

    const summary = await load.done;
    assert.ok(summary.sent > 300, `only ${summary.sent} requests sent`);
    assert.equal(summary.failures.length, 0, describeFailures(summary));
    assert.match(gw.output(), /graph \\"shift\\" version 1 drained and closed|graph "shift" version 1 drained and closed/);
  });

  it('reloads on POST /v1/graphs/{graph}/reload and reports a deleted file while the version keeps serving', async () => {
    writeFileSync(path.join(dir, 'shift.yaml'), shiftGraph('1', 1));
    const reloaded = await request(gw, 'POST', '/v1/graphs/shift/reload');
    assert.equal(reloaded.status, 200);
    assert.deepEqual(await infer(gw), { status: 200, value: 4, version: '1' });
    assert.equal((await request(gw, 'POST', '/v1/graphs/nope/reload')).status, 404);

    unlinkSync(path.join(dir, 'shift.yaml'));
    const row = await until('the deletion to be reported', async () => (await graphRows(gw)).find((r) => /deleted/.test(r.reloadError ?? '')), gw);
    assert.equal(row.state, 'ready');
    assert.deepEqual(await infer(gw), { status: 200, value: 4, version: '1' });
    assert.equal((await request(gw, 'DELETE', '/v1/graphs/shift/versions/1')).status, 200);
    assert.equal((await infer(gw)).status, 404);
  });
});

describe('reload on SIGHUP', () => {
  let dir: string;
  let gw: RunningGateway;
  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'infergraph-hangup-'));
    writeFileSync(path.join(dir, 'shift.yaml'), shiftGraph('1', 0));
    gw = await startGateway({ GRAPHS_DIR: dir, GRAPHS_WATCH: 'false' });
    await until('SIGHUP handling to start', () => Promise.resolve(gw.output().includes('hot reload: off') ? true : undefined), gw);
  });
  after(async () => {
    await gw.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('loads an edited file when told to by SIGHUP, with hot reload off', async () => {
    writeFileSync(path.join(dir, 'shift.yaml'), shiftGraph('1', 2));
    assert.equal((await infer(gw)).value, 5);
    gw.process.kill('SIGHUP');
    await until('the edit to serve after SIGHUP', async () => ((await infer(gw)).value === 3 ? true : undefined), gw);
    assert.equal(gw.process.exitCode, null);
  });
});

interface RolloutStatusBody {
  phase: string;
  step: number;
  measurements: { candidate: { requests: number; errors: number; errorRatio: number }; agreement: { compared: number; agreed: number } };
  history: { phase: string; reason: string }[];
}

describe('canary rollouts', () => {
  let dir: string;
  let gw: RunningGateway;
  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'infergraph-rollout-'));
    writeFileSync(path.join(dir, 'shift-1.yaml'), shiftGraph('1', 0));
    writeFileSync(path.join(dir, 'flaky.ts'), FLAKY_MODULE);
    gw = await startGateway({ GRAPHS_DIR: dir, GRAPHS_SCAN_MS: '300', OPS_TOKEN: 'ops-secret-token-0123456789' });
    await until('hot reload to start', () => Promise.resolve(gw.output().includes('hot reload: watching') ? true : undefined), gw);
  });
  after(async () => {
    await gw.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  const ops = { authorization: 'Bearer ops-secret-token-0123456789' };

  /** Sends unversioned requests (user i % 10) until the rollout finishes; returns its status and what the callers saw. */
  async function driveRollout(): Promise<{ status: RolloutStatusBody; failed: number; sent: number; seen: Map<string, string[]> }> {
    let failed = 0;
    let sent = 0;
    const seen = new Map<string, string[]>();
    for (;;) {
      for (let i = 0; i < 20; i++) {
        const user = `user-${sent % 10}`;
        const r = await infer(gw, '/v2/models/shift/infer', { 'x-user': user });
        sent++;
        if (r.status !== 200) failed++;
        else seen.set(user, [...(seen.get(user) ?? []), r.version ?? '?']);
      }
      const status = (await request(gw, 'GET', '/v1/rollouts/shift', undefined, ops)).body as RolloutStatusBody;
      if (['promoted', 'rolled-back', 'aborted'].includes(status.phase)) return { status, failed, sent, seen };
      if (sent > 5000) throw new Error(`the rollout did not finish after ${sent} requests: ${JSON.stringify(status)}`);
    }
  }

  it('promotes a good version through every step with no failed request, sticky callers never going back', async () => {
    assert.equal((await request(gw, 'GET', '/v1/rollouts')).status, 401);
    writeFileSync(
      path.join(dir, 'shift-2.yaml'),
      shiftGraph('2', 10, `  rollout:
    steps: [{weightPercent: 10, requests: 15}, {weightPercent: 50, requests: 15}, {weightPercent: 100, requests: 15}]
    checks: {maxErrorRatio: 0.01, minRequests: 10}
    sticky: {header: x-user}
`),
    );
    await until('the rollout to start', async () => ((await request(gw, 'GET', '/v1/rollouts/shift', undefined, ops)).status === 200 ? true : undefined), gw);
    const { status, failed, seen } = await driveRollout();
    assert.equal(status.phase, 'promoted', JSON.stringify(status));
    assert.equal(failed, 0);
    assert.deepEqual(
      status.history.map((h) => h.phase),
      ['canary', 'canary', 'canary', 'promoted'],
    );
    for (const [user, versions] of seen) assert.ok(!versions.join(',').includes('2,1'), `${user} went back to version 1: ${versions.join(',')}`);
    assert.deepEqual(await infer(gw), { status: 200, value: -5, version: '2' });
    const metrics = (await request(gw, 'GET', '/metrics', undefined, ops)).raw.toString();
    assert.match(metrics, /infergraph_rollout_transitions_total\{graph="shift",version="2",phase="promoted"[^}]*\} 1/);
  });

  it('rolls back a version that fails 20 % of requests within its first step, with the measurements in its status', async () => {
    writeFileSync(
      path.join(dir, 'shift-3.yaml'),
      shiftGraph('3', 0, `  rollout:
    steps: [{weightPercent: 25, requests: 200}, {weightPercent: 100, requests: 200}]
    checks: {maxErrorRatio: 0.05, minRequests: 20}
`, true),
    );
    await until('the rollout of version 3 to start', async () => {
      const body = (await request(gw, 'GET', '/v1/rollouts/shift', undefined, ops)).body as { to?: string };
      return body.to === '3' ? true : undefined;
    }, gw);
    const { status, failed } = await driveRollout();
    assert.equal(status.phase, 'rolled-back', JSON.stringify(status));
    assert.equal(status.step, 1);
    assert.ok(status.measurements.candidate.errors > 0 && status.measurements.candidate.errorRatio > 0.05, JSON.stringify(status.measurements));
    assert.equal(failed, status.measurements.candidate.errors);
    assert.match(status.history.at(-1)?.reason ?? '', /check failed: error ratio/);
    assert.deepEqual(await infer(gw), { status: 200, value: -5, version: '2' });
    assert.match(gw.output(), /rollout graph=\\?"shift\\?" 2 -> 3 phase=rolled-back/);
  });

  it('rolls back in the shadow phase a version whose outputs disagree, every caller answered by the current version', async () => {
    writeFileSync(
      path.join(dir, 'shift-4.yaml'),
      shiftGraph('4', 7, `  rollout:
    shadow: {requests: 1000}
    steps: [{weightPercent: 100, requests: 10}]
    checks: {minAgreement: 0.9, minRequests: 10}
`),
    );
    await until('the rollout of version 4 to start', async () => {
      const body = (await request(gw, 'GET', '/v1/rollouts/shift', undefined, ops)).body as { to?: string };
      return body.to === '4' ? true : undefined;
    }, gw);
    const { status, failed, seen } = await driveRollout();
    assert.equal(status.phase, 'rolled-back', JSON.stringify(status));
    assert.deepEqual(status.history.map((h) => h.phase), ['shadow', 'rolled-back']);
    assert.equal(failed, 0);
    assert.ok(status.measurements.agreement.compared > 0 && status.measurements.agreement.agreed === 0, JSON.stringify(status.measurements));
    assert.match(status.history.at(-1)?.reason ?? '', /check failed: agreement 0 < 0.9/);
    assert.deepEqual([...new Set([...seen.values()].flat())], ['2']);
  });
});
