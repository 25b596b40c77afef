import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { connect, type Socket } from 'node:net';
import { describe, it } from 'node:test';
import { goldenRows } from '../support/examples';
import { request, startGateway } from '../support/gateway.process';
import { V2GrpcClient } from '../support/grpc-client';

const SLOW_ECHO = '/v2/models/slow-echo/infer';

/** One request on a connection of its own (no agent), as a client reaching the gateway for the first time does. */
function onNewConnection(baseUrl: string, route: string, body?: object): Promise<{ status: number; text: string } | { error: string }> {
  const payload = body === undefined ? '' : JSON.stringify(body);
  const method = body === undefined ? 'GET' : 'POST';
  return new Promise((resolve) => {
    const req = httpRequest(`${baseUrl}${route}`, { method, agent: false, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      res.on('error', (err) => resolve({ error: err.message }));
    });
    req.on('error', (err) => resolve({ error: err.message }));
    req.end(payload);
  });
}

/**
 * Sends a chunked body past the gateway's limit over a raw socket until the answer comes, then stops sending
 * without finishing the body or closing. Resolves with the answer's status line and when the socket closes.
 */
function overLimitThenSilent(port: number): Promise<{ socket: Socket; statusLine: string; closed: Promise<number> }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const closed = new Promise<number>((r) => socket.once('close', () => r(performance.now())));
    let answer = '';
    let answered = false;
    socket.on('error', () => undefined);
    socket.on('data', (chunk: Buffer) => {
      answer += chunk.toString('latin1');
      if (answered || !answer.includes('\r\n\r\n')) return;
      answered = true;
      resolve({ socket, statusLine: answer.slice(0, answer.indexOf('\r\n')), closed });
    });
    socket.once('connect', () => {
      socket.write('POST /v2/models/slow-echo/infer HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n');
      const chunk = `4000\r\n${' '.repeat(0x4000)}\r\n`;
      // One chunk a turn, so the answer is read as soon as it comes (loopback takes megabytes without blocking).
      let sent = 0;
      const more = (): void => {
        if (answered) return;
        if (++sent > 4096) return reject(new Error('64 MiB sent and no answer'));
        if (socket.write(chunk)) setImmediate(more);
        else socket.once('drain', more);
      };
      more();
    });
  });
}

// End to end: a real gateway process stopped with SIGTERM while requests are in flight (a real custom
// module takes 1 s per request). It stops accepting, finishes what it has, and exits. The clients keep their
// connections alive (fetch does), so the exit must not wait for the 72 s keep-alive timeout: a pod has 30 s.

