import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TensorSpec } from '@infergraph/protocol';
import { parseGraphSource } from './graph-spec.parser';
import { typeGraph } from './graph-typing';

// Pure-logic unit test of route guards, shadows and output coverage; no models involved.

function graph(nodes: string, outputs: string): string {
  return `apiVersion: infergraph.dev/v1alpha1
kind: InferenceGraph
metadata: {name: routed}
spec:
  inputs: [{name: x, datatype: FP32, shape: [-1, 2]}]
  nodes:
    - name: split
      type: router
      inputs: [graph.inputs]
      router:
        routes:
          - {name: left, weight: 3, to: [a]}
          - {name: right, to: [b]}
        shadow:
          - {name: mirror, percent: 10, to: [s]}
    - {name: a, type: transformer, inputs: [split]}
    - {name: b, type: transformer, inputs: [split]}
    - {name: s, type: transformer, inputs: [split]}
${nodes}
  outputs:
${outputs}
`;
}

function problems(yaml: string): string[] {
  return parseGraphSource(yaml, 'routed.yaml').diagnostics.map((d) => `${d.path}: ${d.message}`);
}

describe('routing analysis', () => {
  it('accepts outputs that list an alternative for every route', () => {
    assert.deepEqual(problems(graph('', '    - {name: x, source: [a.outputs.x, b.outputs.x]}')), []);
  });

  it('rejects an output that has no value under some route, naming the route', () => {
    assert.deepEqual(problems(graph('', '    - a.outputs.x')), [
      'spec.outputs[0]: graph output "a.outputs.x" has no value when router "split" takes route "right"; list a source for that case ({name, source: [a, b]}) or read a node that always runs',
    ]);
  });

  it('treats a node fed by both routes as always running', () => {
    assert.deepEqual(problems(graph('    - {name: merge, type: transformer, inputs: [a, b]}', '    - merge.outputs.x')), []);
  });

  it('rejects a regular node or a graph output that reads a shadow node', () => {
    assert.deepEqual(problems(graph('    - {name: leak, type: transformer, inputs: [s, a]}', '    - {name: x, source: [a.outputs.x, b.outputs.x]}\n    - {name: y, source: s.outputs.x}')), [
      'spec.nodes[4].inputs: node "leak" reads shadow node "s", whose results are discarded; only other shadow nodes may read it',
      'spec.outputs[1]: graph output "y" reads shadow node "s", whose results are discarded',
    ]);
  });

  it('lets nodes fed only by a shadow be shadows too', () => {
    const parsed = parseGraphSource(graph('    - {name: after-s, type: transformer, inputs: [s]}', '    - {name: x, source: [a.outputs.x, b.outputs.x]}'), 'routed.yaml');
    assert.deepEqual(parsed.diagnostics, []);
    assert.deepEqual([...(parsed.routing?.shadow ?? [])].sort(), ['after-s', 's']);
    assert.deepEqual(parsed.routing?.guards.get('a'), [{ router: 'split', route: 'left' }]);
    assert.equal(parsed.routing?.exclusive('a', 'b'), true);
    assert.equal(parsed.routing?.exclusive('a', 'a'), false);
    assert.equal(parsed.routing?.exclusive('a', undefined), false);
  });

  it('rejects unknown, self and doubly routed targets', () => {
    const yaml = graph('', '    - {name: x, source: [a.outputs.x, b.outputs.x]}')
      .replace('{name: right, to: [b]}', '{name: right, to: [bb, split, a]}');
    assert.deepEqual(problems(yaml), [
      'spec.nodes[0].router.routes[1].to[0]: unknown node "bb"; did you mean "b"? (nodes: split, a, b, s)',
      'spec.nodes[0].router.routes[1].to[1]: router "split" cannot route to itself',
      'spec.nodes[0].router.routes[1].to[2]: node "a" is already a route target of "split"; a node belongs to one route',
    ]);
  });

  it('orders route targets after their router even when they read only graph inputs', () => {
    const yaml = graph('', '    - {name: x, source: [a.outputs.x, b.outputs.x]}').replace('- {name: a, type: transformer, inputs: [split]}', '- {name: a, type: transformer, inputs: [graph.inputs]}');
    const parsed = parseGraphSource(yaml, 'routed.yaml');
    assert.deepEqual(parsed.diagnostics, []);
    assert.ok(parsed.order.indexOf('a') > parsed.order.indexOf('split'));
  });

  it('allows same-named tensors from two routes of one router, but not from nodes that both run', () => {
    const parsed = parseGraphSource(
      graph('    - {name: merge, type: transformer, inputs: [a, b]}\n    - {name: clash, type: transformer, inputs: [merge, graph.inputs]}', '    - merge.outputs.x\n    - {name: y, source: clash.outputs.x}'),
      'routed.yaml',
    );
    assert.deepEqual(parsed.diagnostics, []);
    assert.ok(parsed.graph);
    const passThrough = (_node: unknown, incoming: readonly TensorSpec[]): { outputs: readonly TensorSpec[]; problems: [] } => ({ outputs: incoming, problems: [] });
    const types = typeGraph(parsed.partial, passThrough);
    assert.deepEqual(
      types.problems.map((p) => p.message),
      ['node "clash" receives two tensors named "x" (merge.outputs.x and graph.inputs.x); rename one with tensorMap'],
    );
  });
});
