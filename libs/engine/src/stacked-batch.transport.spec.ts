import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RequestLifetime, createRequestContext, type NodeInvocation, type NodeTransport, type RequestContext } from '@infergraph/executor';
import { InferenceError, type TensorMap } from '@infergraph/protocol';
import { StackedBatchTransport, isVerdictOnInputs, remoteBatchRun } from './stacked-batch.transport';

// Pure-logic unit test: the transports are recorders; no wire.

const NOTHING: TensorMap = new Map();

function recorder(): NodeTransport & { calls: NodeInvocation[] } {
  const calls: NodeInvocation[] = [];
  return {
    calls,
    invoke(call) {
      calls.push(call);
      return Promise.resolve(NOTHING);
    },
  };
}

function ctx(requestId: string, timeoutMs: number, lifetime = new RequestLifetime(), parameters: Record<string, unknown> = {}): RequestContext {
  return createRequestContext({ requestId, graph: 'g', timeoutMs, signal: lifetime, parameters, headers: { traceparent: `tp-${requestId}` } });
}

describe('remoteBatchRun', () => {
  it('sends a batch of one with its own request context, unchanged', async () => {
    const wire = recorder();
    const only = ctx('a', 1000, new RequestLifetime(), { trace: true });
    await remoteBatchRun('g', 'clf', () => wire)(NOTHING, [only]);
    assert.equal(wire.calls[0]?.ctx, only);
  });

  it("gives a stacked call the latest deadline, the first request's id and trace parent, no parameters, and an end once all ended", async () => {
    const wire = recorder();
    const [la, lb] = [new RequestLifetime(), new RequestLifetime()];
    const a = ctx('a', 1000, la);
    const b = ctx('b', 9000, lb);
    await remoteBatchRun('g', 'clf', () => wire)(NOTHING, [a, b]);
    const sent = wire.calls[0]?.ctx as RequestContext;
    assert.equal(sent.requestId, 'a');
    assert.equal(sent.headers['traceparent'], 'tp-a');
    assert.deepEqual(sent.parameters, {});
    assert.ok(Math.abs(sent.expiresAt - b.expiresAt) <= 1, `expiresAt ${sent.expiresAt} is not b's ${b.expiresAt}`);
    la.end();
    assert.equal(sent.end.aborted, false, 'one request of two ended: the call still serves the other');
    lb.end();
    assert.equal(sent.end.aborted, true);
  });
});

describe('StackedBatchTransport', () => {
  it('sends stacked nodes without parameters through the local batcher, and everything else to the wire', async () => {
    const [local, wire] = [recorder(), recorder()];
    const t = new StackedBatchTransport(new Set(['clf']), local, wire);
    await t.invoke({ graph: 'g', node: 'clf', inputs: NOTHING, ctx: ctx('a', 1000) });
    await t.invoke({ graph: 'g', node: 'clf', inputs: NOTHING, ctx: ctx('b', 1000, new RequestLifetime(), { tenant: 'x' }) });
    await t.invoke({ graph: 'g', node: 'scaler', inputs: NOTHING, ctx: ctx('c', 1000) });
    assert.deepEqual(local.calls.map((c) => c.ctx.requestId), ['a']);
    assert.deepEqual(wire.calls.map((c) => c.ctx.requestId), ['b', 'c']);
  });

  it('retries requests alone for answers about the inputs, not for hop failures', () => {
    assert.equal(isVerdictOnInputs(new InferenceError('INVALID_ARGUMENT', 'bad')), true);
    assert.equal(isVerdictOnInputs(new InferenceError('INTERNAL', 'model failed')), true);
    assert.equal(isVerdictOnInputs(new InferenceError('UNAVAILABLE', 'no replica')), false);
    assert.equal(isVerdictOnInputs(new InferenceError('DEADLINE_EXCEEDED', 'late')), false);
    assert.equal(isVerdictOnInputs(new Error('socket')), false);
  });
});
