import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { ServiceError } from '@grpc/grpc-js';
import { V2GrpcClient } from '../support/grpc-client';
import { request, startGateway, type RunningGateway } from '../support/gateway.process';

// End to end: a real gateway process over loopback under hostile or excessive clients: a body that stalls,
// more requests than it may hold in flight, a thousand connections that never finish their headers. Every
// assertion is about what the gateway answers and in which order, not about how fast.

const slowBody = { inputs: [{ name: 'x', shape: [1, 1], datatype: 'FP32', data: [1] }], parameters: { slow_ms: 1500 } };

function openSocket(url: URL): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(Number(url.port), url.hostname, () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Everything the server sends on a raw socket until it closes it (or `timeoutMs`). */
function readUntilClosed(socket: Socket, timeoutMs: number): Promise<{ text: string; closed: boolean }> {
  return new Promise((resolve) => {
    let text = '';
    const timer = setTimeout(() => resolve({ text, closed: false }), timeoutMs);
    socket.on('data', (b: Buffer) => (text += b.toString()));
    socket.once('close', () => {
      clearTimeout(timer);
      resolve({ text, closed: true });
    });
  });
}

describe('gateway HTTP protection', () => {
  let gw: RunningGateway;
  before(async () => {
    gw = await startGateway({ GRAPHS_DIR: 'test/fixtures/graphs-joins', MAX_IN_FLIGHT: '2', BODY_TIMEOUT_MS: '500', HEADERS_TIMEOUT_MS: '5000' });
  });
  after(async () => {
    await gw?.stop();
  });

  it('answers 408 to a body that stalls and closes its connection, then keeps serving', async () => {
    const url = new URL(gw.baseUrl);
    const socket = await openSocket(url);
    const answer = readUntilClosed(socket, 10_000);
    socket.write(`POST /v2/models/slow-echo/infer HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n{"inputs": [`);
    const { text, closed } = await answer;
    assert.match(text, /^HTTP\/1\.1 408 /);
    assert.match(text, /request body stalled: no data for 500 ms after 12 bytes \(BODY_TIMEOUT_MS\)/);
    assert.equal(closed, true, 'the stalled connection is closed');
    const ok = await request(gw, 'POST', '/v2/models/slow-echo/infer', { ...slowBody, parameters: { slow_ms: 1 } });
    assert.equal(ok.status, 200);
  });

  it('sheds requests above MAX_IN_FLIGHT at once with 503 and Retry-After, while liveness still answers', async () => {
    const order: string[] = [];
    const slow = [0, 1].map(async (i) => {
      const res = await request(gw, 'POST', '/v2/models/slow-echo/infer', slowBody);
      order.push(`slow${i}:${res.status}`);
      return res;
    });
    await new Promise((r) => setTimeout(r, 200));
    const shed = await Promise.all(
      [0, 1, 2].map(async (i) => {
        const res = await request(gw, 'POST', '/v2/models/slow-echo/infer', slowBody);
        order.push(`shed${i}:${res.status}`);
        return res;
      }),
    );
    const live = await request(gw, 'GET', '/v2/health/live');
    order.push(`live:${live.status}`);
    await Promise.all(slow);
    assert.deepEqual(order.slice(0, 4).map((o) => o.split(':')[1]), ['503', '503', '503', '200'], `shed and live answered before the slow ones: ${order.join(' ')}`);
    for (const res of shed) {
      assert.equal(res.headers.get('retry-after'), '1');
      assert.match((res.body as { error: string }).error, /the gateway has 2 requests in flight \(MAX_IN_FLIGHT 2\); retry later/);
    }
    assert.deepEqual(order.slice(4).sort(), ['slow0:200', 'slow1:200']);
  });

  it('counts V2 gRPC calls against the same MAX_IN_FLIGHT: a gRPC call is refused with UNAVAILABLE while REST holds the slots, and the reverse', async () => {
    const client = new V2GrpcClient(gw.grpcAddress);
    const grpcSlow = { model_name: 'slow-echo', inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 1], contents: { fp32_contents: [1] } }], parameters: { slow_ms: { int64_param: 1500 } } };
    try {
      const restSlow = [0, 1].map(() => request(gw, 'POST', '/v2/models/slow-echo/infer', slowBody));
      await new Promise((r) => setTimeout(r, 200));
      await assert.rejects(client.call('ModelInfer', grpcSlow), (err: ServiceError) => {
        assert.equal(Number(err.code), 14);
        assert.match(err.details, /the gateway has 2 requests in flight \(MAX_IN_FLIGHT 2\)/);
        return true;
      });
      for (const res of await Promise.all(restSlow)) assert.equal(res.status, 200);
      const grpcHeld = [0, 1].map(() => client.call('ModelInfer', grpcSlow));
      await new Promise((r) => setTimeout(r, 200));
      const shed = await request(gw, 'POST', '/v2/models/slow-echo/infer', slowBody);
      assert.equal(shed.status, 503, 'REST is refused while gRPC holds the slots');
      await Promise.all(grpcHeld);
    } finally {
      client.close();
    }
  });

  it('refuses a request with more rows than the graph allows (413 naming the input), before running it', async () => {
    const rows = 9000;
    const res = await request(gw, 'POST', '/v2/models/slow-echo/infer', { inputs: [{ name: 'x', shape: [rows, 1], datatype: 'FP32', data: new Array<number>(rows).fill(1) }] });
    assert.equal(res.status, 413, JSON.stringify(res.body));
    assert.match((res.body as { error: string }).error, /inputs\[0\] \("x"\): 9000 rows exceed the 8192 rows one request of graph "slow-echo" may carry \(MAX_ROWS\)/);
  });

  it('answers liveness while a thousand connections hold unfinished headers, and drops them at the headers timeout', async () => {
    const url = new URL(gw.baseUrl);
    let open = 0;
    const closed: Promise<void>[] = [];
    for (let i = 0; i < 1000; i++) {
      const s = await openSocket(url);
      open++;
      closed.push(new Promise<void>((resolve) => s.once('close', () => resolve(void open--))));
      s.resume(); // read what the server sends (its 408), so its close is seen
      s.write('GET /v2/health/live HTTP/1.1\r\nHost: x\r\n'); // never finished
    }
    const live = await request(gw, 'GET', '/v2/health/live');
    const openAtAnswer = open;
    assert.equal(live.status, 200);
    assert.equal(openAtAnswer, 1000, 'the probe was answered while every slow connection was still open');
    await Promise.all(closed);
    assert.equal((await request(gw, 'GET', '/v2/health/live')).status, 200);
  });
});
