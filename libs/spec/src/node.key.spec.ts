import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NodeKey } from './node.key';
import { parseGraphSource } from './graph-spec.parser';

// Pure-logic unit test.

describe('NodeKey', () => {
  const parses: readonly { key: string; expected: { graph: string; node: string } | undefined }[] = [
    { key: 'iris.classifier', expected: { graph: 'iris', node: 'classifier' } },
    { key: 'a.b', expected: { graph: 'a', node: 'b' } },
    { key: 'fraud-v2.score-1', expected: { graph: 'fraud-v2', node: 'score-1' } },
    { key: 'iris', expected: undefined },
    { key: '', expected: undefined },
    { key: '.classifier', expected: undefined },
    { key: 'iris.', expected: undefined },
    { key: 'iris.a.b', expected: undefined },
    { key: '.', expected: undefined },
  ];
  for (const { key, expected } of parses) {
    it(`parses ${JSON.stringify(key)} as ${expected === undefined ? 'no key' : `graph "${expected.graph}", node "${expected.node}"`}`, () => {
      assert.deepEqual(NodeKey.parse(key), expected);
      assert.equal(NodeKey.graphOf(key), expected?.graph);
    });
  }

  it('formats what it parses back into the same key', () => {
    for (const [graph, node] of [['iris', 'classifier'], ['g-1', 'n-2']] as const) {
      assert.deepEqual(NodeKey.parse(NodeKey.format(graph, node)), { graph, node });
    }
  });

  it('is unambiguous because the spec refuses dots in graph and node names', () => {
    for (const [graph, node] of [['a.b', 'c'], ['a', 'b.c']] as const) {
      const source = `apiVersion: infergraph.dev/v1alpha1
kind: InferenceGraph
metadata: {name: ${graph}}
spec:
  inputs: [{name: x, datatype: FP32, shape: [-1, 2]}]
  nodes: [{name: ${node}, type: transformer, inputs: [graph.inputs]}]
  outputs: [${node}]
`;
      const { diagnostics } = parseGraphSource(source, 'g.yaml');
      assert.ok(diagnostics.some((d) => /DNS-1123/.test(d.message)), `graph "${graph}", node "${node}": ${JSON.stringify(diagnostics)}`);
    }
  });
});
