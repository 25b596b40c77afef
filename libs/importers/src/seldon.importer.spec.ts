import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { importSeldon } from './seldon.importer';
import type { ImportMapping } from './import.types';

const V = 'mlops.seldon.io/v1alpha1';
const MAPPING: ImportMapping = { inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 4] }], models: { m: { outputs: ['y', 'z'] }, n: { outputs: ['y'] } } };

const model = (name: string, spec: Record<string, unknown>) => ({ apiVersion: V, kind: 'Model', metadata: { name }, spec });
const pipeline = (spec: Record<string, unknown>) => ({ apiVersion: V, kind: 'Pipeline', metadata: { name: 'p' }, spec });

function run(...contents: unknown[]) {
  const result = importSeldon(
    contents.map((content, index) => ({ file: 'f.yaml', index, content })),
    MAPPING,
  );
  return { graphs: result.graphs.map((g) => g.document['spec'] as { nodes: Record<string, unknown>[]; outputs: unknown[] }), issues: result.issues.map((i) => `${i.path}: ${i.severity}`) };
}

describe('importSeldon: Model fields → model node fields', () => {
  const cases: [string, Record<string, unknown>, Record<string, unknown>, string[]][] = [
    ['a local .onnx file', { storageUri: 'models/m.onnx' }, { model: { uri: 'models/m.onnx' } }, []],
    ['a file:// URI', { storageUri: 'file:///srv/m.onnx' }, { model: { uri: '/srv/m.onnx' } }, []],
    ['a directory (reads model.onnx in it)', { storageUri: 'models/m/' }, { model: { uri: 'models/m/model.onnx' } }, ['documents[0].spec.storageUri: note']],
    ['an S3 object', { storageUri: 's3://b/m.onnx' }, { model: { uri: 's3://b/m.onnx' } }, []],
    ['an S3 directory (reads model.onnx in it)', { storageUri: 's3://b/m/' }, { model: { uri: 's3://b/m/model.onnx' } }, ['documents[0].spec.storageUri: note']],
    ['another remote store', { storageUri: 'gs://b/m' }, { model: { uri: '' } }, ['documents[0].spec.storageUri: unsupported']],
    ['memory and replicas', { storageUri: 'a.onnx', memory: '1Gi', replicas: 3 }, { model: { uri: 'a.onnx' }, resources: { memory: '1Gi' }, replicas: 3 }, []],
    ['autoscaling bounds', { storageUri: 'a.onnx', minReplicas: 1, maxReplicas: 4 }, { model: { uri: 'a.onnx' }, replicas: { min: 1, max: 4 } }, []],
    ['one bound only', { storageUri: 'a.onnx', maxReplicas: 4 }, { model: { uri: 'a.onnx' } }, ['documents[0].spec.maxReplicas: unsupported']],
    ['a non-ONNX runtime', { storageUri: 'a.onnx', requirements: ['sklearn'] }, { model: { uri: 'a.onnx' } }, ['documents[0].spec.requirements: note']],
    ['an unknown field', { storageUri: 'a.onnx', server: 'mlserver' }, { model: { uri: 'a.onnx' } }, ['documents[0].spec.server: unsupported']],
  ];
  for (const [what, spec, want, issues] of cases) {
    it(`maps ${what}`, () => {
      const r = run(model('m', spec), pipeline({ steps: [{ name: 'm' }] }));
      const { name: _n, type: _t, inputs: _i, ...fields } = r.graphs[0]?.nodes[0] ?? {};
      assert.deepEqual(fields, want);
      assert.deepEqual(r.issues, issues);
    });
  }
});

