import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { repoPath } from '../support/repo';
import { request, startGateway, type HttpResult, type RunningGateway } from '../support/gateway.process';

// End to end: outlier and drift nodes in the real gateway process over real HTTP, fitted on the
// committed reference CSVs, drift tests computed in worker threads.

interface Golden {
  rows: number[][];
}
interface DriftResult {
  is_drift: boolean;
  p_val: number[];
  distance: number[];
  threshold: number;
  features: string[];
  window: { start: number; end: number; size: number; started_at: string; ended_at: string };
}
interface DriftStatus {
  windows_completed: number;
  latest?: DriftResult;
  history: DriftResult[];
}

const golden = (name: string): Golden => JSON.parse(readFileSync(repoPath('models', name, '1', 'golden.json'), 'utf8')) as Golden;

function referenceStd(name: string): number[] {
  const lines = readFileSync(repoPath('models', name, '1', 'reference.csv'), 'utf8').trim().split('\n').slice(1);
  const rows = lines.map((l) => l.split(',').map(Number));
  const cols = rows[0]?.length ?? 0;
  return Array.from({ length: cols }, (_, c) => {
    const values = rows.map((r) => r[c] as number);
    const mean = values.reduce((a, b) => a + b, 0) / values.length;
    return Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / (values.length - 1));
  });
}

function output(res: HttpResult, name: string): unknown[] {
  const t = (res.body as { outputs?: { name: string; data: unknown[] }[] }).outputs?.find((o) => o.name === name);
  assert.ok(t, `no output ${name}: ${JSON.stringify(res.body)}`);
  return t.data;
}

async function driftStatus(gw: RunningGateway, graph: string): Promise<DriftStatus> {
  const res = await request(gw, 'GET', `/v1/graphs/${graph}/nodes/drift/drift`);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body as DriftStatus;
}

