import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { request, startGateway, type RunningGateway } from '../support/gateway.process';

// Real gateway processes with LOG_FORMAT=json; asserts the request and node log lines they print.

const ROW = { name: 'features', shape: [1, 4], datatype: 'FP32', data: [5.123, 3.517, 1.419, 0.217] };

type Line = Record<string, unknown>;

function lines(gw: RunningGateway): Line[] {
  return gw
    .output()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Line);
}

async function until(gw: RunningGateway, test: (ls: Line[]) => boolean): Promise<Line[]> {
  const deadline = performance.now() + 5000;
  for (;;) {
    const ls = lines(gw);
    if (test(ls)) return ls;
    if (performance.now() > deadline) assert.fail(`log lines never matched:\n${gw.output().slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('structured request logs', () => {
  let verbose: RunningGateway;
  let quiet: RunningGateway;
  let payloads: RunningGateway;

  before(async () => {
    [verbose, quiet, payloads] = await Promise.all([
      startGateway({ GRAPHS_DIR: 'graphs', KAFKA_BROKERS: '', LOG_LEVEL: 'verbose' }),
      startGateway({ GRAPHS_DIR: 'graphs', KAFKA_BROKERS: '' }),
      startGateway({ GRAPHS_DIR: 'graphs', KAFKA_BROKERS: '', LOG_LEVEL: 'debug', LOG_PAYLOADS: 'true' }),
    ]);
  });
  after(async () => {
    await Promise.all([verbose?.stop(), quiet?.stop(), payloads?.stop()]);
  });

  it('logs each request with its id, graph, route and duration, and each node call at verbose, without tensors', async () => {
    const res = await request(verbose, 'POST', '/v2/models/iris-ab/infer', { inputs: [ROW] }, { 'x-request-id': 'log-req-1', 'x-user-id': 'u-7' });
    assert.equal(res.status, 200);
    const ls = await until(verbose, (l) => l.some((x) => x['context'] === 'request' && x['requestId'] === 'log-req-1'));
    const req = ls.find((x) => x['context'] === 'request' && x['requestId'] === 'log-req-1') as Line;
    assert.equal(req['level'], 'debug');
    assert.equal(req['component'], 'gateway');
    assert.equal(req['graph'], 'iris-ab');
    assert.equal(req['code'], 'OK');
    assert.match(String(req['route']), /^split=(logreg|forest|mlp)$/);
    assert.ok(typeof req['durationMs'] === 'number' && req['durationMs'] > 0);
    const nodes = ls.filter((x) => x['context'] === 'node' && x['requestId'] === 'log-req-1');
    assert.ok(nodes.some((n) => n['node'] === 'split' && n['route'] === String(req['route']).split('=')[1]), JSON.stringify(nodes));
    assert.ok(nodes.every((n) => n['graph'] === 'iris-ab' && typeof n['durationMs'] === 'number' && n['status'] === 'ok'));
    // The input's first value as JSON gives it (5.123) or as a Float32Array prints it (5.1229999…), not preceded by a
    // digit or a colon: "…:15.123Z" in a timestamp and "durationMs":5.123 are not tensor values.
    assert.doesNotMatch(verbose.output(), /(?<![\d:])5\.123|5\.12299|u-7/, 'no tensor values or header values in logs');
  });

  it('logs failures at the default level and successes only from debug', async () => {
    assert.equal((await request(quiet, 'POST', '/v2/models/iris/infer', { inputs: [ROW] }, { 'x-request-id': 'ok-1' })).status, 200);
    assert.equal((await request(quiet, 'POST', '/v2/models/iris/infer', { inputs: [{ ...ROW, shape: [1, 3], data: [1, 2, 3] }] }, { 'x-request-id': 'bad-1' })).status, 400);
    const ls = await until(quiet, (l) => l.some((x) => x['requestId'] === 'bad-1'));
    const bad = ls.find((x) => x['requestId'] === 'bad-1') as Line;
    assert.equal(bad['level'], 'info');
    assert.equal(bad['code'], 'INVALID_ARGUMENT');
    assert.match(String(bad['msg']), /graph "iris" failed: .*features/);
    assert.equal(ls.filter((x) => x['requestId'] === 'ok-1').length, 0);
  });

  it('adds request and response tensors only with LOG_PAYLOADS=true', async () => {
    assert.equal((await request(payloads, 'POST', '/v2/models/iris/infer', { inputs: [ROW] }, { 'x-request-id': 'pay-1' })).status, 200);
    const ls = await until(payloads, (l) => l.some((x) => x['requestId'] === 'pay-1'));
    const payload = (ls.find((x) => x['requestId'] === 'pay-1') as Line)['payload'] as { inputs: { name: string; data: number[] }[]; outputs: { name: string; data: unknown[] }[] };
    assert.equal(payload.inputs[0]?.name, 'features');
    assert.equal(payload.inputs[0]?.data.length, 4);
    assert.ok(Math.abs((payload.inputs[0]?.data[0] ?? 0) - 5.123) < 1e-5);
    assert.deepEqual(payload.outputs.find((o) => o.name === 'species')?.data, ['setosa']);
  });
});
