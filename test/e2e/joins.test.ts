import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { request, startGateway, type HttpResult, type RunningGateway } from '../support/gateway.process';

// End to end: join timing in the real gateway process over real HTTP, with real custom modules loaded
// from disk. Each graph joins a fast branch, a branch that sleeps 2 s (and stops when the request ends)
// and a branch that throws, under a 1 s graph deadline. Every assertion is about order: what had
// happened when the answer came (read from /metrics), never about elapsed time.

interface Body {
  outputs?: { name: string; data: number[] }[];
  error?: string;
}

/** Calls of one node by status, from the gateway's infergraph_node_calls_total. */
async function nodeCalls(gw: RunningGateway, graph: string, node: string): Promise<Record<string, number>> {
  const text = (await request(gw, 'GET', '/metrics')).raw.toString();
  const calls: Record<string, number> = {};
  for (const line of text.split('\n')) {
    if (!line.startsWith('infergraph_node_calls_total{') || !line.includes(`graph="${graph}"`) || !line.includes(`node="${node}"`)) continue;
    const status = /status="([a-z]+)"/.exec(line)?.[1];
    if (status !== undefined) calls[status] = Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return calls;
}

async function until<T>(what: string, read: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 10_000): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (ok(value)) return value;
    if (performance.now() > deadline) throw new Error(`${what}: still ${JSON.stringify(value)} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const infer = (gw: RunningGateway, graph: string): Promise<HttpResult> =>
  request(gw, 'POST', `/v2/models/${graph}/infer`, { inputs: [{ name: 'x', shape: [1, 1], datatype: 'FP32', data: [1] }] });

describe('joins answer when their policy is met', () => {
  let gw: RunningGateway;
  before(async () => {
    gw = await startGateway({ GRAPHS_DIR: 'test/fixtures/graphs-joins' });
  });
  after(async () => {
    await gw?.stop();
  });

  const cases = [
    { join: 'any', status: 200, value: [2], why: 'the first branch to succeed' },
    { join: 'outer', status: 200, value: [2], why: 'what succeeded within its window' },
  ];
  for (const c of cases) {
    it(`answers an "${c.join}" join with ${c.why} before the slow branch ends, within a deadline shorter than that branch`, async () => {
      const graph = `join-slow-${c.join}`;
      const res = await infer(gw, graph);
      const slowAtAnswer = await nodeCalls(gw, graph, 'slow');
      assert.equal(res.status, c.status, JSON.stringify(res.body));
      assert.deepEqual((res.body as Body).outputs?.[0]?.data, c.value);
      assert.equal(slowAtAnswer['ok'], undefined, 'the slow branch had not finished its work when the graph answered');
      // The request's end stopped the slow branch (it would otherwise end "ok" after 2 s); its late error
      // is "cancelled", never an error of the request.
      const slow = await until(`${graph} slow branch`, () => nodeCalls(gw, graph, 'slow'), (v) => Object.keys(v).length > 0);
      assert.deepEqual(slow, { cancelled: 1 });
      assert.deepEqual(await nodeCalls(gw, graph, 'broken'), { error: 1 });
    });
  }

  it('fails an "inner" join with onError fail when a branch throws, before the slow branch ends', async () => {
    const res = await infer(gw, 'join-slow-inner');
    const slowAtAnswer = await nodeCalls(gw, 'join-slow-inner', 'slow');
    assert.equal(res.status, 500);
    assert.match((res.body as Body).error ?? '', /node "broken": custom transformer threw: broken branch failed on purpose/);
    assert.equal(slowAtAnswer['ok'], undefined, 'the slow branch had not finished its work when the request failed');
    assert.deepEqual(await until('inner slow branch', () => nodeCalls(gw, 'join-slow-inner', 'slow'), (v) => Object.keys(v).length > 0), { cancelled: 1 });
  });

  it('logs no late branch failure as a server error', async () => {
    // Give every stopped branch of the tests above time to report, then read the log.
    await until('every slow branch reported', async () => Promise.all(['any', 'outer', 'inner'].map((j) => nodeCalls(gw, `join-slow-${j}`, 'slow'))), (all) => all.every((v) => v['cancelled'] === 1));
    const lines = gw.output().split('\n').filter((l) => l.startsWith('{'));
    const late = lines.filter((l) => l.includes('slow branch stopped') || l.includes('node "slow"'));
    assert.deepEqual(late, [], 'a cancelled branch is not logged');
    // The only server error is the inner join's own failure, which its caller got as a 500.
    const serverErrors = lines.map((l) => JSON.parse(l) as { level?: string; msg?: string }).filter((l) => l.level === 'error');
    assert.deepEqual(
      serverErrors.map((l) => l.msg),
      ['POST /v2/models/join-slow-inner/infer -> 500: graph "join-slow-inner" node "broken": custom transformer threw: broken branch failed on purpose'],
    );
    // The gateway still serves.
    assert.equal((await infer(gw, 'join-slow-any')).status, 200);
  });
});
