import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { repoPath } from '../support/repo';
import { request, startGateway, type HttpResult, type RunningGateway } from '../support/gateway.process';

// End to end: routers, combiners and transformers in the real gateway process over real HTTP, with
// real onnxruntime sessions on the committed models and real custom modules loaded from disk.

interface Tensor {
  name: string;
  datatype: string;
  shape: number[];
  data: unknown[];
}
interface Body {
  id: string;
  parameters?: { route?: string };
  outputs: Tensor[];
  error?: string;
}
interface Golden {
  rows: number[][];
  labels: number[];
  probabilities: number[][];
}

const golden = (name: string): Golden => JSON.parse(readFileSync(repoPath('models', name, '1', 'golden.json'), 'utf8')) as Golden;
const SETOSA = [5.1, 3.5, 1.4, 0.2];

function out(res: HttpResult, name: string): Tensor {
  const t = (res.body as Body).outputs?.find((o) => o.name === name);
  assert.ok(t, `no output "${name}" in ${JSON.stringify(res.body)}`);
  return t;
}

function infer(gw: RunningGateway, graph: string, body: object, headers: Record<string, string> = {}): Promise<HttpResult> {
  return request(gw, 'POST', `/v2/models/${graph}/infer`, body, headers);
}

const features = (rows: number[][], name = 'features'): object => ({
  inputs: [{ name, shape: [rows.length, 4], datatype: 'FP32', data: rows }],
});

/** Runs `count` requests with at most `concurrency` in flight. */
async function pool<T>(count: number, concurrency: number, task: (i: number) => Promise<T>): Promise<T[]> {
  const results: T[] = new Array<T>(count);
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const i = next++;
        results[i] = await task(i);
      }
    }),
  );
  return results;
}

const GRAPHS = { GRAPHS_DIR: 'graphs,test/fixtures/graphs' };

