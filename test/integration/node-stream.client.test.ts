import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { status } from '@grpc/grpc-js';
import { RequestLifetime } from '@infergraph/executor';
import { batchQueueFull, decodeNodeOutputs, encodeNodeCall, InferenceError, isBatchQueueFull, type InferRequest, type InferResponse, type Tensor } from '@infergraph/protocol';
import { NodeStreamClient, StreamCallError, V2GrpcServer, type V2GrpcHandlers } from '@infergraph/transport-grpc';
import { FreezableProxy } from '../support/freezable-proxy';
import { streamOnlyHandlers } from '../support/stream-only.handlers';

// Integration: a real NodeStreamClient (the gateway's end of node calls) against a real V2GrpcServer on a
// loopback port, over real grpc-js ModelStreamInfer streams. The node behind the server is a test double
// whose answers each test holds and releases.

interface HeldCall {
  readonly model: string;
  readonly request: InferRequest;
  readonly headers: Record<string, string>;
  readonly expiresAt: number | undefined;
  readonly end: RequestLifetime;
  readonly answer: (r: InferResponse) => void;
  readonly fail: (err: unknown) => void;
}

class HeldNode {
  readonly calls: HeldCall[] = [];
  private waiters: (() => void)[] = [];

  handle = (model: string, request: InferRequest, headers: Record<string, string>, expiresAt: number | undefined, end: RequestLifetime): Promise<InferResponse> =>
    new Promise((answer, fail) => {
      this.calls.push({ model, request, headers, expiresAt, end, answer, fail });
      for (const w of this.waiters.splice(0)) w();
    });

  /** Resolves once `n` calls have arrived. */
  async arrived(n: number): Promise<void> {
    while (this.calls.length < n) await new Promise<void>((r) => this.waiters.push(r));
  }
}

function handlers(node: HeldNode): V2GrpcHandlers {
  return streamOnlyHandlers((model, request, headers, expiresAt, end) => node.handle(model, request, headers, expiresAt, end));
}

const input = (k: number): Tensor => ({ name: 'x', datatype: 'FP32', shape: [1, 2], data: new Float32Array([k, -k]) });
const callMessage = (k: number): ReturnType<typeof encodeNodeCall> => encodeNodeCall('g.n', `req-${k}`, { k }, [input(k)]);
/** The held call's input doubled, as the node's answer. */
const doubled = (c: HeldCall): InferResponse => {
  const x = c.request.inputs[0] as Tensor;
  return { modelName: c.model, modelVersion: '1', id: c.request.id ?? '', parameters: undefined, outputs: [{ ...x, name: 'y', data: Float32Array.from(x.data as Float32Array, (v) => v * 2) }] };
};
const yOf = (r: Awaited<ReturnType<NodeStreamClient['call']>>): number[] => Array.from(decodeNodeOutputs(r, 'test').get('y')?.data as Float32Array);

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  return assert.fail('the call succeeded');
}

/** A deadline `ms` from now on the monotonic clock, as requests carry it. */
const later = (ms: number): number => performance.now() + ms;

