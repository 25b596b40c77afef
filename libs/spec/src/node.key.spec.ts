import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NodeKey } from './node.key';
import { parseGraphSource } from './graph-spec.parser';

// Pure-logic unit test.

describe('NodeKey', () => {
  const parses: readonly { key: string; expected: { graph: string; node: string; version?: string } | undefined }[] = [
    { key: 'iris.classifier', expected: { graph: 'iris', node: 'classifier' } },
    { key: 'a.b', expected: { graph: 'a', node: 'b' } },
    { key: 'fraud-v2.score-1', expected: { graph: 'fraud-v2', node: 'score-1' } },
    { key: 'iris', expected: undefined },
    { key: '', expected: undefined },
    { key: '.classifier', expected: undefined },
    { key: 'iris.', expected: undefined },
    { key: 'iris.a.b', expected: undefined },
    { key: '.', expected: undefined },
    { key: 'iris@2.classifier', expected: { graph: 'iris', node: 'classifier', version: '2' } },
    { key: 'iris@1.2.0.classifier', expected: { graph: 'iris', node: 'classifier', version: '1.2.0' } },
    { key: 'iris@v2_rc-1.*', expected: { graph: 'iris', node: '*', version: 'v2_rc-1' } },
    // Version "1" is the unversioned key: one name per node.
    { key: 'iris@1.classifier', expected: undefined },
    { key: 'iris@.classifier', expected: undefined },
    { key: '@2.classifier', expected: undefined },
    { key: 'iris@2@3.classifier', expected: undefined },
  ];
  for (const { key, expected } of parses) {
    it(`parses ${JSON.stringify(key)} as ${expected === undefined ? 'no key' : `graph "${expected.graph}"${expected.version === undefined ? '' : ` version ${expected.version}`}, node "${expected.node}"`}`, () => {
      assert.deepEqual(NodeKey.parse(key), expected);
      assert.equal(NodeKey.graphOf(key), expected?.graph);
    });
  }

  it('formats what it parses back into the same key', () => {
    for (const [graph, node] of [['iris', 'classifier'], ['g-1', 'n-2']] as const) {
      assert.deepEqual(NodeKey.parse(NodeKey.format(graph, node)), { graph, node });
    }
    for (const [graph, node, version] of [['iris', 'classifier', '2'], ['g-1', 'n-2', '1.10.3']] as const) {
      const key = NodeKey.format(graph, node, version);
      assert.deepEqual(NodeKey.parse(key), { graph, node, version });
      assert.equal(NodeKey.graphIdOf(key), `${graph}@${version}`);
    }
  });

  it('keeps the key of the default version "1" as it was before graphs had versions', () => {
    assert.equal(NodeKey.format('iris', 'classifier', '1'), 'iris.classifier');
    assert.equal(NodeKey.format('iris', 'classifier', undefined), 'iris.classifier');
    assert.equal(NodeKey.graphId('iris', '1'), 'iris');
    assert.deepEqual(NodeKey.parseGraphId('iris'), { graph: 'iris' });
    assert.deepEqual(NodeKey.parseGraphId('iris@3'), { graph: 'iris', version: '3' });
  });

  it('never gives two versions, nor a version and a node, the same key', () => {
    const keys = [
      NodeKey.format('iris', 'x', '1.2'),
      NodeKey.format('iris', 'x', '1.2.0'),
      NodeKey.format('iris', 'x'),
      NodeKey.format('iris', '2', undefined),
      NodeKey.format('iris', 'x', '2'),
    ];
    assert.equal(new Set(keys).size, keys.length);
    assert.notEqual(NodeKey.graphIdOf(NodeKey.format('iris', 'x', '1.2.0')), NodeKey.graphIdOf(NodeKey.format('iris', 'x', '1.2')));
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
