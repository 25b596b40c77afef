import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { customModuleFields } from './graph-path.fields';

// Pure-logic unit test: documents are strings, nothing is read.

const graph = (nodes: string): string => `apiVersion: infergraph.dev/v1alpha1
kind: InferenceGraph
metadata: {name: g}
spec:
  inputs: [{name: x, datatype: FP32, shape: [-1, 2]}]
  nodes:
${nodes}
  outputs: [a]
`;

describe('customModuleFields', () => {
  const cases: { name: string; source: string; fields: string[] }[] = [
    { name: 'a graph without modules', source: graph('    - {name: a, type: transformer, inputs: [graph.inputs]}'), fields: [] },
    { name: 'a transformer module', source: graph('    - {name: a, type: transformer, inputs: [graph.inputs], transformer: {module: /tmp/evil.js}}'), fields: ['spec.nodes[0].transformer.module'] },
    {
      name: 'a combiner module after another node',
      source: graph('    - {name: a, type: transformer, inputs: [graph.inputs]}\n    - {name: c, type: combiner, inputs: [a], combiner: {strategy: custom, module: c.ts}}'),
      fields: ['spec.nodes[1].combiner.module'],
    },
    { name: 'a module under a node of another type (still code)', source: graph('    - {name: a, type: model, inputs: [graph.inputs], transformer: {module: x.js}}'), fields: ['spec.nodes[0].transformer.module'] },
    { name: 'a module reached through an alias', source: graph('    - {name: a, type: transformer, inputs: [graph.inputs], transformer: &t {module: x.js}}\n    - {name: b, type: transformer, inputs: [a], transformer: *t}'), fields: ['spec.nodes[0].transformer.module', 'spec.nodes[1].transformer.module'] },
    { name: 'a document YAML cannot parse', source: 'spec: {nodes: [', fields: [] },
    { name: 'a document without nodes', source: 'spec: {}', fields: [] },
  ];
  for (const c of cases) {
    it(`lists ${c.fields.length} field(s) for ${c.name}`, () => assert.deepEqual(customModuleFields(c.source), c.fields));
  }
});
