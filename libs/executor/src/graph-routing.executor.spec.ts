import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Tensor, TensorMap } from '@infergraph/protocol';
import { parseGraphSource } from '@infergraph/spec';
import type { CombinerRuntime, RouterRuntime, ShadowResult } from './control-runtime';
import { compileGraphPlan } from './graph-plan';
import { GraphExecutor } from './graph.executor';
import type { NodeInvocation, NodeTransport } from './node-transport';
import { createRequestContext } from './request-context';

// Pure-logic unit test of skip, shadow and route semantics: routers, combiners and node work are
// scripted fakes; the graph is a real parsed spec.

const GRAPH = `
apiVersion: infergraph.dev/v1alpha1
kind: InferenceGraph
metadata: {name: routed}
spec:
  inputs: [{name: x, datatype: FP32, shape: [1]}]
  nodes:
    - name: split
      type: router
      inputs: [graph.inputs]
      router:
        routes:
          - {name: left, to: [a]}
          - {name: right, to: [b]}
        shadow:
          - {name: mirror, to: [s]}
    - {name: a, type: transformer, inputs: [split]}
    - {name: b, type: transformer, inputs: [split]}
    - {name: s, type: transformer, inputs: [split]}
    - {name: after-a, type: transformer, inputs: [a]}
    - {name: either, type: transformer, inputs: [a, b]}
    - {name: both, type: combiner, inputs: [a, b], combiner: {strategy: concat, tensor: x}}
  outputs:
    - {name: x, source: [after-a.outputs.x, b.outputs.x]}
    - {name: merged, source: either.outputs.x}
    - {name: joined, source: both.outputs.x}
`;

const X: Tensor = { name: 'x', datatype: 'FP32', shape: [1], data: new Float32Array([1]) };

function executor(route: string, shadows: string[], transport: NodeTransport, onShadowResult?: (r: ShadowResult) => void): GraphExecutor {
  const parsed = parseGraphSource(GRAPH, 'routed.yaml');
  assert.deepEqual(parsed.diagnostics, []);
  assert.ok(parsed.graph);
  const router: RouterRuntime = { decide: () => ({ route, shadows }) };
  const combiner: CombinerRuntime = {
    combine: (branches) => Promise.resolve(new Map([['x', { ...X, name: 'x', data: new Float32Array([branches.length]) }]])),
  };
  const plan = compileGraphPlan(parsed.graph, parsed.order, [X], parsed.routing);
  return new GraphExecutor(plan, transport, { routers: new Map([['split', router]]), combiners: new Map([['both', combiner]]) }, { onShadowResult });
}

class Recorder implements NodeTransport {
  readonly ran: string[] = [];
  constructor(private readonly behaviour: Record<string, (call: NodeInvocation) => Promise<TensorMap>> = {}) {}
  invoke(call: NodeInvocation): Promise<TensorMap> {
    this.ran.push(call.node);
    return this.behaviour[call.node]?.(call) ?? Promise.resolve(call.inputs);
  }
}

const ctx = () => createRequestContext({ graph: 'routed', timeoutMs: 1000, signal: new AbortController().signal });

describe('graph executor: routing', () => {
  it('runs only the taken route and what depends on it, and reports the route', async () => {
    const transport = new Recorder();
    const result = await executor('left', [], transport).execute([X], ctx());
    assert.deepEqual(transport.ran.sort(), ['a', 'after-a', 'either']);
    assert.deepEqual(result.routes, { split: 'left' });
    assert.deepEqual(result.outputs.map((t) => t.name), ['x', 'merged', 'joined']);
    assert.deepEqual(Array.from(result.outputs[2]?.data as Float32Array), [1], 'the combiner saw only the branch that ran');
  });

  it('resolves outputs to the alternative whose branch ran', async () => {
    const transport = new Recorder({ b: () => Promise.resolve(new Map([['x', { ...X, data: new Float32Array([42]) }]])) });
    const result = await executor('right', [], transport).execute([X], ctx());
    assert.deepEqual(transport.ran.sort(), ['b', 'either']);
    assert.deepEqual(Array.from(result.outputs[0]?.data as Float32Array), [42]);
    assert.deepEqual(Array.from(result.outputs[1]?.data as Float32Array), [42]);
  });

  it('does not wait for a shadow branch, ignores its failure and reports it afterwards', async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    const transport = new Recorder({
      s: async () => {
        await gate;
        throw new Error('shadow broke');
      },
    });
    const reported: ShadowResult[] = [];
    const result = await executor('left', ['mirror'], transport, (r) => reported.push(r)).execute([X], ctx());
    assert.deepEqual(result.routes, { split: 'left' });
    assert.ok(transport.ran.includes('s'));
    assert.equal(reported.length, 0, 'the caller had its answer before the shadow finished');
    release();
    await new Promise((r) => setTimeout(r, 10));
    assert.equal(reported.length, 1);
    assert.equal(reported[0]?.status, 'failed');
    assert.equal(reported[0]?.node, 's');
    assert.match(reported[0]?.error ?? '', /node "s" failed: shadow broke/);
  });

  it('skips the shadow branch when the router does not select it', async () => {
    const transport = new Recorder();
    await executor('left', [], transport).execute([X], ctx());
    assert.ok(!transport.ran.includes('s'));
  });
});