async function waitForWindows(gw: RunningGateway, graph: string, count: number, timeoutMs = 30_000): Promise<DriftStatus> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const status = await driftStatus(gw, graph);
    if (status.windows_completed >= count) return status;
    if (performance.now() > deadline) assert.fail(`drift of ${graph} completed ${status.windows_completed} of ${count} windows in ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const infer = (gw: RunningGateway, graph: string, name: string, rows: number[][]): Promise<HttpResult> =>
  request(gw, 'POST', `/v2/models/${graph}/infer`, { inputs: [{ name, shape: [rows.length, rows[0]?.length ?? 0], datatype: 'FP32', data: rows }] });

/** 50 held-out iris rows: all 38, then the first 12 again. */
const irisWindow = (): number[][] => {
  const rows = golden('iris-logreg').rows;
  return [...rows, ...rows.slice(0, 12)];
};

describe('outlier and drift detectors', () => {
  let gw: RunningGateway;
  before(async () => {
    gw = await startGateway({ GRAPHS_DIR: 'graphs,test/fixtures/graphs' });
  });
  after(async () => {
    await gw?.stop();
  });

  describe('drift (KS per feature, Bonferroni)', () => {
    it('finds no drift in held-out rows, then drift in exactly the feature shifted by two standard deviations', async () => {
      const res = await infer(gw, 'iris-monitored', 'features', irisWindow());
      assert.equal(res.status, 200, JSON.stringify(res.body));
      const first = await waitForWindows(gw, 'iris-monitored', 1);
      assert.equal(first.latest?.is_drift, false, JSON.stringify(first.latest));
      assert.deepEqual(first.latest?.window, { start: 0, end: 50, size: 50, started_at: first.latest?.window.started_at, ended_at: first.latest?.window.ended_at });
      assert.equal(first.latest?.threshold, 0.05 / 4);
      assert.equal(first.latest?.features.length, 4);

      const shift = 2 * (referenceStd('iris-logreg')[2] as number);
      const shifted = irisWindow().map((r) => r.map((v, f) => (f === 2 ? v + shift : v)));
      assert.equal((await infer(gw, 'iris-monitored', 'features', shifted)).status, 200);
      const second = await waitForWindows(gw, 'iris-monitored', 2);
      const latest = second.latest as DriftResult;
      assert.equal(latest.is_drift, true);
      const drifted = latest.p_val.map((p) => p < latest.threshold);
      assert.deepEqual(drifted, [false, false, true, false], `p-values ${latest.p_val.join(', ')}`);
      assert.deepEqual(latest.window, { ...latest.window, start: 50, end: 100, size: 50 });
      assert.equal(second.history.length, 2);
      assert.match(gw.output(), /drift graph=\\"iris-monitored\\" node=\\"drift\\" method=ks window=\[50,100\) size=50 is_drift=true/);
    });

    it('finds no multivariate drift (MMD) in held-out breast-cancer rows, and drift when every feature moves by one standard deviation', async () => {
      const rows = golden('breast-cancer-gb').rows.slice(0, 50);
      assert.equal((await infer(gw, 'breast-cancer-monitored', 'input', rows)).status, 200);
      const first = await waitForWindows(gw, 'breast-cancer-monitored', 1);
      assert.equal(first.latest?.is_drift, false, JSON.stringify(first.latest));
      const std = referenceStd('breast-cancer-gb');
      const shifted = rows.map((r) => r.map((v, f) => v + (std[f] as number)));
      assert.equal((await infer(gw, 'breast-cancer-monitored', 'input', shifted)).status, 200);
      const second = await waitForWindows(gw, 'breast-cancer-monitored', 2);
      assert.equal(second.latest?.is_drift, true, JSON.stringify(second.latest));
    });

    it('answers 404 for a node that is not a drift detector', async () => {
      const res = await request(gw, 'GET', '/v1/graphs/iris-monitored/nodes/outliers/drift');
      assert.equal(res.status, 404);
      assert.match((res.body as { error: string }).error, /graph "iris-monitored" has no drift node "outliers" \(drift nodes: drift\)/);
    });
  });

  describe('outlier', () => {
    it('flags an obvious outlier row and not a normal one, with scores in the response', async () => {
      const normal = golden('iris-logreg').rows[0] as number[];
      const res = await infer(gw, 'iris-monitored', 'features', [normal, [30, 0.1, 25, 9]]);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.deepEqual(output(res, 'is_outlier'), [false, true]);
      const scores = output(res, 'outlier_score') as number[];
      assert.ok((scores[1] as number) > 100 * (scores[0] as number), `scores ${scores.join(', ')}`);
      assert.equal(output(res, 'label').length, 2, 'the model still answers for both rows');
    });

    it('rejects a request holding an outlier with 422 and the scores when action is reject', async () => {
      const rows = golden('breast-cancer-gb').rows.slice(0, 2).map((r) => [...r]);
      (rows[1] as number[])[0] = 1e4;
      const res = await infer(gw, 'slow-drift', 'input', rows);
      assert.equal(res.status, 422, JSON.stringify(res.body));
      const body = res.body as { error: string; is_outlier: boolean[]; outlier_score: number[]; threshold: number };
      assert.match(body.error, /node "guard": 1 of 2 rows are outliers \(score above 50\)/);
      assert.deepEqual(body.is_outlier, [false, true]);
      assert.equal(body.threshold, 50);
      assert.ok((body.outlier_score[1] as number) > 50);
      const ok = await infer(gw, 'slow-drift', 'input', rows.slice(0, 1));
      assert.equal(ok.status, 200);
      assert.equal(output(ok, 'feature_scores').length, 30);
    });
  });

  describe('off the request path', () => {
    it('keeps answering quickly while a slow drift test runs', async () => {
      const rows = golden('breast-cancer-gb').rows;
      // Fills the 100-row window (3 rows above came first), which starts the slow MMD test.
      assert.equal((await infer(gw, 'slow-drift', 'input', rows.slice(0, 99))).status, 200);
      const latencies: number[] = [];
      const burstStarted = performance.now();
      for (let i = 0; i < 20; i++) {
        const started = performance.now();
        const res = await infer(gw, 'slow-drift', 'input', [rows[100 + i] as number[]]);
        latencies.push(performance.now() - started);
        assert.equal(res.status, 200);
      }
      const burstMs = performance.now() - burstStarted;
      const slowest = Math.max(...latencies);
      assert.ok(slowest < 250, `slowest response while drift ran: ${slowest} ms`);
      const done = await waitForWindows(gw, 'slow-drift', 1, 60_000);
      assert.equal(done.latest?.window.size, 100);
      // The test began before the burst and took longer than all of it: they overlapped.
      const computeMs = (done.latest as DriftResult & { compute_ms: number }).compute_ms;
      assert.ok(computeMs > burstMs, `drift test took ${computeMs} ms, the 20 requests ${burstMs} ms`);
    });
  });
});
