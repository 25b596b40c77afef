import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InferenceError, type Tensor, type TensorMap } from '@infergraph/protocol';
import { parseGraphSource } from '@infergraph/spec';
import { compileGraphPlan, type GraphPlan } from './graph-plan';
import { GraphExecutor } from './graph.executor';
import type { NodeInvocation, NodeTransport } from './node-transport';
import { createRequestContext, type RequestContext } from './request-context';

// Pure-logic unit test: the transport is a scripted fake; no models run here.

/** a and b both read the request; c joins them. */
const DIAMOND = `
apiVersion: infergraph.dev/v1alpha1
kind: InferenceGraph
metadata: {name: diamond}
spec:
  timeoutMs: 200
  inputs: [{name: x, datatype: FP32, shape: [-1, 2]}]
  nodes:
    - {name: a, type: transformer, inputs: [graph.inputs], tensorMap: {x: xa}}
    - {name: b, type: transformer, inputs: [graph.inputs.x], tensorMap: {graph.inputs.x: xb}}
    - {name: c, type: transformer, inputs: [a, b.outputs.xb]}
  outputs:
    - c.outputs.xa
    - {name: from_b, source: b.outputs.xb}
`;

function plan(yaml: string): GraphPlan {
  const parsed = parseGraphSource(yaml, 'test.yaml');
  assert.deepEqual(parsed.diagnostics, []);
  assert.ok(parsed.graph);
  const g = parsed.graph;
  return compileGraphPlan(g, parsed.order, g.spec.inputs, parsed.routing);
}

function ctx(overrides: { trace?: boolean; timeoutMs?: number } = {}): RequestContext {
  return createRequestContext({
    graph: 'diamond',
    requestId: 'r-1',
    parameters: { trace: overrides.trace ?? false },
    timeoutMs: overrides.timeoutMs ?? 200,
    signal: new AbortController().signal,
  });
}

const X: Tensor = { name: 'x', datatype: 'FP32', shape: [1, 2], data: new Float32Array([1, 2]) };

/** Echoes inputs after a per-node delay, recording what each node received and when. */
class ScriptedTransport implements NodeTransport {
  readonly calls: { node: string; inputs: string[]; at: number }[] = [];
  constructor(
    private readonly delays: Record<string, number> = {},
    private readonly failures: Record<string, Error> = {},
  ) {}
  async invoke(call: NodeInvocation): Promise<TensorMap> {
    this.calls.push({ node: call.node, inputs: [...call.inputs.keys()], at: performance.now() });
    await new Promise((r) => setTimeout(r, this.delays[call.node] ?? 0));
    const failure = this.failures[call.node];
    if (failure) throw failure;
    return call.inputs;
  }
}