describe('importSeldon: Pipeline steps', () => {
  const M = model('m', { storageUri: 'm.onnx' });
  const N = model('n', { storageUri: 'n.onnx' });

  it('turns references into infergraph form and steps without inputs into readers of the request', () => {
    const r = run(M, N, pipeline({ steps: [{ name: 'm' }, { name: 'n', inputs: ['m.outputs.y', 'p.inputs.x', 'm'], tensorMap: { 'm.outputs.y': 'input', 'p.inputs.x': 'extra' } }], output: { steps: ['n'] } }));
    assert.deepEqual(r.issues, []);
    assert.deepEqual(r.graphs[0]?.nodes.map((n) => n['inputs']), [['graph.inputs'], ['m.outputs.y', 'graph.inputs.x', 'm']]);
    assert.deepEqual(r.graphs[0]?.nodes[1]?.['tensorMap'], { 'm.outputs.y': 'input', 'graph.inputs.x': 'extra' });
    assert.deepEqual(r.graphs[0]?.outputs, ['n.outputs.y']);
  });

  it('renames outputs by output.tensorMap and defaults to the last step\'s tensors', () => {
    assert.deepEqual(run(M, pipeline({ steps: [{ name: 'm' }], output: { steps: ['m.outputs.y'], tensorMap: { 'm.outputs.y': 'answer' } } })).graphs[0]?.outputs, [{ name: 'answer', source: 'm.outputs.y' }]);
    assert.deepEqual(run(M, pipeline({ steps: [{ name: 'm' }] })).graphs[0]?.outputs, ['m.outputs.y', 'm.outputs.z']);
  });

  it('maps batch to dynamic batching', () => {
    const r = run(M, pipeline({ steps: [{ name: 'm', batch: { size: 8, windowMs: 2 } }] }));
    assert.deepEqual((r.graphs[0]?.nodes[0]?.['model'] as { batching: unknown }).batching, { maxBatchSize: 8, maxQueueDelayMicros: 2000 });
    assert.deepEqual(r.issues, ['documents[1].spec.steps[0].batch: note']);
  });

  const unsupported: [string, Record<string, unknown>, string][] = [
    ['an outer join', { name: 'm', inputsJoinType: 'outer' }, 'documents[1].spec.steps[0].inputsJoinType: unsupported'],
    ['an any join', { name: 'm', inputsJoinType: 'any' }, 'documents[1].spec.steps[0].inputsJoinType: unsupported'],
    ['a join window', { name: 'm', joinWindowMs: 100 }, 'documents[1].spec.steps[0].joinWindowMs: unsupported'],
    ['triggers', { name: 'm', triggers: ['p.inputs.t'] }, 'documents[1].spec.steps[0].triggers: unsupported'],
    ['a step\'s inputs as a reference', { name: 'm', inputs: ['other.inputs.x'] }, 'documents[1].spec.steps[0].inputs[0]: unsupported'],
    ['a step without a Model', { name: 'ghost' }, 'documents[1].spec.steps[0].name: unsupported'],
  ];
  for (const [what, step, issue] of unsupported) {
    it(`names ${what} as unsupported`, () => assert.ok(run(M, pipeline({ steps: [step] })).issues.includes(issue), run(M, pipeline({ steps: [step] })).issues.join(', ')));
  }
  it('keeps an inner join without an issue', () => assert.deepEqual(run(M, pipeline({ steps: [{ name: 'm', inputsJoinType: 'inner' }] })).issues, []));
});

describe('importSeldon: Experiment', () => {
  it('becomes a weighted router over its candidates with the mirror as a shadow', () => {
    const r = run(model('m', { storageUri: 'm.onnx' }), model('n', { storageUri: 'n.onnx' }), {
      apiVersion: V,
      kind: 'Experiment',
      metadata: { name: 'e' },
      spec: { candidates: [{ name: 'm', weight: 3 }, { name: 'n', weight: 1 }], mirror: { name: 'n', percent: 10 } },
    });
    const router = r.graphs[0]?.nodes[0]?.['router'] as { routes: unknown[]; shadow: unknown[] };
    assert.deepEqual(router.routes, [{ name: 'm', weight: 3, to: ['m'] }, { name: 'n', weight: 1, to: ['n'] }]);
    assert.deepEqual(router.shadow, [{ name: 'n', percent: 10, to: ['n'] }]);
    assert.deepEqual(r.graphs[0]?.outputs, [{ name: 'y', source: ['m.outputs.y', 'n.outputs.y'] }, { name: 'z', source: ['m.outputs.z', 'n.outputs.z'] }]);
  });

  it('names an experiment over pipelines as unsupported', () => {
    const r = run({ apiVersion: V, kind: 'Experiment', metadata: { name: 'e' }, spec: { resourceType: 'pipeline', candidates: [{ name: 'p1' }] } });
    assert.deepEqual(r.graphs, []);
    assert.deepEqual(r.issues, ['documents[0].spec.resourceType: unsupported']);
  });
});
