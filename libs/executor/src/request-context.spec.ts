import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { REQUEST_ENDED, RequestLifetime, createRequestContext } from './request-context';

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
    assert.equal({ ...ctx }.signal, ctx.signal, 'copies of the context share the one signal');
  });
});
