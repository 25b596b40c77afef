import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { REQUEST_ENDED, RequestLifetime, createRequestContext, detachedContext, nextRequestId, remainingMs, wallDeadline, withHeaders } from './request-context';

describe('RequestLifetime', () => {
  it('aborts a signal read before the request ends, with the ending reason', () => {
    const lifetime = new RequestLifetime();
    const ctx = createRequestContext({ graph: 'g', timeoutMs: 1000, signal: lifetime });
    const seen: unknown[] = [];
    ctx.signal.addEventListener('abort', () => seen.push(ctx.signal.reason));
    assert.equal(ctx.signal.aborted, false);
    lifetime.end();
    assert.deepEqual(seen, [REQUEST_ENDED]);
  });

  it('hands out a signal that is born aborted when first read after the end', () => {
    const lifetime = new RequestLifetime();
    const ctx = createRequestContext({ graph: 'g', timeoutMs: 1000, signal: lifetime });
    const failure = new Error('deadline');
    lifetime.end(failure);
    lifetime.end();
    assert.equal(ctx.signal.aborted, true);
    assert.equal(ctx.signal.reason, failure, 'the first end wins');
    assert.equal(withHeaders(ctx, { traceparent: 'x' }).signal, ctx.signal, 'copies of the context share the one signal');
    assert.equal(withHeaders(ctx, { traceparent: 'x' }).headers['traceparent'], 'x');
  });

  it('calls end listeners once, at once after the end, and not after unsubscribing; no AbortSignal needed', () => {
    const lifetime = new RequestLifetime();
    const ctx = createRequestContext({ graph: 'g', timeoutMs: 1000, signal: lifetime });
    const calls: string[] = [];
    ctx.end.onEnd(() => calls.push('a'));
    const unsubscribe = ctx.end.onEnd(() => calls.push('b'));
    unsubscribe();
    assert.equal(ctx.end.aborted, false);
    lifetime.end(new Error('failed'));
    lifetime.end();
    assert.deepEqual(calls, ['a']);
    assert.equal(ctx.end.aborted, true);
    assert.equal((ctx.end.reason as Error).message, 'failed');
    ctx.end.onEnd(() => calls.push('late'));
    assert.deepEqual(calls, ['a', 'late']);
  });

  it('follows a caller-made AbortSignal through the same end interface', () => {
    const controller = new AbortController();
    const ctx = createRequestContext({ graph: 'g', timeoutMs: 1000, signal: controller.signal });
    let ended = 0;
    ctx.end.onEnd(() => ended++);
    controller.abort('gone');
    assert.equal(ended, 1);
    assert.equal(ctx.end.reason, 'gone');
    assert.equal(withHeaders(ctx, {}).signal, controller.signal);
  });
});

describe('request ids', () => {
  it('are v4-formatted UUIDs, distinct across many requests, and used when the request brings none', () => {
    const v4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
    const ids = new Set<string>();
    for (let i = 0; i < 10_000; i++) {
      const id = nextRequestId();
      assert.match(id, v4);
      ids.add(id);
    }
    assert.equal(ids.size, 10_000);
    const generated = createRequestContext({ graph: 'g', timeoutMs: 1000, signal: new RequestLifetime() }).requestId;
    assert.match(generated, v4);
    assert.equal(ids.has(generated), false);
    assert.equal(createRequestContext({ graph: 'g', requestId: 'mine', timeoutMs: 1000, signal: new RequestLifetime() }).requestId, 'mine');
  });
});

describe('request deadlines and a stepped wall clock', () => {
  /** Runs `fn` with Date.now() moved by `stepMs`, as an NTP step or a resumed VM would move it. */
  function withWallStep<T>(stepMs: number, fn: () => T): T {
    const real = Date.now;
    Date.now = () => real.call(Date) + stepMs;
    try {
      return fn();
    } finally {
      Date.now = real;
    }
  }

  it('keeps the time left on the monotonic clock when the wall clock steps a minute either way', () => {
    const ctx = createRequestContext({ graph: 'g', timeoutMs: 5000, signal: new RequestLifetime() });
    for (const step of [60_000, -60_000]) {
      const left = withWallStep(step, () => remainingMs(ctx));
      assert.ok(left > 4000 && left <= 5000, `${left} ms left after a ${step} ms step`);
    }
    // withHeaders and detachedContext keep the same expiry.
    assert.equal(withHeaders(ctx, { a: 'b' }).expiresAt, ctx.expiresAt);
    assert.equal(detachedContext(ctx).expiresAt, ctx.expiresAt);
  });

  it('sends other processes a wall-clock deadline made when it is read, from the time left', () => {
    const ctx = createRequestContext({ graph: 'g', timeoutMs: 5000, signal: new RequestLifetime() });
    const stepped = withWallStep(60_000, () => wallDeadline(ctx)) - Date.now();
    assert.ok(stepped > 60_000 + 4000 && stepped <= 60_000 + 5000, `a deadline ${stepped} ms after the unstepped wall clock`);
    const now = wallDeadline(ctx) - Date.now();
    assert.ok(now > 4000 && now <= 5000, `${now} ms`);
  });
});