describe('gateway shutdown', () => {
  it('finishes the requests in flight when stopped with SIGTERM, refuses new ones, and exits within seconds of its last answer', async () => {
    const gw = await startGateway({ GRAPHS_DIR: 'test/fixtures/graphs-joins' });
    const body = { inputs: [{ name: 'x', shape: [1, 1], datatype: 'FP32', data: [1] }], parameters: { slow_ms: 1000 } };
    const inFlight = Array.from({ length: 5 }, () => request(gw, 'POST', SLOW_ECHO, body));
    await new Promise((r) => setTimeout(r, 300));
    const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => gw.process.once('exit', (code, signal) => resolve({ code, signal })));
    gw.process.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 100));
    // On a connection of its own: fetch's pool may hold an idle kept-alive one from the start-up polls, whose
    // next request a closing gateway still answers (endConnectionsOnClose's grace), with `Connection: close`.
    const refused = await onNewConnection(gw.baseUrl, '/v2/health/live').then((r) => ('status' in r ? `status ${r.status}` : `refused: ${r.error}`));
    const answers = await Promise.all(inFlight);
    const answeredAt = performance.now();
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
    const exitMs = performance.now() - answeredAt;
    assert.ok(code === 0 || signal === 'SIGTERM', `exit code ${code}, signal ${signal}`);
    assert.ok(exitMs < 5000, `exited ${exitMs} ms after its last answer (the keep-alive timeout is 72 s)`);
  });

  it('with SHUTDOWN_DELAY_MS, reports not ready at SIGTERM yet answers every request on new connections until the delay ends, then closes', async () => {
    const delayMs = 1500;
    const gw = await startGateway({ GRAPHS_DIR: 'test/fixtures/graphs-joins', SHUTDOWN_DELAY_MS: String(delayMs) });
    const body = { inputs: [{ name: 'x', shape: [1, 1], datatype: 'FP32', data: [1] }], parameters: { slow_ms: 5 } };
    const exited = new Promise<number>((resolve) => gw.process.once('exit', () => resolve(performance.now())));
    // A dashboard's live feed is open when the stop begins, and stays open through the delay.
    const live = await fetch(`${gw.baseUrl}/v1/live`);
    assert.equal(live.status, 200);
    const liveEnded = live.text();
    const stoppedAt = performance.now();
    gw.process.kill('SIGTERM');
    // Readiness turns as soon as the signal is handled, naming why; the ports stay open for the delay.
    const readiness = (): Promise<{ status: number; body: unknown }> => fetch(`${gw.baseUrl}/v2/health/ready`).then(async (r) => ({ status: r.status, body: await r.json() }));
    let ready = await readiness();
    while (ready.status === 200 && performance.now() - stoppedAt < 500) ready = await readiness();
    assert.equal(ready.status, 503, `still ready ${performance.now() - stoppedAt} ms after SIGTERM: ${JSON.stringify(ready.body)}`);
    assert.deepEqual(ready.body, { ready: false, missing: ['stopping (SIGTERM)'] });
    // A load balancer that has not yet noticed keeps opening connections: each is answered.
    const results: ({ status: number; text: string } | { error: string })[] = [];
    while (performance.now() - stoppedAt < delayMs - 400) {
      results.push(await onNewConnection(gw.baseUrl, SLOW_ECHO, body));
      await new Promise((r) => setTimeout(r, 20));
    }
    const failed = results.filter((r) => !('status' in r) || r.status !== 200);
    assert.ok(results.length >= 20, `only ${results.length} requests were sent during the delay`);
    assert.deepEqual(failed, [], `${failed.length} of ${results.length} requests during the delay failed`);
    for (const r of results) if ('text' in r) assert.deepEqual((JSON.parse(r.text) as { outputs: { data: number[] }[] }).outputs[0]?.data, [11]);
    // After the delay the live feed ends (an open stream would hold the closing server), the ports close and
    // the process leaves.
    assert.match(await liveEnded, /event: stats/);
    const exitedAt = await exited;
    assert.ok(exitedAt - stoppedAt >= delayMs, `exited ${exitedAt - stoppedAt} ms after SIGTERM, before the ${delayMs} ms delay`);
    assert.ok(exitedAt - stoppedAt < delayMs + 5000, `exited ${exitedAt - stoppedAt} ms after SIGTERM`);
    const after = await onNewConnection(gw.baseUrl, SLOW_ECHO, body);
    assert.ok('error' in after, `a connection after the exit was answered: ${JSON.stringify(after)}`);
    assert.match(gw.output(), /not ready from now on; still serving for 1500 ms \(SHUTDOWN_DELAY_MS\)/);
  });

  it('finishes V2 gRPC calls in flight when stopped with SIGTERM, as it does REST requests', async () => {
    const gw = await startGateway({ GRAPHS_DIR: 'test/fixtures/graphs-joins' });
    const client = new V2GrpcClient(gw.grpcAddress);
    try {
      const raw = Buffer.alloc(4);
      raw.writeFloatLE(1);
      const call = (): Promise<{ raw_output_contents: Buffer[] }> =>
        client.call('ModelInfer', { model_name: 'slow-echo', inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 1] }], raw_input_contents: [raw], parameters: { slow_ms: { string_param: '1000' } } });
      const inFlight = Array.from({ length: 3 }, () => call().then((r) => r.raw_output_contents[0]?.readFloatLE(0), (err: Error) => err.message));
      await new Promise((r) => setTimeout(r, 300));
      const exited = new Promise<void>((resolve) => gw.process.once('exit', () => resolve()));
      gw.process.kill('SIGTERM');
      assert.deepEqual(await Promise.all(inFlight), [11, 11, 11]);
      await exited;
    } finally {
      client.close();
      await gw.stop();
    }
  });

  it('stopped with SIGTERM under constant load on a model held by its model thread, answers every request it took and exits within seconds', async () => {
    // The 4.5 MB digits MLP: with the default MODEL_THREADS=auto its session lives in the gateway's model thread.
    const gw = await startGateway({ GRAPHS_DIR: 'test/fixtures/graphs' });
    try {
      const metrics = (await request(gw, 'GET', '/metrics')).raw.toString('utf8');
      assert.match(metrics, /^infergraph_model_thread_sessions\{[^}]*\} 1$/m, 'the digits session is in the model thread');
      const pixels = goldenRows('digits-mlp')[0] as number[];
      const body = JSON.stringify({ inputs: [{ name: 'pixels', shape: [1, 64], datatype: 'FP32', data: pixels }] });
      const statuses = new Map<number, number>();
      let refusedAfterStop = 0;
      let stopping = false;
      // Eight clients, each sending its next request as soon as the last is answered, until the gateway refuses.
      const client = async (): Promise<void> => {
        for (;;) {
          try {
            const res = await fetch(`${gw.baseUrl}/v2/models/digits/infer`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
            await res.arrayBuffer();
            statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
          } catch (err) {
            if (!stopping) throw err;
            refusedAfterStop++;
            return;
          }
        }
      };
      const clients = Array.from({ length: 8 }, client);
      await new Promise((r) => setTimeout(r, 1500));
      const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => gw.process.once('exit', (code, signal) => resolve({ code, signal })));
      stopping = true;
      const stoppedAt = performance.now();
      gw.process.kill('SIGTERM');
      await Promise.all(clients);
      const { code, signal } = await exited;
      const exitMs = performance.now() - stoppedAt;
      assert.deepEqual([...statuses.keys()], [200], `every request the gateway took was answered 200: ${JSON.stringify([...statuses])}`);
      assert.ok((statuses.get(200) ?? 0) > 100, `answered under load: ${statuses.get(200)}`);
      assert.equal(refusedAfterStop, 8, 'each client stops at a refused new connection, after SIGTERM only');
      assert.ok(code === 0 || signal === 'SIGTERM', `exit code ${code}, signal ${signal}`);
      assert.ok(exitMs < 5000, `exited ${exitMs} ms after SIGTERM; the model thread must not hold the process`);
      assert.doesNotMatch(gw.output(), /model thread \d+ (failed|exited)/, 'the model thread ended with the process, not before it');
    } finally {
      await gw.stop();
    }
  });

  it('closes the connection of a client that got a 413 mid-body and then went silent, after BODY_TIMEOUT_MS, and keeps one that finishes its body', async () => {
    const gw = await startGateway({ GRAPHS_DIR: 'test/fixtures/graphs-joins', BODY_LIMIT_BYTES: '65536', BODY_TIMEOUT_MS: '1000' });
    try {
      const port = Number(new URL(gw.baseUrl).port);
      const silent = await overLimitThenSilent(port);
      assert.equal(silent.statusLine, 'HTTP/1.1 413 Payload Too Large');
      const answeredAt = performance.now();
      const closedAfterMs = (await silent.closed) - answeredAt;
      assert.ok(closedAfterMs >= 800 && closedAfterMs < 4000, `closed ${closedAfterMs} ms after the 413 (BODY_TIMEOUT_MS is 1000)`);
      // A client that sends the rest of its body keeps its connection: the next request on it is served.
      const polite = await overLimitThenSilent(port);
      assert.equal(polite.statusLine, 'HTTP/1.1 413 Payload Too Large');
      const next = JSON.stringify({ inputs: [{ name: 'x', shape: [1, 1], datatype: 'FP32', data: [1] }] });
      const second = new Promise<string>((resolve) => {
        let text = '';
        polite.socket.removeAllListeners('data');
        polite.socket.on('data', (chunk: Buffer) => {
          text += chunk.toString('latin1');
          if (text.includes('"outputs"')) resolve(text);
        });
      });
      polite.socket.write(`0\r\n\r\nPOST /v2/models/slow-echo/infer HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${next.length}\r\n\r\n${next}`);
      assert.match(await second, /^HTTP\/1\.1 200 OK/);
      polite.socket.destroy();
    } finally {
      await gw.stop();
    }
  });

  it('does not let a client that got a 413 mid-body and then went silent hold a gateway stopped with SIGTERM', async () => {
    // BODY_TIMEOUT_MS stays at its 10 s default: the stop itself must end the connection.
    const gw = await startGateway({ GRAPHS_DIR: 'test/fixtures/graphs-joins', BODY_LIMIT_BYTES: '65536' });
    try {
      const silent = await overLimitThenSilent(Number(new URL(gw.baseUrl).port));
      assert.equal(silent.statusLine, 'HTTP/1.1 413 Payload Too Large');
      const exited = new Promise<number>((resolve) => gw.process.once('exit', () => resolve(performance.now())));
      const stoppedAt = performance.now();
      gw.process.kill('SIGTERM');
      const exitMs = (await Promise.race([exited, new Promise<number>((r) => setTimeout(() => r(Infinity), 8000))])) - stoppedAt;
      assert.ok(exitMs < 4000, `exited ${exitMs} ms after SIGTERM (REQUEST_TIMEOUT_MS is 120 s)`);
      assert.ok((await silent.closed) - stoppedAt < 4000);
    } finally {
      await gw.stop();
    }
  });
});