describe('NodeStreamClient against a V2GrpcServer over loopback', () => {
  let node: HeldNode;
  let server: V2GrpcServer;
  let port: number;
  let client: NodeStreamClient | undefined;

  before(async () => {
    node = new HeldNode();
    server = new V2GrpcServer(handlers(node), { host: '127.0.0.1', port: 0, maxReceiveMessageLength: 1 << 20, maxSendMessageLength: 1 << 20, shutdownTimeoutMs: 50 });
    port = await server.listen();
  });
  afterEach(() => {
    client?.close();
    client = undefined;
    node.calls.length = 0;
  });
  after(async () => {
    await server.close();
  });

  it('multiplexes concurrent calls on one stream and matches answers given in reverse order', async () => {
    client = new NodeStreamClient(`127.0.0.1:${port}`);
    const calls = [1, 2, 3].map((k) => client?.call(callMessage(k), {}, later(5000)) as Promise<Awaited<ReturnType<NodeStreamClient['call']>>>);
    await node.arrived(3);
    assert.equal(client.openStreams, 1);
    for (const c of [...node.calls].reverse()) c.answer(doubled(c));
    assert.deepEqual((await Promise.all(calls)).map(yOf), [
      [2, -2],
      [4, -4],
      [6, -6],
    ]);
    assert.deepEqual(node.calls.map((c) => c.request.id), ['req-1', 'req-2', 'req-3']);
    assert.deepEqual(node.calls.map((c) => c.request.parameters), [{ k: 1 }, { k: 2 }, { k: 3 }], 'framing parameters never reach the node');
  });

  it('carries forwarded headers (trace context) and the deadline with each call', async () => {
    client = new NodeStreamClient(`127.0.0.1:${port}`);
    const before = performance.now();
    const call = client.call(callMessage(1), { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', 'x-user': 'u1', host: 'gateway:8080' }, later(4000));
    await node.arrived(1);
    const held = node.calls[0] as HeldCall;
    assert.deepEqual(held.headers, { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', 'x-user': 'u1' });
    // The call carries the time left when it was sent; the worker counts it from the call's arrival on its own
    // monotonic clock (the same process's here), never from a wall time of the caller.
    assert.ok(held.expiresAt !== undefined && held.expiresAt >= before + 3990 && held.expiresAt <= performance.now() + 4010, `expires at ${held.expiresAt}, ${before + 4000} expected`);
    held.answer(doubled(held));
    await call;
  });

  it('fails a call at its deadline with DEADLINE_EXCEEDED and has the worker drop it', async () => {
    client = new NodeStreamClient(`127.0.0.1:${port}`);
    const started = performance.now();
    const err = await rejection(client.call(callMessage(1), {}, later(150)));
    assert.ok(err instanceof StreamCallError);
    assert.equal(err.code, status.DEADLINE_EXCEEDED);
    assert.ok(performance.now() - started >= 140 && performance.now() - started < 1000, `failed after ${performance.now() - started} ms`);
    await node.arrived(1);
    const held = node.calls[0] as HeldCall;
    for (let i = 0; i < 50 && !held.end.aborted; i++) await new Promise((r) => setTimeout(r, 10));
    assert.ok(held.end.aborted, 'the cancel message ended the call on the worker');
  });

  it('cancels a call when its request ends, on both ends', async () => {
    client = new NodeStreamClient(`127.0.0.1:${port}`);
    const request = new RequestLifetime();
    const call = client.call(callMessage(1), {}, later(5000), request);
    await node.arrived(1);
    request.end();
    const err = await rejection(call);
    assert.ok(err instanceof StreamCallError);
    assert.equal(err.code, status.CANCELLED);
    const held = node.calls[0] as HeldCall;
    for (let i = 0; i < 50 && !held.end.aborted; i++) await new Promise((r) => setTimeout(r, 10));
    assert.ok(held.end.aborted);
    // The stream stays usable: the late answer of the cancelled call is dropped, the next call answered.
    held.answer(doubled(held));
    const next = client.call(callMessage(2), {}, later(5000));
    await node.arrived(2);
    (node.calls[1] as HeldCall).answer(doubled(node.calls[1] as HeldCall));
    assert.deepEqual(yOf(await next), [4, -4]);
    assert.equal(client.openStreams, 1);
  });

  it("answers a node's error for that call only, with its code and details, and keeps the stream", async () => {
    client = new NodeStreamClient(`127.0.0.1:${port}`);
    const failing = client.call(callMessage(1), {}, later(5000));
    const invalid = client.call(callMessage(2), {}, later(5000));
    const fine = client.call(callMessage(3), {}, later(5000));
    await node.arrived(3);
    const [a, b, c] = node.calls as [HeldCall, HeldCall, HeldCall];
    a.fail(batchQueueFull('g', 'n', 2));
    b.fail(new InferenceError('INVALID_ARGUMENT', 'node "n": input "x" element 1 is NaN'));
    c.answer(doubled(c));
    const full = await rejection(failing);
    assert.ok(full instanceof InferenceError);
    assert.equal(full.code, 'UNAVAILABLE');
    assert.equal(full.message, 'graph "g" node "n": batch queue is full (maxQueueSize 2 requests); retry later');
    assert.ok(isBatchQueueFull(full));
    const bad = await rejection(invalid);
    assert.ok(bad instanceof InferenceError);
    assert.equal(bad.httpStatus, 400);
    assert.deepEqual(yOf(await fine), [6, -6]);
    assert.equal(client.openStreams, 1);
  });

  it('bounds the calls in flight per stream: a second stream, then a queue, drained as answers come', async () => {
    client = new NodeStreamClient(`127.0.0.1:${port}`, { maxStreams: 2, maxInFlightPerStream: 2 });
    const calls = [1, 2, 3, 4, 5, 6].map((k) => client?.call(callMessage(k), {}, later(5000)) as Promise<unknown>);
    await node.arrived(4);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(node.calls.length, 4, 'no more than 2 streams × 2 calls reach the worker');
    assert.equal(client.openStreams, 2);
    assert.equal(client.queued, 2);
    (node.calls[0] as HeldCall).answer(doubled(node.calls[0] as HeldCall));
    await node.arrived(5);
    assert.equal(client.queued, 1);
    for (let i = 1; i < 6; i++) {
      await node.arrived(i + 1);
      (node.calls[i] as HeldCall).answer(doubled(node.calls[i] as HeldCall));
    }
    await Promise.all(calls);
    assert.equal(client.queued, 0);
  });

  it('spreads calls over streams: four on each before another opens, up to 16, then the least loaded', async () => {
    client = new NodeStreamClient(`127.0.0.1:${port}`);
    const first = Array.from({ length: 12 }, (_, i) => client?.call(callMessage(i), {}, later(5000)) as Promise<unknown>);
    await node.arrived(12);
    assert.equal(client.openStreams, 3, 'twelve calls ride three streams of four (the default callsPerStream)');
    const more = Array.from({ length: 60 }, (_, i) => client?.call(callMessage(12 + i), {}, later(5000)) as Promise<unknown>);
    await node.arrived(72);
    assert.equal(client.openStreams, 16, 'never more than maxStreams');
    assert.equal(client.queued, 0, '72 calls fit 16 streams of at most 8');
    for (const c of node.calls) c.answer(doubled(c));
    await Promise.all([...first, ...more]);
  });

  it('fills the least loaded stream once maxStreams are open, and queues at maxInFlightPerStream', async () => {
    client = new NodeStreamClient(`127.0.0.1:${port}`, { maxStreams: 3, maxInFlightPerStream: 4, callsPerStream: 2 });
    const calls = Array.from({ length: 13 }, (_, i) => client?.call(callMessage(i), {}, later(5000)) as Promise<unknown>);
    await node.arrived(12);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(client.openStreams, 3);
    assert.equal(node.calls.length, 12, '3 streams × 4 calls reach the worker');
    assert.equal(client.queued, 1);
    (node.calls[0] as HeldCall).answer(doubled(node.calls[0] as HeldCall));
    await node.arrived(13);
    assert.equal(client.queued, 0, 'the answer made room on its stream for the queued call');
    for (const c of node.calls.slice(1)) c.answer(doubled(c));
    await Promise.all(calls);
  });
});

describe('NodeStreamClient when the stream breaks', () => {
  it('fails the calls in flight with UNAVAILABLE and reconnects for the next call', async () => {
    const node = new HeldNode();
    const options = { host: '127.0.0.1', port: 0, maxReceiveMessageLength: 1 << 20, maxSendMessageLength: 1 << 20, shutdownTimeoutMs: 1 };
    const first = new V2GrpcServer(handlers(node), options);
    const port = await first.listen();
    const client = new NodeStreamClient(`127.0.0.1:${port}`);
    let second: V2GrpcServer | undefined;
    try {
      const inFlight = [client.call(callMessage(1), {}, later(5000)), client.call(callMessage(2), {}, later(5000))];
      await node.arrived(2);
      await first.close(); // the calls never answer: after 1 ms the server cuts the connection
      for (const p of inFlight) {
        const err = await rejection(p);
        assert.ok(err instanceof StreamCallError, String(err));
        assert.equal(err.code, status.UNAVAILABLE);
      }
      assert.equal(client.openStreams, 0);

      second = new V2GrpcServer(handlers(node), { ...options, port });
      await second.listen();
      let answered: number[] | undefined;
      for (let attempt = 0; attempt < 40 && answered === undefined; attempt++) {
        const call = client.call(callMessage(3), {}, later(5000));
        const arrivedBefore = node.calls.length;
        const outcome = await Promise.race([call.then(yOf), new Promise((r) => setTimeout(r, 100, 'pending'))]).catch(() => 'failed');
        if (outcome === 'failed') {
          await new Promise((r) => setTimeout(r, 100));
          continue;
        }
        await node.arrived(arrivedBefore + 1);
        const held = node.calls[node.calls.length - 1] as HeldCall;
        held.answer(doubled(held));
        answered = yOf(await call);
      }
      assert.deepEqual(answered, [6, -6]);
      assert.equal(client.openStreams, 1);
    } finally {
      client.close();
      await second?.close();
    }
  });

  it('lets calls in flight finish when the worker drains, and refuses new ones as retryable UNAVAILABLE', async () => {
    const node = new HeldNode();
    const server = new V2GrpcServer(handlers(node), { host: '127.0.0.1', port: 0, maxReceiveMessageLength: 1 << 20, maxSendMessageLength: 1 << 20 });
    const port = await server.listen();
    const client = new NodeStreamClient(`127.0.0.1:${port}`);
    try {
      const running = client.call(callMessage(1), {}, later(5000));
      await node.arrived(1);
      const closed = server.close();
      const refused = await rejection(client.call(callMessage(2), {}, later(5000)));
      assert.ok(refused instanceof StreamCallError, String(refused));
      assert.equal(refused.code, status.UNAVAILABLE);
      (node.calls[0] as HeldCall).answer(doubled(node.calls[0] as HeldCall));
      assert.deepEqual(yOf(await running), [2, -2]);
      const started = performance.now();
      await closed;
      assert.ok(performance.now() - started < 1000, 'the idle stream ended, so shutdown did not wait for its timeout');
    } finally {
      client.close();
    }
  });
});

describe('NodeStreamClient when the worker stops answering (a frozen process, a cut-off network)', () => {
  it('fails the calls in flight with UNAVAILABLE once a ping goes unanswered, bounds the wait for a new connection the same way, and counts the worker lost until it answers again', async () => {
    const node = new HeldNode();
    const server = new V2GrpcServer(handlers(node), { host: '127.0.0.1', port: 0, maxReceiveMessageLength: 1 << 20, maxSendMessageLength: 1 << 20, shutdownTimeoutMs: 1 });
    const proxy = new FreezableProxy({ host: '127.0.0.1', port: await server.listen() });
    await proxy.listen();
    const pingIntervalMs = 200;
    const pingTimeoutMs = 600;
    const client = new NodeStreamClient(proxy.address, { pingIntervalMs, pingTimeoutMs });
    try {
      // Connected and answering first.
      const first = client.call(callMessage(1), {}, later(30_000));
      await node.arrived(1);
      (node.calls[0] as HeldCall).answer(doubled(node.calls[0] as HeldCall));
      assert.deepEqual(yOf(await first), [2, -2]);
      assert.equal(client.healthy, true);

      // A call the worker holds when it freezes: it would wait for its 30 s deadline; a ping finds the worker gone.
      const held = client.call(callMessage(2), {}, later(30_000));
      await node.arrived(2);
      const frozenAt = performance.now();
      proxy.freeze();
      const err = await rejection(held);
      const heldFor = performance.now() - frozenAt;
      assert.ok(err instanceof StreamCallError, String(err));
      assert.equal(err.code, status.UNAVAILABLE, err.message);
      assert.ok(heldFor < pingIntervalMs + pingTimeoutMs + 1000, `the call failed ${heldFor} ms after the freeze`);
      assert.equal(client.healthy, false);
      assert.ok(client.lostReason !== undefined);

      // A call made while the worker is still frozen: its connection is accepted but never answers.
      const startedAt = performance.now();
      const waiting = await rejection(client.call(callMessage(3), {}, later(30_000)));
      const waitedFor = performance.now() - startedAt;
      assert.ok(waiting instanceof StreamCallError, String(waiting));
      assert.equal(waiting.code, status.UNAVAILABLE, waiting.message);
      assert.ok(waitedFor < pingTimeoutMs + 1000, `the call waited ${waitedFor} ms for a connection`);
      assert.equal(client.healthy, false);

      // Thawed: a connection is READY again, the client counts the worker healthy and calls reach it.
      proxy.thaw();
      for (let i = 0; i < 100 && !client.healthy; i++) await new Promise((r) => setTimeout(r, 50));
      assert.equal(client.healthy, true, `still lost: ${client.lostReason}`);
      const after = client.call(callMessage(4), {}, later(30_000));
      // The calls sent while frozen may reach the node late (and go unanswered): answer the fourth one.
      let fourth: HeldCall | undefined;
      while ((fourth = node.calls.find((c) => c.request.id === 'req-4')) === undefined) await node.arrived(node.calls.length + 1);
      fourth.answer(doubled(fourth));
      assert.deepEqual(yOf(await after), [8, -8]);
    } finally {
      client.close();
      await proxy.close();
      await server.close();
    }
  });
});