describe('graph executor', () => {
  it('renames tensors with tensorMap and returns the declared outputs', async () => {
    const transport = new ScriptedTransport();
    const result = await new GraphExecutor(plan(DIAMOND), transport).execute([X], ctx());
    assert.deepEqual(
      transport.calls.map((c) => [c.node, c.inputs]),
      [
        ['a', ['xa']],
        ['b', ['xb']],
        ['c', ['xa', 'xb']],
      ],
    );
    assert.deepEqual(
      result.outputs.map((t) => t.name),
      ['xa', 'from_b'],
    );
    assert.deepEqual(Array.from(result.outputs[1]?.data as Float32Array), [1, 2]);
    assert.equal(result.timings, undefined);
  });

  it('runs independent branches concurrently', async () => {
    // a finishes only once b has started and vice versa: run one after the other, they would
    // wait on each other until the deadline.
    const started: Record<string, () => void> = {};
    const startedOf = (n: string): Promise<void> => new Promise((r) => (started[n] = r));
    const waits = { a: startedOf('b'), b: startedOf('a') };
    const events: string[] = [];
    const transport: NodeTransport = {
      async invoke(call) {
        events.push(`start ${call.node}`);
        started[call.node]?.();
        if (call.node === 'a' || call.node === 'b') await waits[call.node];
        events.push(`end ${call.node}`);
        return call.inputs;
      },
    };
    await new GraphExecutor(plan(DIAMOND), transport).execute([X], ctx({ timeoutMs: 1000 }));
    assert.deepEqual(events.slice(0, 2).sort(), ['start a', 'start b']);
    assert.equal(events[4], 'start c', `c must start after a and b end: ${events.join(', ')}`);
  });

  it('reports per-node timings when the request asks for a trace', async () => {
    const result = await new GraphExecutor(plan(DIAMOND), new ScriptedTransport({ c: 20 })).execute([X], ctx({ trace: true }));
    assert.ok(result.timings);
    assert.deepEqual(result.timings.map((t) => t.node).sort(), ['a', 'b', 'c']);
    const c = result.timings.find((t) => t.node === 'c');
    assert.ok(c && c.durationMs >= 15 && c.status === 'ok' && c.type === 'transformer');
    // A node's timing starts when its own work does, not while it waits for its inputs.
    const slow = await new GraphExecutor(plan(DIAMOND), new ScriptedTransport({ a: 40 })).execute([X], ctx({ trace: true }));
    const after = slow.timings?.find((t) => t.node === 'c');
    assert.ok(after !== undefined && after.startMs >= 35 && after.durationMs < 30, JSON.stringify(after));
  });

  it('fails with DEADLINE_EXCEEDED when the graph outlives its deadline', async () => {
    const executor = new GraphExecutor(plan(DIAMOND), new ScriptedTransport({ a: 500 }));
    await assert.rejects(executor.execute([X], ctx({ timeoutMs: 50 })), (err: unknown) => {
      assert.ok(err instanceof InferenceError);
      assert.equal(err.code, 'DEADLINE_EXCEEDED');
      assert.match(err.message, /graph "diamond" did not finish within its deadline/);
      return true;
    });
  });

  it('names the node calls still outstanding at the deadline, with where the transport waits', async () => {
    const transport = new ScriptedTransport({ a: 500 });
    const hinted = Object.assign(transport, { describeWait: (graph: string, node: string) => `no answer on t.${graph}.${node}.outputs` });
    const executor = new GraphExecutor(plan(DIAMOND), hinted);
    await assert.rejects(executor.execute([X], ctx({ timeoutMs: 50 })), (err: unknown) => {
      assert.ok(err instanceof InferenceError);
      assert.match(err.message, /; still waiting for node "a" \(no answer on t\.diamond\.a\.outputs\)$/);
      return true;
    });
  });

  it('names the failing node and keeps the error class of a request problem', async () => {
    const bad = new InferenceError('INVALID_ARGUMENT', 'input "x" must be FP64');
    const executor = new GraphExecutor(plan(DIAMOND), new ScriptedTransport({}, { b: bad }));
    await assert.rejects(executor.execute([X], ctx()), { code: 'INVALID_ARGUMENT', message: 'node "b": input "x" must be FP64' });
    const crash = new GraphExecutor(plan(DIAMOND), new ScriptedTransport({}, { a: new Error('segfault-ish') }));
    await assert.rejects(crash.execute([X], ctx()), { code: 'INTERNAL', message: 'node "a" failed: segfault-ish' });
  });

  it('checks request tensors against the graph inputs before running anything', async () => {
    const transport = new ScriptedTransport();
    const executor = new GraphExecutor(plan(DIAMOND), transport);
    const cases: [Tensor[], RegExp][] = [
      [[], /missing input "x": graph "diamond" takes "x" FP32 \[-1, 2\]/],
      [[X, { ...X, name: 'y' }], /unexpected input "y"/],
      [[{ ...X, datatype: 'FP64', data: new Float64Array([1, 2]) }], /input "x": expected datatype FP32, got FP64/],
      [[{ ...X, shape: [2], data: new Float32Array([1, 2]) }], /input "x": expected rank 2 \[-1, 2\], got rank 1 \[2\]/],
      [[{ ...X, shape: [1, 3], data: new Float32Array([1, 2, 3]) }], /input "x": dimension 1 must be 2/],
      [[{ ...X, shape: [0, 2], data: new Float32Array(0) }], /input "x": shape \[0, 2\] holds no elements; send at least one/],
    ];
    for (const [inputs, message] of cases) {
      await assert.rejects(executor.execute(inputs, ctx()), { code: 'INVALID_ARGUMENT', message });
    }
    // A name from the request is echoed cut short: a megabyte of name makes no megabyte of message.
    const long = 'n'.repeat(100_000);
    await assert.rejects(executor.execute([X, { ...X, name: long }], ctx()), (err: unknown) => {
      assert.ok(err instanceof InferenceError);
      assert.equal(err.message, `unexpected input "${'n'.repeat(64)}…": graph "diamond" takes "x" FP32 [-1, 2]`);
      return true;
    });
    assert.equal(transport.calls.length, 0);
  });
});
