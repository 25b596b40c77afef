import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseGraphSource } from '@infergraph/spec';
import { GRAPH_NAME_LABEL, graphNameOf, graphSourceOf } from './inference-graph.source';

describe('graphSourceOf', () => {
  const object = {
    apiVersion: 'infergraph.dev/v1alpha1',
    kind: 'InferenceGraph',
    metadata: { name: 'echo', namespace: 'ml', generation: 4, resourceVersion: '812', labels: { team: 'a' } },
    spec: {
      inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 2] }],
      nodes: [{ name: 'pass', type: 'transformer', inputs: ['graph.inputs.x'], transformer: { steps: [{ op: 'log1p', tensor: 'x' }] } }],
      outputs: ['pass.outputs.x'],
    },
    status: { observedGeneration: 3 },
  };

  it('gives the validator the object’s name and spec and nothing of the API server’s', () => {
    const text = graphSourceOf(object);
    assert.deepEqual(JSON.parse(text), { apiVersion: 'infergraph.dev/v1alpha1', kind: 'InferenceGraph', metadata: { name: 'echo' }, spec: object.spec });
  });

  it('names the graph by the infergraph.dev/graph label when the object has one: a version of another graph', () => {
    const version = { ...object, metadata: { ...object.metadata, name: 'echo-v2', labels: { team: 'a', [GRAPH_NAME_LABEL]: 'echo' } }, spec: { ...object.spec, version: '2' } };
    assert.equal(graphNameOf(version), 'echo');
    assert.equal(graphNameOf(object), 'echo');
    const parsed = parseGraphSource(graphSourceOf(version), 'InferenceGraph ml/echo-v2');
    assert.deepEqual([parsed.graph?.metadata.name, parsed.graph?.spec.version], ['echo', '2']);
  });

  it('is a document the graph parser reads, locating problems by field', () => {
    const broken = { ...object, spec: { ...object.spec, nodes: [{ ...object.spec.nodes[0], type: 'modle' }] } };
    const parsed = parseGraphSource(graphSourceOf(broken), 'InferenceGraph ml/echo');
    assert.equal(parsed.graph, undefined);
    assert.ok(parsed.diagnostics.some((d) => d.path.startsWith('spec.nodes[0]') && d.file === 'InferenceGraph ml/echo'), JSON.stringify(parsed.diagnostics));
  });
});
