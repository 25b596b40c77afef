import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InferenceError, type Tensor, type TensorMap } from '@infergraph/protocol';
import { parseGraphSource } from '@infergraph/spec';
import type { CombinerRuntime, NodeResult } from './control-runtime';
import { compileGraphPlan } from './graph-plan';
import { GraphExecutor, type GraphResult } from './graph.executor';
import type { NodeInvocation, NodeTransport } from './node-transport';
import { RequestLifetime, createRequestContext, type RequestContext } from './request-context';

// Pure-logic unit test of when a join lets the graph answer: branch work is a promise the test settles
// by hand, so every assertion is about order (what had happened when the answer came), not about time.

function joinGraph(join: string, extra = '', timeoutMs = 60_000): string {
  return `
apiVersion: infergraph.dev/v1alpha1
kind: InferenceGraph
metadata: {name: joined}
spec:
  timeoutMs: ${timeoutMs}
  inputs: [{name: x, datatype: FP32, shape: [1]}]
  nodes:
    - {name: fast, type: transformer, inputs: [graph.inputs]}
    - {name: slow, type: transformer, inputs: [graph.inputs]}
    - {name: broken, type: transformer, inputs: [graph.inputs]}
    - name: join
      type: combiner
      inputs: [fast, slow, broken]
      combiner: {strategy: concat, tensor: x, ${join}}
  outputs: [join.outputs.x]
${extra}`;
}

const X: Tensor = { name: 'x', datatype: 'FP32', shape: [1], data: new Float32Array([1]) };

/** A node call the test settles: resolve with the inputs, or reject with an error. */
interface Pending {
  readonly call: NodeInvocation;
  resolve(): void;
  reject(err: Error): void;
}

class ManualTransport implements NodeTransport {
  readonly pending = new Map<string, Pending>();
  invoke(call: NodeInvocation): Promise<TensorMap> {
    return new Promise((resolve, reject) => {
      this.pending.set(call.node, { call, resolve: () => resolve(call.inputs), reject });
    });
  }
  settle(node: string, how: 'ok' | Error): void {
    const p = this.pending.get(node);
    assert.ok(p, `node "${node}" was never called`);
    if (how === 'ok') p.resolve();
    else p.reject(how);
  }
}

/** Counts the branches the combiner received. */
const COUNTING: CombinerRuntime = {
  combine: (branches) => Promise.resolve(new Map([['x', { ...X, data: new Float32Array([branches.length]) }]])),
};

function executorFor(yaml: string, transport: NodeTransport, nodes: NodeResult[]): GraphExecutor {
  const parsed = parseGraphSource(yaml, 'joined.yaml');
  assert.deepEqual(parsed.diagnostics, []);
  assert.ok(parsed.graph);
  const plan = compileGraphPlan(parsed.graph, parsed.order, [X], parsed.routing);
  return new GraphExecutor(plan, transport, { routers: new Map(), combiners: new Map([['join', COUNTING]]) }, { onNodeResult: (r) => nodes.push(r) });
}