describe('routers, combiners and transformers', () => {
  let gw: RunningGateway;
  before(async () => {
    gw = await startGateway(GRAPHS);
  });
  after(async () => {
    await gw?.stop();
  });

  describe('router', () => {
    it('splits traffic by weight: 3,000 requests land within 3 points of 90/10', async () => {
      const routes = await pool(3000, 16, async () => {
        const res = await infer(gw, 'iris-ab', features([SETOSA]));
        assert.equal(res.status, 200);
        const route = res.headers.get('x-infergraph-route');
        assert.equal((res.body as Body).parameters?.route, route);
        return route;
      });
      const logreg = routes.filter((r) => r === 'split=logreg').length / routes.length;
      const forest = routes.filter((r) => r === 'split=forest').length / routes.length;
      assert.equal(logreg + forest, 1, `unexpected routes: ${[...new Set(routes)].join(', ')}`);
      assert.ok(Math.abs(logreg - 0.9) <= 0.03, `logreg share ${logreg}`);
      assert.ok(Math.abs(forest - 0.1) <= 0.03, `forest share ${forest}`);
    });

    it('answers from the arm that ran, with the species name as BYTES', async () => {
      const g = golden('iris-logreg');
      const res = await infer(gw, 'iris-ab', features(g.rows));
      const species = out(res, 'species');
      assert.equal(species.datatype, 'BYTES');
      const names = ['setosa', 'versicolor', 'virginica'];
      const labels = out(res, 'label').data as number[];
      assert.deepEqual(species.data, labels.map((l) => names[l]));
      const arm = res.headers.get('x-infergraph-route') === 'split=logreg' ? 'iris-logreg' : 'iris-rf';
      assert.deepEqual(labels, golden(arm).labels);
    });

    it('sends requests with the same user key to the same arm', async () => {
      const users = Array.from({ length: 20 }, (_, i) => `user-${i}`);
      const seen = new Map<string, Set<string>>();
      await pool(200, 8, async (i) => {
        const user = users[i % users.length] as string;
        const res = await infer(gw, 'iris-ab', features([SETOSA]), { 'x-user-id': user });
        const route = res.headers.get('x-infergraph-route') ?? '';
        seen.set(user, (seen.get(user) ?? new Set()).add(route));
      });
      for (const [user, routes] of seen) assert.equal(routes.size, 1, `${user} took ${[...routes].join(' and ')}`);
      stickyBefore = new Map([...seen].map(([u, r]) => [u, [...r][0] as string]));
    });

    it('routes by request parameters and headers (conditional)', async () => {
      const route = async (params: object, headers: Record<string, string> = {}): Promise<string | null> =>
        (await infer(gw, 'iris-conditional', { ...features([SETOSA]), parameters: params }, headers)).headers.get('x-infergraph-route');
      assert.equal(await route({ model: 'forest' }), 'pick=forest');
      assert.equal(await route({}, { 'x-beta': 'true' }), 'pick=mlp');
      assert.equal(await route({ model: 'mlp' }), 'pick=mlp');
      assert.equal(await route({ model: 'something-else' }), 'pick=logreg');
      const forest = await infer(gw, 'iris-conditional', { ...features(golden('iris-rf').rows), parameters: { model: 'forest' } });
      assert.deepEqual(out(forest, 'label').data, golden('iris-rf').labels);
    });

    it('keeps the caller unaffected when the shadow branch is slow and throws, and records the failure', async () => {
      const before = await shadowStats(gw, 'shadow-throws');
      const started = performance.now();
      const res = await infer(gw, 'shadow-throws', features([SETOSA], 'input'));
      const elapsed = performance.now() - started;
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.deepEqual(out(res, 'label').data, [0]);
      // The shadow sleeps 1.5 s before throwing; the answer must not wait for it.
      assert.ok(elapsed < 1000, `caller waited ${elapsed} ms`);
      const direct = await infer(gw, 'iris', features([SETOSA]));
      assert.deepEqual(out(res, 'probabilities').data, out(direct, 'probabilities').data);
      await new Promise((r) => setTimeout(r, 1800));
      const afterStats = await shadowStats(gw, 'shadow-throws');
      assert.equal(afterStats.failed, before.failed + 1);
      assert.match(afterStats.lastError ?? '', /shadow branch exploded/);
      assert.match(gw.output(), /shadow node \\"doomed\\" failed for request/);
    });
  });

  describe('combiner', () => {
    it('soft vote equals the average of the three models probabilities computed here', async () => {
      const lr = golden('iris-logreg');
      const rf = golden('iris-rf');
      const mlp = golden('iris-mlp');
      const res = await infer(gw, 'iris-ensemble', features(lr.rows));
      assert.equal(res.status, 200, JSON.stringify(res.body));
      const probs = out(res, 'probabilities').data as number[];
      const labels = out(res, 'label').data as number[];
      lr.rows.forEach((_, r) => {
        const avg = [0, 1, 2].map((c) => (((lr.probabilities[r] as number[])[c] as number) + ((rf.probabilities[r] as number[])[c] as number) + ((mlp.probabilities[r] as number[])[c] as number)) / 3);
        avg.forEach((p, c) => assert.ok(Math.abs(p - (probs[r * 3 + c] as number)) <= 1e-5, `row ${r} class ${c}: ${p} vs ${probs[r * 3 + c]}`));
        assert.equal(labels[r], avg.indexOf(Math.max(...avg)));
      });
    });

    const x = (value: number, params: object = {}): object => ({ inputs: [{ name: 'x', shape: [1, 1], datatype: 'FP32', data: [value] }], parameters: params });
    const joined = async (graph: string, params: object): Promise<HttpResult> => infer(gw, graph, x(1, params));

    it('inner join waits for every branch, even a slow one', async () => {
      const res = await joined('join-inner-skip', { b_delay_ms: 150 });
      assert.deepEqual(out(res, 'value').data, [2, 11, 101]);
    });

    it('inner join with onError skip leaves out a failed branch and a branch that timed out', async () => {
      assert.deepEqual(out(await joined('join-inner-skip', { c_fail: true }), 'value').data, [2, 11]);
      assert.deepEqual(out(await joined('join-inner-skip', { b_delay_ms: 1000 }), 'value').data, [2, 101]);
    });

    it('inner join with onError fail fails the request, naming the branch', async () => {
      const failed = await joined('join-inner-fail', { c_fail: true });
      assert.equal(failed.status, 500);
      assert.match((failed.body as Body).error ?? '', /graph "join-inner-fail" node "c": custom transformer threw: branch c failed on purpose/);
      const timedOut = await joined('join-inner-fail', { a_delay_ms: 1000 });
      assert.equal(timedOut.status, 504);
      assert.match((timedOut.body as Body).error ?? '', /node "a" did not finish within its timeoutMs \(400 ms\)/);
    });

    it('any join answers with the first branch to arrive', async () => {
      const res = await joined('join-any', { a_delay_ms: 200, c_delay_ms: 300 });
      assert.deepEqual(out(res, 'value').data, [11]);
      assert.deepEqual(out(await joined('join-any', { b_delay_ms: 200, c_delay_ms: 300 }), 'value').data, [2]);
    });

    it('outer join takes what arrived within joinWindowMs of the first branch', async () => {
      const res = await joined('join-outer', { b_delay_ms: 40, c_delay_ms: 350 });
      assert.deepEqual(out(res, 'value').data, [2, 11]);
      assert.deepEqual(out(await joined('join-outer', {}), 'value').data, [2, 11, 101]);
    });
  });

  describe('transformer', () => {
    it('computes every built-in op as worked out by hand', async () => {
      const res = await infer(gw, 'ops', {
        inputs: [
          { name: 'x', shape: [2, 3], datatype: 'FP32', data: [[1, 2, 3], [-1, 0, 12]] },
          { name: 'cls', shape: [2], datatype: 'INT64', data: [2, 0] },
        ],
      });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      const close = (name: string, expected: number[], shape: number[]): void => {
        const t = out(res, name);
        assert.deepEqual(t.shape, shape, name);
        expected.forEach((e, i) => assert.ok(Math.abs((t.data[i] as number) - e) < 1e-5, `${name}[${i}]: ${String(t.data[i])} vs ${e}`));
      };
      close('clipped', [1, 2, 3, 0, 0, 10], [2, 3]);
      close('logged', [Math.log(2), Math.log(3), Math.log(4), 0, 0, Math.log(11)], [2, 3]);
      close('scaled', [0, 0, 0, -1, -1, 4.5], [2, 3]);
      close('unit', [0.25, 0.5, 0.75, -0.25, 0, 3], [2, 3]);
      close('soft', [0.09003057, 0.24472847, 0.66524096, 2.2603e-6, 6.1442e-6, 0.99999161], [2, 3]);
      assert.deepEqual(out(res, 'best').data, [2, 2]);
      close('top_values', [3, 2, 12, 0], [2, 2]);
      assert.deepEqual(out(res, 'top_indices').data, [2, 1, 2, 1]);
      close('onehot', [0, 0, 1, 1, 0, 0], [2, 3]);
      const species = out(res, 'species');
      assert.equal(species.datatype, 'BYTES');
      assert.deepEqual(species.data, ['virginica', 'setosa']);
      close('left', [1, 2, -1, 0], [2, 2]);
      close('right', [3, 0.25, 0.5, 0.75, 12, -0.25, 0, 3], [2, 4]);
      assert.equal(out(res, 'cls64').datatype, 'FP64');
      close('flat', [1, 2, 3, -1, 0, 12], [6]);
      assert.deepEqual((res.body as Body).outputs.map((o) => o.name).sort(), ['best', 'clipped', 'cls64', 'flat', 'left', 'logged', 'onehot', 'right', 'scaled', 'soft', 'species', 'top_indices', 'top_values', 'unit']);
    });

    it('runs a TypeScript custom transformer with request parameters', async () => {
      const res = await infer(gw, 'iris-custom', { ...features([SETOSA, [6.0, 2.7, 5.1, 1.6]]), parameters: { min_confidence: 0.9 } });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      const confidence = out(res, 'confidence').data as number[];
      const uncertain = out(res, 'uncertain').data as boolean[];
      assert.equal(out(res, 'uncertain').datatype, 'BOOL');
      assert.deepEqual(uncertain, confidence.map((c) => c < 0.9));
    });

    it('reports a custom module that rejects (400) or crashes (500), naming graph and node, and keeps serving', async () => {
      const body = (params: object): object => ({ inputs: [{ name: 'x', shape: [1, 2], datatype: 'FP32', data: [1, 2] }], parameters: params });
      const rejected = await infer(gw, 'custom-errors', body({ reject: true }));
      assert.equal(rejected.status, 400);
      assert.equal((rejected.body as Body).error, 'graph "custom-errors" node "picky": picky refuses this request');
      const crashed = await infer(gw, 'custom-errors', body({ crash: true }));
      assert.equal(crashed.status, 500);
      assert.equal((crashed.body as Body).error, 'graph "custom-errors" node "picky": custom transformer threw: picky crashed');
      assert.deepEqual(out(await infer(gw, 'custom-errors', body({})), 'x').data, [1, 2]);
    });
  });
});

let stickyBefore = new Map<string, string>();

describe('sticky routing across a gateway restart', () => {
  it('sends every user key to the arm it had before the restart', async () => {
    assert.ok(stickyBefore.size > 0, 'the sticky test above must run first');
    const gw = await startGateway(GRAPHS);
    try {
      for (const [user, route] of stickyBefore) {
        const res = await infer(gw, 'iris-ab', features([SETOSA]), { 'x-user-id': user });
        assert.equal(res.headers.get('x-infergraph-route'), route, user);
      }
    } finally {
      await gw.stop();
    }
  });
});

async function shadowStats(gw: RunningGateway, graph: string): Promise<{ ok: number; failed: number; lastError?: string }> {
  const { graphs } = (await request(gw, 'GET', '/v1/graphs')).body as { graphs: { name: string; shadow: { ok: number; failed: number; lastError?: string } }[] };
  const entry = graphs.find((g) => g.name === graph);
  assert.ok(entry, `graph ${graph} not listed`);
  return entry.shadow;
}
