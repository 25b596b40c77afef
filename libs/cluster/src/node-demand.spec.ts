import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatBytes, type ReplicaDemand } from '@infergraph/placement';
import { API_VERSION, KIND, nodeSchemas, type GraphSpec, type NodeSpec } from '@infergraph/spec';
import { demandsOf } from './node-demand';

// Pure-logic unit test: nodes go through the real spec schemas (defaults filled in); model sizes are a plain table.

function graph(nodes: NodeSpec[]): GraphSpec {
  return {
    apiVersion: API_VERSION,
    kind: KIND,
    metadata: { name: 'g' },
    spec: { version: '1', timeoutMs: 30_000, transport: 'auto', inputs: [{ name: 'features', datatype: 'FP32', shape: [-1, 4] }], nodes, outputs: ['last.outputs.label'] },
  };
}

const model = (name: string, extra: object = {}): NodeSpec => nodeSchemas.model.parse({ name, type: 'model', inputs: ['graph.inputs'], model: { uri: 'm.onnx' }, ...extra });
const transformer = (name: string): NodeSpec => nodeSchemas.transformer.parse({ name, type: 'transformer', inputs: ['graph.inputs'] });
const outlier = (name: string, extra: object = {}): NodeSpec =>
  nodeSchemas.outlier.parse({ name, type: 'outlier', inputs: ['graph.inputs'], outlier: { method: 'zscore', reference: { path: 'ref.csv' } }, ...extra });
const last = nodeSchemas.combiner.parse({ name: 'last', type: 'combiner', inputs: ['a'], combiner: { strategy: 'soft-vote' } });

/** "g.a x2 cpu 0.25 memory 64Mi gpuMemory 0 pool cpu" */
const show = (d: ReplicaDemand): string =>
  `${d.key} x${d.replicas} pool ${d.pool} cpu ${d.cpu} memory ${formatBytes(d.memory)} gpuMemory ${formatBytes(d.gpuMemory)}`;

const sizes: Record<string, number> = { a: 100 * 1024 * 1024, b: 1024 * 1024 * 1024 };

const cases: { name: string; nodes: NodeSpec[]; demands: string[] }[] = [
  {
    name: 'estimates a model node without memory at twice its file plus 64Mi, with default cpu and pool',
    nodes: [model('a')],
    demands: ['g.a x1 pool cpu cpu 0.25 memory 264Mi gpuMemory 0'],
  },
  {
    name: 'falls back to 256Mi for a model whose size is unknown',
    nodes: [model('a'), model('z')],
    demands: ['g.a x1 pool cpu cpu 0.25 memory 264Mi gpuMemory 0', 'g.z x1 pool cpu cpu 0.25 memory 256Mi gpuMemory 0'],
  },
  {
    name: 'takes declared resources and replicas as given',
    nodes: [model('a', { replicas: 3, resources: { pool: 'gpu', cpu: '500m', memory: '1Gi', gpuMemory: '2Gi' } })],
    demands: ['g.a x3 pool gpu cpu 0.5 memory 1Gi gpuMemory 2Gi'],
  },
  {
    name: 'gives transformers and outliers 64Mi by default',
    nodes: [
      model('a'),
      transformer('pre'),
      outlier('out', { resources: { cpu: 2 } }),
    ],
    demands: ['g.a x1 pool cpu cpu 0.25 memory 264Mi gpuMemory 0', 'g.pre x1 pool cpu cpu 0.25 memory 64Mi gpuMemory 0', 'g.out x1 pool cpu cpu 2 memory 64Mi gpuMemory 0'],
  },
];

describe('demandsOf', () => {
  for (const c of cases) {
    it(c.name, () => {
      const demands = demandsOf(graph([...c.nodes, last]), 'g.yaml', (node) => sizes[node]);
      assert.deepEqual(demands.map(show), c.demands);
    });
  }

  it('leaves out nodes that run in the gateway', () => {
    const demands = demandsOf(graph([model('a'), model('b'), last]), 'g.yaml', () => undefined);
    assert.deepEqual(
      demands.map((d) => d.key),
      ['g.a', 'g.b'],
    );
  });

  it('keys the nodes of a version other than 1 with it, so versions side by side are separate replicas', () => {
    const v1 = graph([model('a'), last]);
    const v2: GraphSpec = { ...v1, spec: { ...v1.spec, version: '2.0' } };
    assert.deepEqual(demandsOf(v1, 'g.yaml', () => undefined).map((d) => d.key), ['g.a']);
    assert.deepEqual(demandsOf(v2, 'g-2.yaml', () => undefined).map((d) => d.key), ['g@2.0.a']);
    assert.throws(() => demandsOf({ ...v2, spec: { ...v2.spec, nodes: [model('a', { resources: { memory: '9000Pi' } }), last] } }, 'g-2.yaml', () => undefined), /graph "g" version 2\.0 \(g-2\.yaml\) node "a" resources\.memory/);
  });

  it('names the graph, file and node when a quantity cannot be used', () => {
    const spec = graph([model('a', { resources: { memory: '9000Pi' } }), last]);
    assert.throws(() => demandsOf(spec, 'g.yaml', () => undefined), /graph "g" \(g\.yaml\) node "a" resources\.memory: byte quantity "9000Pi" is too large/);
  });
});