function requestContext(lifetime: RequestLifetime, timeoutMs = 60_000): RequestContext {
  return createRequestContext({ graph: 'joined', timeoutMs, signal: lifetime });
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

/** Tracks whether a promise has settled yet, without awaiting it. */
function track<T>(p: Promise<T>): { readonly done: () => boolean; readonly promise: Promise<T> } {
  let done = false;
  const promise = p.finally(() => (done = true));
  return { done: () => done, promise };
}

describe('graph executor joins', () => {
  it('answers an "any" join at its first success while the other branches still run', async () => {
    const transport = new ManualTransport();
    const nodes: NodeResult[] = [];
    const lifetime = new RequestLifetime();
    const answer = track(executorFor(joinGraph('join: any, onError: skip'), transport, nodes).execute([X], requestContext(lifetime)));
    await tick();
    transport.settle('fast', 'ok');
    const result = await answer.promise;
    assert.deepEqual(Array.from(result.outputs[0]?.data as Float32Array), [1], 'the combiner ran with the first branch only');
    assert.ok(transport.pending.has('slow') && transport.pending.has('broken'), 'the other branches were started and are still running');
    assert.deepEqual(
      nodes.map((n) => `${n.node}:${n.status}`),
      ['fast:ok', 'join:ok'],
      'the slow branch had not finished when the graph answered',
    );
  });

  it('answers an "outer" join when its window closes, without the branch still running', async () => {
    const transport = new ManualTransport();
    const nodes: NodeResult[] = [];
    const answer = track(
      executorFor(joinGraph('join: outer, joinWindowMs: 20, onError: skip'), transport, nodes).execute([X], requestContext(new RequestLifetime())),
    );
    await tick();
    transport.settle('fast', 'ok');
    transport.settle('broken', new Error('branch exploded'));
    const result = await answer.promise;
    assert.deepEqual(Array.from(result.outputs[0]?.data as Float32Array), [1]);
    assert.ok(!nodes.some((n) => n.node === 'slow'), 'slow never finished before the answer');
  });

  it('answers an "outer" join as soon as every branch has arrived, without waiting out its window', async (t) => {
    // Timers stand still: the window (and the deadline) can only pass if the test moved the clock.
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const transport = new ManualTransport();
    const nodes: NodeResult[] = [];
    const answer = track(executorFor(joinGraph('join: outer, joinWindowMs: 50000, onError: skip'), transport, nodes).execute([X], requestContext(new RequestLifetime())));
    await tick();
    transport.settle('fast', 'ok');
    transport.settle('slow', 'ok');
    await tick();
    assert.equal(answer.done(), false, 'one branch still out: the window is open');
    transport.settle('broken', new Error('exploded'));
    for (let i = 0; i < 5 && !answer.done(); i++) await tick();
    assert.equal(answer.done(), true, 'answered with the clock still at the start of the window');
    const result = await answer.promise;
    assert.deepEqual(Array.from(result.outputs[0]?.data as Float32Array), [2], 'fast and slow, broken left out');
  });

  it('fails an "inner" join with onError fail as soon as one branch throws, before the slow branch ends', async () => {
    const transport = new ManualTransport();
    const nodes: NodeResult[] = [];
    const answer = track(executorFor(joinGraph('join: inner, onError: fail'), transport, nodes).execute([X], requestContext(new RequestLifetime())));
    await tick();
    transport.settle('fast', 'ok');
    transport.settle('broken', new InferenceError('INVALID_ARGUMENT', 'branch refused the request'));
    await assert.rejects(answer.promise, /node "broken": branch refused the request/);
    assert.ok(transport.pending.has('slow') && !nodes.some((n) => n.node === 'slow'), 'slow was still running when the request failed');
  });

  it('waits for every branch of an "inner" join with onError skip', async () => {
    const transport = new ManualTransport();
    const answer = track(executorFor(joinGraph('join: inner, onError: skip'), transport, []).execute([X], requestContext(new RequestLifetime())));
    await tick();
    transport.settle('fast', 'ok');
    transport.settle('broken', new Error('exploded'));
    await tick();
    assert.equal(answer.done(), false, 'inner waits for the slow branch');
    transport.settle('slow', 'ok');
    const result: GraphResult = await answer.promise;
    assert.deepEqual(Array.from(result.outputs[0]?.data as Float32Array), [2], 'fast and slow, broken left out');
  });

  it('reports a branch that fails after the answer as cancelled, not as an error of the request', async () => {
    const transport = new ManualTransport();
    const nodes: NodeResult[] = [];
    const lifetime = new RequestLifetime();
    const ctx = requestContext(lifetime);
    const answer = executorFor(joinGraph('join: any, onError: fail'), transport, nodes).execute([X], ctx);
    await tick();
    transport.settle('fast', 'ok');
    await answer;
    // The caller (GraphInferenceService) ends the request once it has the answer; the branch sees it.
    lifetime.end();
    assert.equal(transport.pending.get('slow')?.call.ctx.signal.aborted, true, 'the slow branch was told the request ended');
    transport.settle('slow', new Error('aborted by the request end'));
    transport.settle('broken', new Error('late failure'));
    await tick();
    const late = nodes.filter((n) => n.node === 'slow' || n.node === 'broken').map((n) => `${n.node}:${n.status}`);
    assert.deepEqual(late.sort(), ['broken:cancelled', 'slow:cancelled']);
  });

  it('answers an "any" join although the slow branch outlives the graph deadline', async () => {
    const transport = new ManualTransport();
    const lifetime = new RequestLifetime();
    const answer = executorFor(joinGraph('join: any, onError: skip', '', 50), transport, []).execute([X], requestContext(lifetime, 50));
    await tick();
    transport.settle('fast', 'ok');
    const result = await answer;
    assert.equal(result.outputs.length, 1);
    // Past the deadline the slow branch has still not answered; that is not the request's business.
    await new Promise((r) => setTimeout(r, 80));
    assert.ok(transport.pending.has('slow'));
  });

  it('still waits for a node nothing reads (a guard) before answering', async () => {
    const guarded = joinGraph('join: any, onError: skip').replace(
      '  outputs: [join.outputs.x]',
      '    - {name: guard, type: transformer, inputs: [graph.inputs]}\n  outputs: [join.outputs.x]',
    );
    const transport = new ManualTransport();
    const answer = track(executorFor(guarded, transport, []).execute([X], requestContext(new RequestLifetime())));
    await tick();
    transport.settle('fast', 'ok');
    await tick();
    assert.equal(answer.done(), false, 'the guard has not answered yet');
    transport.settle('guard', new InferenceError('UNPROCESSABLE', 'rows are outliers'));
    await assert.rejects(answer.promise, /rows are outliers/);
  });

  it('keeps shadows running after the answer, until the deadline', async () => {
    const shadowed = `
apiVersion: infergraph.dev/v1alpha1
kind: InferenceGraph
metadata: {name: joined}
spec:
  timeoutMs: 60000
  inputs: [{name: x, datatype: FP32, shape: [1]}]
  nodes:
    - name: split
      type: router
      inputs: [graph.inputs]
      router:
        routes: [{name: main, to: [m]}]
        shadow: [{name: mirror, to: [s]}]
    - {name: m, type: transformer, inputs: [split]}
    - {name: s, type: transformer, inputs: [split]}
  outputs: [m.outputs.x]
`;
    const parsed = parseGraphSource(shadowed, 'shadowed.yaml');
    assert.ok(parsed.graph, JSON.stringify(parsed.diagnostics));
    const plan = compileGraphPlan(parsed.graph, parsed.order, [X], parsed.routing);
    const transport = new ManualTransport();
    const router = { decide: () => ({ route: 'main', shadows: ['mirror'] }) };
    const lifetime = new RequestLifetime();
    const answer = new GraphExecutor(plan, transport, { routers: new Map([['split', router]]), combiners: new Map() }).execute([X], requestContext(lifetime));
    await tick();
    transport.settle('m', 'ok');
    await answer;
    lifetime.end();
    assert.equal(transport.pending.get('m')?.call.ctx.signal.aborted, true);
    assert.equal(transport.pending.get('s')?.call.ctx.signal.aborted, false, 'a shadow is not cut short by the answer');
  });
});
