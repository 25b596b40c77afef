import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InferenceError, type Tensor, type TensorMap } from '@infergraph/protocol';
import { parseGraphSource } from '@infergraph/spec';
import type { NodeResult, RouterRuntime } from './control-runtime';
import { compileGraphPlan, type GraphPlan } from './graph-plan';
import { GraphExecutor, isChain, type ExecutorOptions } from './graph.executor';
import type { NodeInvocation, NodeTransport } from './node-transport';
import { createRequestContext } from './request-context';

// Pure-logic unit test: chain graphs run node after node instead of through the scheduler, and must
// behave exactly as the scheduler does. Each case runs both ways with a scripted transport and compares.

/** a reads the request, b reads a, c reads b and the request again. */
const LINE = `
apiVersion: infergraph.dev/v1alpha1
kind: InferenceGraph
metadata: {name: line}
spec:
  timeoutMs: 200
  inputs: [{name: x, datatype: FP32, shape: [-1, 2]}]
  nodes:
    - {name: a, type: transformer, inputs: [graph.inputs], tensorMap: {x: xa}}
    - {name: b, type: transformer, inputs: [a]}
    - {name: c, type: transformer, inputs: [b.outputs.xa, graph.inputs.x], timeoutMs: 100}
  outputs:
    - c.outputs.xa
    - {name: from_a, source: a.outputs.xa}
    - {name: echo, source: graph.inputs.x}
`;

/** b and c both read a only: they could run at once, so this is not a chain. */
const FORK = `
apiVersion: infergraph.dev/v1alpha1
kind: InferenceGraph
metadata: {name: fork}
spec:
  inputs: [{name: x, datatype: FP32, shape: [-1, 2]}]
  nodes:
    - {name: a, type: transformer, inputs: [graph.inputs]}
    - {name: b, type: transformer, inputs: [a]}
    - {name: c, type: transformer, inputs: [a]}
  outputs: [b.outputs.x, {name: y, source: c.outputs.x}]
`;

/**
 * A router in the line: pick gates m by its one route (a node belongs to one route, so a router in a line
 * has one). The scripted router below may still decide another route, which skips m and z.
 */
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

function plan(yaml: string): GraphPlan {
  const parsed = parseGraphSource(yaml, 'test.yaml');
  assert.deepEqual(parsed.diagnostics, []);
  assert.ok(parsed.graph);
  return compileGraphPlan(parsed.graph, parsed.order, parsed.graph.spec.inputs, parsed.routing);
}

const X: Tensor = { name: 'x', datatype: 'FP32', shape: [1, 2], data: new Float32Array([1, 2]) };

interface Script {
  readonly delays?: Record<string, number>;
  readonly failures?: Record<string, Error>;
  readonly timeoutMs?: number;
  readonly trace?: boolean;
  /** ROUTED instead of LINE, its router deciding this route (or throwing this error). */
  readonly route?: string | Error;
}

interface Observed {
  readonly calls: string[];
  readonly outputs: string[] | undefined;
  readonly error: { code: string; message: string } | undefined;
  readonly events: string[];
  readonly timings: string[] | undefined;
  readonly routes: Record<string, string> | undefined;
}

/** Runs LINE once with the given schedule and records everything the caller and the hooks can see. */
async function observe(script: Script, options: ExecutorOptions): Promise<Observed> {
  const calls: string[] = [];
  const transport: NodeTransport = {
    async invoke(call: NodeInvocation): Promise<TensorMap> {
      calls.push(`${call.node}(${[...call.inputs.keys()].join(',')})`);
      await new Promise((r) => setTimeout(r, script.delays?.[call.node] ?? 0));
      const failure = script.failures?.[call.node];
      if (failure) throw failure;
      // Doubles every value, so each node's effect shows in the outputs.
      return new Map([...call.inputs].map(([k, t]) => [k, { ...t, data: Float32Array.from(t.data as Float32Array, (v) => v * 2) }]));
    },
    describeWait: (_graph, node) => `waiting on ${node}`,
  };
  const events: NodeResult[] = [];
  const route = script.route;
  const router: RouterRuntime = {
    decide: () => {
      if (route instanceof Error) throw route;
      return { route: route ?? 'main', shadows: [] };
    },
  };
  const controls = { routers: new Map([['pick', router]]), combiners: new Map() };
  const executor = new GraphExecutor(plan(route === undefined ? LINE : ROUTED), transport, controls, { onNodeResult: (r) => events.push(r) }, options);
  const ctx = createRequestContext({ graph: 'line', requestId: 'r-1', parameters: { trace: script.trace ?? false }, timeoutMs: script.timeoutMs ?? 200, signal: new AbortController().signal });
  let outputs: string[] | undefined;
  let error: Observed['error'];
  let timings: string[] | undefined;
  let routes: Record<string, string> | undefined;
  try {
    const result = await executor.execute([X], ctx);
    outputs = result.outputs.map((t) => `${t.name}=${Array.from(t.data as Float32Array).join(',')}`);
    timings = result.timings?.map((t) => `${t.node}:${t.type}:${t.status}`);
    routes = result.routes;
  } catch (err) {
    assert.ok(err instanceof InferenceError, String(err));
    error = { code: err.code, message: err.message.replace(/\(\d+ ms elapsed\)/, '(N ms elapsed)') };
  }
  // Let nodes still running at a deadline finish, so late events and calls are seen too.
  await new Promise((r) => setTimeout(r, 150));
  return { calls, outputs, error, events: events.map((e) => `${e.node}:${e.type}:${e.status}:${e.requestId}${e.route === undefined ? '' : `:${e.route}`}`), timings, routes };
}

