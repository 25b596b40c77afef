import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TensorMap } from '@infergraph/protocol';
import type { NodeInvocation, NodeTransport } from './node-transport';
import { parseGraphSource } from '@infergraph/spec';
import { SplitTransport } from './split.transport';

// Pure-logic unit test: both transports are recording fakes.

const GRAPH = `
apiVersion: infergraph.dev/v1alpha1
kind: InferenceGraph
metadata: {name: g}
spec:
  inputs: [{name: x, datatype: FP32, shape: [-1, 2]}]
  nodes:
    - {name: heavy, type: transformer, inputs: [graph.inputs]}
    - {name: once, type: transformer, inputs: [graph.inputs], idempotent: false}
    - {name: cheap, type: transformer, inputs: [graph.inputs], resources: {pool: gateway}}
  outputs: [heavy, {name: y, source: once.outputs.x}, {name: z, source: cheap.outputs.x}]
`;

class Recorder implements NodeTransport {
  readonly calls: NodeInvocation[] = [];
  invoke(call: NodeInvocation): Promise<TensorMap> {
    this.calls.push(call);
    return Promise.resolve(new Map() as TensorMap);
  }
}

describe('split transport', () => {
  it('keeps gateway-pool nodes local, sends the rest to workers, and marks non-idempotent calls', async () => {
    const parsed = parseGraphSource(GRAPH, 'g.yaml');
    assert.deepEqual(parsed.diagnostics, []);
    assert.ok(parsed.graph);
    const remote = new Recorder();
    const local = new Recorder();
    const split = new SplitTransport(parsed.graph, remote, local);
    for (const node of ['heavy', 'once', 'cheap']) await split.invoke({ graph: 'g', node, inputs: new Map(), ctx: {} as NodeInvocation['ctx'] });
    assert.deepEqual(remote.calls.map((c) => [c.node, c.idempotent]), [['heavy', undefined], ['once', false]]);
    assert.deepEqual(local.calls.map((c) => c.node), ['cheap']);
  });
});
