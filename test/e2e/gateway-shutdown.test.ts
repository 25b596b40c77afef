import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { request, startGateway } from '../support/gateway.process';

// End to end: a real gateway process stopped with SIGTERM while requests are in flight (a real custom
// module takes 1 s per request). It stops accepting, finishes what it has, and exits. The clients keep their
// connections alive (fetch does), so the exit must not wait for the 72 s keep-alive timeout: a pod has 30 s.

describe('gateway shutdown', () => {
  it('finishes the requests in flight when stopped with SIGTERM, refuses new ones, and exits within seconds of its last answer', async () => {
    const gw = await startGateway({ GRAPHS_DIR: 'test/fixtures/graphs-joins' });
    const body = { inputs: [{ name: 'x', shape: [1, 1], datatype: 'FP32', data: [1] }], parameters: { slow_ms: 1000 } };
    const inFlight = Array.from({ length: 5 }, () => request(gw, 'POST', '/v2/models/slow-echo/infer', body));
    await new Promise((r) => setTimeout(r, 300));
    const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => gw.process.once('exit', (code, signal) => resolve({ code, signal })));
    gw.process.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 100));
    const refused = await fetch(`${gw.baseUrl}/v2/health/live`).then(
      (r) => `status ${r.status}`,
      (err: unknown) => `refused: ${err instanceof Error ? err.message : String(err)}`,
    );
    const answers = await Promise.all(inFlight);
    const answeredAt = Date.now();
    assert.deepEqual(
      answers.map((a) => a.status),
      [200, 200, 200, 200, 200],
      JSON.stringify(answers.map((a) => a.body)),
    );
    assert.deepEqual(answers.map((a) => (a.body as { outputs: { data: number[] }[] }).outputs[0]?.data), [[11], [11], [11], [11], [11]]);
    assert.match(refused, /^refused/, 'a new connection after SIGTERM is not accepted');
    assert.deepEqual(
      answers.map((a) => a.headers.get('connection')),
      ['close', 'close', 'close', 'close', 'close'],
      'the answers given while stopping end their kept-alive connections',
    );
    const { code, signal } = await exited;
    const exitMs = Date.now() - answeredAt;
    assert.ok(code === 0 || signal === 'SIGTERM', `exit code ${code}, signal ${signal}`);
    assert.ok(exitMs < 5000, `exited ${exitMs} ms after its last answer (the keep-alive timeout is 72 s)`);
  });
});
