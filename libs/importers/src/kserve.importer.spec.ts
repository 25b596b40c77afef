import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { convertCondition, importKserve } from './kserve.importer';
import type { ImportMapping } from './import.types';

const MAPPING: ImportMapping = {
  inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 4] }],
  models: { a: { uri: '/m/a.onnx', outputs: ['y'] }, b: { uri: '/m/b.onnx', tensorMap: { x: 'input' }, outputs: ['y'] } },
};

function graph(root: Record<string, unknown>, extra: Record<string, unknown> = {}): unknown {
  return { apiVersion: 'serving.kserve.io/v1alpha1', kind: 'InferenceGraph', metadata: { name: 'g' }, spec: { nodes: { root, ...extra } } };
}

function run(content: unknown, mapping = MAPPING) {
  const result = importKserve([{ file: 'f.yaml', index: 0, content }], mapping);
  const spec = result.graphs[0]?.document['spec'] as { nodes: Record<string, unknown>[]; outputs: unknown[] } | undefined;
  return { spec, issues: result.issues.map((i) => `${i.path}: ${i.severity}`) };
}

describe('convertCondition', () => {
  const cases: [string, string | undefined][] = [
    ['[@this].#(source==client)', 'params.source == "client"'],
    ['[@this].#(source=="client")', 'params.source == "client"'],
    ['model==forest', 'params.model == "forest"'],
    ['tier != 2', 'params.tier != 2'],
    ['flag==true', 'params.flag == true'],
    ['instances.0.x>3', undefined],
    ['[@this].#(a.b==c)', undefined],
    ['x=="with space"', 'params.x == "with space"'],
    ["x=='single'", undefined],
  ];
  for (const [input, want] of cases) {
    it(`converts ${input} to ${String(want)}`, () => assert.equal(convertCondition(input), want));
  }
});

describe('importKserve', () => {
  it('chains Sequence steps, $request sending a step the graph request, and answers with the last step', () => {
    const { spec, issues } = run(graph({ routerType: 'Sequence', steps: [{ serviceName: 'a' }, { serviceName: 'b', name: 'second' }, { serviceName: 'a', name: 'third', data: '$request' }] }));
    assert.deepEqual(issues, []);
    assert.deepEqual(spec?.nodes.map((n) => [n['name'], n['inputs']]), [['a', ['graph.inputs']], ['second', ['a']], ['third', ['graph.inputs']]]);
    assert.deepEqual(spec?.nodes[1]?.['tensorMap'], { x: 'input' });
    assert.deepEqual(spec?.outputs, ['third.outputs.y']);
  });

  it('makes a Switch a conditional router whose unconditioned step is the default', () => {
    const { spec, issues } = run(graph({ routerType: 'Switch', steps: [{ serviceName: 'a', condition: 'k==v' }, { serviceName: 'b' }] }));
    assert.deepEqual(issues, []);
    const router = spec?.nodes[0]?.['router'] as { strategy: string; rules: unknown[]; default: string };
    assert.equal(router.strategy, 'conditional');
    assert.deepEqual(router.rules, [{ when: 'params.k == "v"', route: 'a' }]);
    assert.equal(router.default, 'b');
    assert.deepEqual(spec?.outputs, [{ name: 'y', source: ['a.outputs.y', 'b.outputs.y'] }]);
  });

  it('names a Switch without an unconditioned step, and a condition it cannot convert', () => {
    const { spec, issues } = run(graph({ routerType: 'Switch', steps: [{ serviceName: 'a', condition: 'k==v' }, { serviceName: 'b', condition: 'instances.#>2' }] }));
    assert.deepEqual(issues, ['documents[0].spec.nodes.root.steps[1].condition: unsupported', 'documents[0].spec.nodes.root.steps: unsupported']);
    assert.equal((spec?.nodes[0]?.['router'] as { default: string }).default, 'b');
  });

  it('makes a Splitter a weighted router and an Ensemble parallel steps with step-named outputs', () => {
    const split = run(graph({ routerType: 'Splitter', steps: [{ serviceName: 'a', weight: 20 }, { serviceName: 'b', weight: 80 }] }));
    assert.deepEqual((split.spec?.nodes[0]?.['router'] as { routes: unknown[] }).routes, [{ name: 'a', weight: 20, to: ['a'] }, { name: 'b', weight: 80, to: ['b'] }]);
    const ensemble = run(graph({ routerType: 'Ensemble', steps: [{ serviceName: 'a' }, { serviceName: 'b' }] }));
    assert.deepEqual(ensemble.spec?.outputs, [{ name: 'a.y', source: 'a.outputs.y' }, { name: 'b.y', source: 'b.outputs.y' }]);
  });

  it('names every field and step that does not carry over', () => {
    const { issues } = run(
      graph({ routerType: 'Sequence', steps: [{ serviceName: 'a', dependency: 'Soft' }, { nodeName: 'other' }, { serviceName: 'unmapped' }], timeout: 5 }, { other: { routerType: 'Sequence', steps: [] } }),
    );
    assert.deepEqual(issues, [
      'documents[0].spec.nodes.other: unsupported',
      'documents[0].spec.nodes.root.timeout: unsupported',
      'documents[0].spec.nodes.root.steps[0].dependency: unsupported',
      'documents[0].spec.nodes.root.steps[1]: unsupported',
      'documents[0].spec.nodes.root.steps[2]: unsupported',
      // the last step's service is unmapped, so the graph's outputs are unknown
      'documents[0].spec.nodes.root: unsupported',
    ]);
  });

  it('asks for the request tensors when the mapping file has none, and refuses other documents', () => {
    assert.deepEqual(run(graph({ routerType: 'Sequence', steps: [{ serviceName: 'a' }] }), { models: MAPPING.models }).issues, ['documents[0].spec: unsupported']);
    assert.deepEqual(run({ apiVersion: 'v1', kind: 'Service' }).issues, ['documents[0].kind: unsupported']);
  });
});
