import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InferenceError, type Tensor, type TensorMap } from '@infergraph/protocol';
import { parseGraphSource } from '@infergraph/spec';
import type { NodeResult, RouterRuntime } from './control-runtime';
import { decodeGraphAnswer, encodeGraphAnswer } from './graph-answer.codec';
import { compileGraphPlan, type GraphPlan } from './graph-plan';
import { GraphExecutor } from './graph.executor';
import type { NodeInvocation, NodeTransport, WholeGraphCall } from './node-transport';
import { createRequestContext } from './request-context';

// Pure-logic unit test: a chain graph handed whole to a transport (NodeTransport.wholeGraph) answers as the
// same graph run node by node: outputs, node events, routes and traced timings. The "replica" is a second
// executor in this process, its report passed through the answer codec as a worker's would be.

const ROUTED = `
apiVersion: infergraph.dev/v1alpha1
kind: InferenceGraph
metadata: {name: line}
spec:
  timeoutMs: 200
  inputs: [{name: x, datatype: FP32, shape: [-1, 2]}]
  nodes:
    - {name: a, type: transformer, inputs: [graph.inputs]}
    - name: pick
      type: router
      inputs: [a]
      router:
        routes:
          - {name: main, to: [m]}
    - {name: m, type: transformer, inputs: [pick]}
    - {name: z, type: transformer, inputs: [m.outputs.x]}
  outputs:
    - {name: y, source: [z.outputs.x, graph.inputs.x]}
    - {name: from_a, source: a.outputs.x}
`;

function plan(): GraphPlan {
  const parsed = parseGraphSource(ROUTED, 'test.yaml');
  assert.deepEqual(parsed.diagnostics, []);
  assert.ok(parsed.graph);
  return compileGraphPlan(parsed.graph, parsed.order, parsed.graph.spec.inputs, parsed.routing);
}

const X: Tensor = { name: 'x', datatype: 'FP32', shape: [1, 2], data: new Float32Array([1, 2]) };

interface Script {
  readonly route?: string;
  readonly failAt?: string;
  readonly delayMs?: number;
  readonly timeoutMs?: number;
  /** How the transport offers the whole graph: runs it, cannot (undefined), declines when asked, never answers. */
  readonly whole?: 'runs' | 'unavailable' | 'declines' | 'absent' | 'hangs';
}

interface Observed {
  readonly calls: string[];
  readonly wholeCalls: number;
  readonly outputs?: string[];
  readonly error?: { code: string; message: string };
  readonly events: string[];
  readonly timings?: string[];
  readonly routes?: Record<string, string>;
  /** The nodes the executor asked the transport where their call waits (describeWait). */
  readonly waits: string[];
}

async function observe(script: Script): Promise<Observed> {
  const calls: string[] = [];
  const nodeCalls: NodeTransport = {
    async invoke(call: NodeInvocation): Promise<TensorMap> {
      calls.push(call.node);
      await new Promise((r) => setTimeout(r, script.delayMs ?? 0));
      if (call.node === script.failAt) throw new InferenceError('INVALID_ARGUMENT', `input "x" of node "${call.node}" is not finite`);
      return new Map([...call.inputs].map(([k, t]) => [k, { ...t, data: Float32Array.from(t.data as Float32Array, (v) => v * 2) }]));
    },
  };
  const router: RouterRuntime = { decide: () => ({ route: script.route ?? 'main', shadows: [] }) };
  const controls = { routers: new Map([['pick', router]]), combiners: new Map() };
  const replica = new GraphExecutor(plan(), nodeCalls, controls);
  let wholeCalls = 0;
  const run: WholeGraphCall = async (call) => {
    wholeCalls++;
    if (script.whole === 'declines') return undefined;
    if (script.whole === 'hangs') return new Promise<undefined>(() => undefined);
    const result = await replica.execute(call.inputs, call.ctx, { timings: true });
    return { outputs: result.outputs, ...decodeGraphAnswer(encodeGraphAnswer(result.timings ?? [], result.routes), 'replica') };
  };
  const waits: string[] = [];
  const transport: NodeTransport = {
    invoke: (call) => nodeCalls.invoke(call),
    describeWait: (_graph, node) => {
      waits.push(node);
      return 'on replica w-1';
    },
    ...(script.whole === 'absent' ? {} : { wholeGraph: () => (script.whole === 'unavailable' ? undefined : run) }),
  };
  const events: NodeResult[] = [];
  const executor = new GraphExecutor(plan(), transport, controls, { onNodeResult: (r) => events.push(r) });
  const ctx = createRequestContext({ graph: 'line', requestId: 'r-1', parameters: { trace: true }, timeoutMs: script.timeoutMs ?? 200, signal: new AbortController().signal });
  const seen: { -readonly [K in keyof Observed]: Observed[K] } = { calls, wholeCalls: 0, events: [], waits };
  try {
    const result = await executor.execute([X], ctx);
    seen.outputs = result.outputs.map((t) => `${t.name}=${Array.from(t.data as Float32Array).join(',')}`);
    seen.timings = result.timings?.map((t) => `${t.node}:${t.type}:${t.status}`);
    seen.routes = result.routes;
  } catch (err) {
    assert.ok(err instanceof InferenceError, String(err));
    seen.error = { code: err.code, message: err.message };
  }
  seen.wholeCalls = wholeCalls;
  seen.events = events.map((e) => `${e.node}:${e.type}:${e.status}:${e.requestId}${e.route === undefined ? '' : `:${e.route}`}`);
  return seen;
}

describe('a chain graph run whole by its transport', () => {
  for (const [name, script] of [
    ['every node runs', {}],
    ['the router takes a route that skips the rest', { route: 'elsewhere' }],
  ] as const) {
    it(`answers as node by node when ${name}: outputs, events, timings, routes`, async () => {
      const whole = await observe({ ...script, whole: 'runs' });
      const byNode = await observe({ ...script, whole: 'absent' });
      assert.equal(whole.wholeCalls, 1);
      assert.deepEqual({ ...whole, wholeCalls: 0 }, byNode);
      assert.ok(whole.outputs !== undefined && whole.outputs.length > 0);
      assert.deepEqual(whole.waits, [], 'describeWait is asked only when the deadline passes');
    });
  }

  it("fails as node by node when a node refuses its input (the node's code and message)", async () => {
    const whole = await observe({ failAt: 'm', whole: 'runs' });
    const byNode = await observe({ failAt: 'm', whole: 'absent' });
    assert.deepEqual(whole.error, byNode.error);
    assert.equal(whole.error?.code, 'INVALID_ARGUMENT');
  });

  it('runs node by node when no replica holds the graph, or when the replica declines', async () => {
    const byNode = await observe({ whole: 'absent' });
    for (const whole of ['unavailable', 'declines'] as const) {
      const seen = await observe({ whole });
      assert.deepEqual(seen.calls, ['a', 'm', 'z'], whole);
      assert.deepEqual(seen.outputs, byNode.outputs, whole);
      assert.deepEqual(seen.events, byNode.events, whole);
    }
  });

  it('gives a whole-graph call the request deadline, naming what it waited for', async () => {
    const seen = await observe({ whole: 'hangs', timeoutMs: 50 });
    assert.equal(seen.error?.code, 'DEADLINE_EXCEEDED');
    assert.match(seen.error?.message ?? '', /graph "line" did not finish within its deadline \(\d+ ms elapsed\); still waiting for the whole graph \(on replica w-1\)$/);
    assert.deepEqual(seen.waits, ['*'], 'asked once, at the deadline');
  });
});