async function sameBothWays(script: Script): Promise<Observed> {
  const chained = await observe(script, {});
  const scheduled = await observe(script, { schedule: 'scheduler' });
  assert.deepEqual(chained, scheduled);
  return chained;
}

describe('graph executor, chain graphs', () => {
  it('recognises chains: every node reads the one before it, and nothing runs beside them', () => {
    assert.equal(isChain(plan(LINE)), true);
    assert.equal(isChain(plan(FORK)), false);
    assert.equal(isChain(plan(ROUTED)), true);
  });

  it('runs a router in the line as the scheduler does: the route taken, reported, and its node run', async () => {
    const seen = await sameBothWays({ route: 'main', trace: true });
    assert.deepEqual(seen.calls, ['a(x)', 'm(x)', 'z(x)']);
    assert.deepEqual(seen.outputs, ['y=8,16', 'from_a=2,4']);
    assert.deepEqual(seen.routes, { pick: 'main' });
    assert.deepEqual(seen.events, ['a:transformer:ok:r-1', 'pick:router:ok:r-1:main', 'm:transformer:ok:r-1', 'z:transformer:ok:r-1']);
    assert.deepEqual(seen.timings, ['a:transformer:ok', 'pick:router:ok', 'm:transformer:ok', 'z:transformer:ok']);
  });

  it('skips the node of a route not taken and every node after it, as the scheduler does', async () => {
    const seen = await sameBothWays({ route: 'elsewhere', trace: true });
    assert.deepEqual(seen.calls, ['a(x)']);
    assert.deepEqual(seen.outputs, ['y=1,2', 'from_a=2,4'], 'y falls back to its second source');
    assert.deepEqual(seen.events, ['a:transformer:ok:r-1', 'pick:router:ok:r-1:elsewhere', 'm:transformer:skipped:r-1', 'z:transformer:skipped:r-1']);
  });

  it('fails a router in the line as the scheduler does', async () => {
    const seen = await sameBothWays({ route: new Error('no such header') });
    assert.deepEqual(seen.error, { code: 'INTERNAL', message: 'node "pick" failed: no such header' });
    assert.deepEqual(seen.events, ['a:transformer:ok:r-1', 'pick:router:error:r-1', 'm:transformer:error:r-1', 'z:transformer:error:r-1']);
    const late = await sameBothWays({ route: 'main', failures: { m: new InferenceError('INVALID_ARGUMENT', 'bad row') } });
    assert.deepEqual(late.error, { code: 'INVALID_ARGUMENT', message: 'node "m": bad row' });
  });

  it('gives the same outputs, calls, node events and timings as the scheduler', async () => {
    const seen = await sameBothWays({ trace: true });
    assert.deepEqual(seen.calls, ['a(xa)', 'b(xa)', 'c(xa,x)']);
    // xa: doubled by a, b and c; from_a: a's output; echo: the request's own tensor.
    assert.deepEqual(seen.outputs, ['xa=8,16', 'from_a=2,4', 'echo=1,2']);
    assert.deepEqual(seen.events, ['a:transformer:ok:r-1', 'b:transformer:ok:r-1', 'c:transformer:ok:r-1']);
    assert.deepEqual(seen.timings, ['a:transformer:ok', 'b:transformer:ok', 'c:transformer:ok']);
  });

  it('fails as the scheduler does when a node fails: the node named, later nodes not run and reported as errors', async () => {
    const invalid = await sameBothWays({ failures: { b: new InferenceError('INVALID_ARGUMENT', 'x must be positive') } });
    assert.deepEqual(invalid.error, { code: 'INVALID_ARGUMENT', message: 'node "b": x must be positive' });
    assert.deepEqual(invalid.calls, ['a(xa)', 'b(xa)']);
    assert.deepEqual(invalid.events, ['a:transformer:ok:r-1', 'b:transformer:error:r-1', 'c:transformer:error:r-1']);
    const crash = await sameBothWays({ failures: { a: new Error('boom') } });
    assert.deepEqual(crash.error, { code: 'INTERNAL', message: 'node "a" failed: boom' });
  });

  it('names the node it waits for at the graph deadline and never starts the nodes after it', async () => {
    const late = await sameBothWays({ delays: { b: 120 }, timeoutMs: 40 });
    assert.deepEqual(late.error, {
      code: 'DEADLINE_EXCEEDED',
      message: 'graph "line" did not finish within its deadline (N ms elapsed); still waiting for node "b" (waiting on b)',
    });
    assert.deepEqual(late.calls, ['a(xa)', 'b(xa)'], 'c must not start once the request has ended');
  });

  it('applies a node timeoutMs as the scheduler does', async () => {
    const slow = await sameBothWays({ delays: { c: 130 }, timeoutMs: 1000 });
    assert.deepEqual(slow.error, { code: 'DEADLINE_EXCEEDED', message: 'node "c" did not finish within its timeoutMs (100 ms)' });
  });
});
