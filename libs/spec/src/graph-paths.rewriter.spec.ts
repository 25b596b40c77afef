import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { absolutizeGraphPaths } from './graph-paths.rewriter';

// Pure-logic unit test: documents are strings, nothing is read or written.

const BASE = '/srv/graphs';

const graph = (nodes: string): string => `# my graph, kept as I wrote it
apiVersion: infergraph.dev/v1alpha1
kind: InferenceGraph
metadata:
  name: paths   # the name
spec:
  inputs: [{name: input, datatype: FP32, shape: [-1, 4]}]
  nodes:
${nodes}
  outputs: [a.outputs.label]
`;

describe('absolutizeGraphPaths', () => {
  const cases: { name: string; node: string; rewritten: string }[] = [
    { name: 'model.uri, plain', node: '    - {name: a, type: model, inputs: [graph.inputs], model: {uri: ../models/m.onnx}}', rewritten: '"/srv/models/m.onnx"' },
    { name: "model.uri, 'single-quoted'", node: "    - {name: a, type: model, inputs: [graph.inputs], model: {uri: 'm.onnx'}}", rewritten: '"/srv/graphs/m.onnx"' },
    { name: 'transformer.module', node: '    - name: a\n      type: transformer\n      inputs: [graph.inputs]\n      transformer: {module: ./modules/t.js, outputs: []}', rewritten: '"/srv/graphs/modules/t.js"' },
    { name: 'combiner.module', node: '    - name: a\n      type: combiner\n      inputs: [b, c]\n      combiner:\n        strategy: custom\n        module: "c.ts" # custom\n', rewritten: '"/srv/graphs/c.ts"' },
    { name: 'outlier.reference.path', node: '    - name: a\n      type: outlier\n      inputs: [graph.inputs]\n      outlier: {method: zscore, reference: {path: data/ref.csv}}', rewritten: '"/srv/graphs/data/ref.csv"' },
    { name: 'drift.reference.path', node: '    - name: a\n      type: drift\n      inputs: [graph.inputs]\n      drift:\n        method: ks\n        reference:\n          path: ref.json\n        window: {size: 10}', rewritten: '"/srv/graphs/ref.json"' },
  ];
  for (const c of cases) {
    it(`rewrites ${c.name} to an absolute path and leaves every other byte as it was`, () => {
      const text = graph(c.node);
      const out = absolutizeGraphPaths(text, BASE);
      assert.equal(out.rewritten.length, 1);
      assert.ok(out.text.includes(c.rewritten), out.text);
      const { from, to } = out.rewritten[0]!;
      assert.equal(to, JSON.parse(c.rewritten));
      // Put the original value back where the new one is: the rest of the document is byte-for-byte the same.
      const at = out.text.indexOf(c.rewritten);
      const original = text.slice(at, text.length - (out.text.length - at - c.rewritten.length));
      assert.equal(out.text.slice(0, at) + original + out.text.slice(at + c.rewritten.length), text);
      assert.ok(original.includes(from));
      assert.equal(out.name, 'paths');
    });
  }

  it('leaves absolute paths and file:// model URLs alone', () => {
    const text = graph(
      '    - {name: a, type: model, inputs: [graph.inputs], model: {uri: /abs/m.onnx}}\n' +
        '    - {name: b, type: model, inputs: [graph.inputs], model: {uri: "file:///abs/m.onnx"}}',
    );
    const out = absolutizeGraphPaths(text, BASE);
    assert.equal(out.text, text);
    assert.deepEqual(out.rewritten, []);
  });

  it('names every rewritten field, in node order', () => {
    const text = graph(
      '    - {name: a, type: model, inputs: [graph.inputs], model: {uri: a.onnx}}\n' +
        '    - {name: r, type: router, inputs: [a.outputs], router: {routes: [{name: x, to: [b]}]}}\n' +
        '    - {name: b, type: model, inputs: [graph.inputs], model: {uri: b.onnx}}',
    );
    assert.deepEqual(absolutizeGraphPaths(text, BASE).rewritten, [
      { field: 'spec.nodes[0].model.uri', from: 'a.onnx', to: '/srv/graphs/a.onnx' },
      { field: 'spec.nodes[2].model.uri', from: 'b.onnx', to: '/srv/graphs/b.onnx' },
    ]);
  });

  it('replaces an alias by the absolute value and keeps the anchor it points at', () => {
    const text = graph('    - {name: a, type: model, inputs: [graph.inputs], model: {uri: *m}}').replace('metadata:\n', 'metadata:\n  annotations: {model: &m m.onnx}\n');
    const out = absolutizeGraphPaths(text, BASE);
    assert.ok(out.text.includes('{model: &m m.onnx}'));
    assert.ok(out.text.includes('model: {uri: "/srv/graphs/m.onnx"}'), out.text);
  });

  it('escapes what a path may hold so the stored document still parses', () => {
    const text = graph(`    - {name: a, type: model, inputs: [graph.inputs], model: {uri: 'we"ird # dir/m.onnx'}}`);
    const out = absolutizeGraphPaths(text, BASE);
    assert.ok(out.text.includes('uri: "/srv/graphs/we\\"ird # dir/m.onnx"'), out.text);
  });

  it('returns a document YAML cannot parse unchanged, for the validator to report', () => {
    const text = 'metadata: {name: x\nspec: [';
    assert.deepEqual(absolutizeGraphPaths(text, BASE), { text, name: undefined, rewritten: [] });
  });

  it('skips what is not a node of a known type', () => {
    const text = graph('    - just a string\n    - {name: a, type: mystery, model: {uri: m.onnx}}\n    - {name: b, model: {uri: m.onnx}}');
    assert.equal(absolutizeGraphPaths(text, BASE).text, text);
  });
});
