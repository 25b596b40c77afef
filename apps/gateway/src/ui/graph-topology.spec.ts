import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseGraphSource, type GraphSpec } from '@infergraph/spec';
import { topologyOf } from './graph-topology';

const yaml = (transport: string, replicas = '') => `
apiVersion: infergraph.dev/v1alpha1
kind: InferenceGraph
metadata: {name: g}
spec:
  transport: ${transport}
  inputs: [{name: x, datatype: FP32, shape: [-1, 2]}]
  nodes:
    - name: split
      type: router
      inputs: [graph.inputs]
      router:
        routes: [{name: a, weight: 1, to: [m]}, {name: b, weight: 1, to: [t]}]
        shadow: [{name: s, percent: 10, to: [mirror]}]
    - {name: m, type: model, inputs: [split], model: {uri: m.onnx}${replicas}}
    - {name: t, type: transformer, inputs: [split]}
    - {name: mirror, type: transformer, inputs: [split]}
    - {name: j, type: transformer, inputs: [m.outputs.y, t.outputs.x, graph.inputs.x]}
  outputs: [j.outputs.y, {name: z, source: [m.outputs.y, t.outputs.x]}]
`;

function parseGraphSpec(text: string): GraphSpec {
  const parsed = parseGraphSource(text, 'g.yaml');
  assert.ok(parsed.graph, JSON.stringify(parsed));
  return parsed.graph;
}

describe('topologyOf', () => {
  it('draws one edge per node read, marks shadow edges, and names entry and exit nodes', () => {
    const graph = parseGraphSpec(yaml('auto'));
    const t = topologyOf(graph, 'inprocess');
    assert.deepEqual(t.edges, [
      { from: 'split', to: 'm', shadow: false },
      { from: 'split', to: 't', shadow: false },
      { from: 'split', to: 'mirror', shadow: true },
      { from: 'm', to: 'j', shadow: false },
      { from: 't', to: 'j', shadow: false },
    ]);
    assert.deepEqual(t.entry, ['split', 'j']);
    assert.deepEqual(t.exit, ['j', 'm', 't']);
    assert.deepEqual(t.nodes.map((n) => [n.name, n.transport, n.replicas]), [['split', 'in-process', undefined], ['m', 'in-process', undefined], ['t', 'in-process', undefined], ['mirror', 'in-process', undefined], ['j', 'in-process', undefined]]);
    assert.deepEqual(t.nodes[0]?.routes, ['a', 'b']);
  });

  it('puts worker nodes on the gateway bus with their replicas, routers in process, and kafka graphs on kafka', () => {
    const grpc = topologyOf(parseGraphSpec(yaml('auto', ', replicas: {min: 1, max: 3}')), 'grpc');
    assert.deepEqual(grpc.nodes.map((n) => [n.name, n.transport, n.replicas]), [['split', 'in-process', undefined], ['m', 'grpc', '1-3'], ['t', 'grpc', '1'], ['mirror', 'grpc', '1'], ['j', 'grpc', '1']]);
    const kafka = topologyOf(parseGraphSpec(yaml('kafka')), 'inprocess');
    assert.equal(kafka.nodes.find((n) => n.name === 'm')?.transport, 'kafka');
  });
});
