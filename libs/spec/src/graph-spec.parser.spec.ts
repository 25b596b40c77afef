import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseGraphSource } from './graph-spec.parser';

// Pure-logic unit test: model files are checked through an injected function, no disk access.
const BASE = [
  'apiVersion: infergraph.dev/v1alpha1', // 1
  'kind: InferenceGraph', // 2
  'metadata:', // 3
  '  name: demo', // 4
  'spec:', // 5
  '  inputs:', // 6
  '    - name: features', // 7
  '      datatype: FP32', // 8
  '      shape: [-1, 4]', // 9
  '  nodes:', // 10
  '    - name: scale', // 11
  '      type: transformer', // 12
  '      inputs: [graph.inputs]', // 13
  '    - name: clf', // 14
  '      type: model', // 15
  '      inputs: [scale.outputs.features]', // 16
  '      model:', // 17
  '        uri: m.onnx', // 18
  '  outputs:', // 19
  '    - clf.outputs.label', // 20
];

/** BASE with 1-based lines replaced (string) or removed (null), and lines appended. */
function graph(edits: Record<number, string | null> = {}, append: string[] = []): string {
  const lines: string[] = [];
  BASE.forEach((line, i) => {
    const edit = edits[i + 1];
    if (edit === undefined) lines.push(line);
    else if (edit !== null) lines.push(...edit.split('\n'));
  });
  return [...lines, ...append].join('\n') + '\n';
}

const checkModelUri = (uri: string): string | undefined => (uri.includes('missing') ? `model file not found: /models/${uri}` : undefined);

type Expected = [line: number, column: number, path: string, message: RegExp];

const cases: { name: string; yaml: string; expected: Expected[] }[] = [
  { name: 'accepts a valid graph', yaml: graph(), expected: [] },
  {
    name: 'rejects an unknown node type, listing the valid ones',
    yaml: graph({ 15: '      type: modle' }),
    expected: [[15, 13, 'spec.nodes[1].type', /unknown node type "modle"; expected one of transformer, model, router, combiner, outlier, drift/]],
  },
  {
    name: 'rejects duplicate node names, pointing at the second',
    yaml: graph({ 14: '    - name: scale', 16: '      inputs: [graph.inputs]', 20: '    - scale' }),
    expected: [[14, 13, 'spec.nodes[1].name', /duplicate node name "scale" \(first declared at spec.nodes\[0\]\)/]],
  },
  {
    name: 'rejects a reference to an unknown node with a suggestion',
    yaml: graph({ 16: '      inputs: [scael.outputs.features]' }),
    expected: [[16, 16, 'spec.nodes[1].inputs[0]', /unknown node "scael"; did you mean "scale"\? \(nodes: scale, clf\)/]],
  },
  {
    name: 'rejects a reference to an unknown graph input tensor',
    yaml: graph({ 13: '      inputs: [graph.inputs.feature]' }),
    expected: [[13, 16, 'spec.nodes[0].inputs[0]', /graph has no input tensor "feature"; did you mean "features"\?/]],
  },
  {
    name: 'rejects a malformed reference',
    yaml: graph({ 16: '      inputs: [scale.output.features]' }),
    expected: [[16, 16, 'spec.nodes[1].inputs[0]', /invalid tensor reference "scale.output.features": expected "graph.inputs"/]],
  },
  {
    name: 'rejects a cycle and names it',
    yaml: graph({ 13: '      inputs: [clf]' }),
    expected: [[13, 15, 'spec.nodes[0].inputs', /cycle: scale -> clf -> scale; a graph must be acyclic/]],
  },
  {
    name: 'rejects a node reading its own outputs',
    yaml: graph({ 16: '      inputs: [clf.outputs.x]' }),
    expected: [[16, 16, 'spec.nodes[1].inputs[0]', /cannot read its own outputs/]],
  },
  {
    name: 'rejects a graph without outputs',
    yaml: graph({ 19: null, 20: null }),
    expected: [[6, 3, 'spec.outputs', /required field is missing \(array expected\)/]],
  },
  {
    name: 'rejects an empty outputs list',
    yaml: graph({ 19: '  outputs: []', 20: null }),
    expected: [[19, 12, 'spec.outputs', /must name at least one output/]],
  },
  {
    name: 'rejects bad datatypes and shapes',
    yaml: graph({ 8: '      datatype: FP33', 9: '      shape: [0, 4]' }),
    expected: [
      [8, 17, 'spec.inputs[0].datatype', /must be one of BOOL, .*BYTES/],
      [9, 15, 'spec.inputs[0].shape[0]', /dimensions must be >= 1, or -1/],
    ],
  },
  {
    name: 'rejects a model file that does not exist',
    yaml: graph({ 18: '        uri: missing.onnx' }),
    expected: [[18, 14, 'spec.nodes[1].model.uri', /model file not found: \/models\/missing.onnx/]],
  },
  {
    name: 'rejects a malformed sha256',
    yaml: graph({}, []).replace('        uri: m.onnx', '        uri: m.onnx\n        sha256: abc'),
    expected: [[19, 17, 'spec.nodes[1].model.sha256', /must be 64 lowercase hex digits/]],
  },
  {
    name: 'points at the key of an unknown field',
    yaml: graph({ 17: '      modle:' }),
    expected: [
      [14, 7, 'spec.nodes[1].model', /required field is missing/],
      [17, 7, 'spec.nodes[1].modle', /unknown field "modle"/],
    ],
  },
  {
    name: 'rejects a model node without a model block',
    yaml: graph({ 17: null, 18: null }),
    expected: [[14, 7, 'spec.nodes[1].model', /required field is missing \(object expected\)/]],
  },
  {
    name: 'rejects the wrong apiVersion and kind',
    yaml: graph({ 1: 'apiVersion: v1', 2: 'kind: Graph' }),
    expected: [
      [1, 13, 'apiVersion', /must be "infergraph.dev\/v1alpha1"/],
      [2, 7, 'kind', /must be "InferenceGraph"/],
    ],
  },
  {
    name: 'says a present field has the wrong type rather than calling it missing',
    yaml: graph({ 5: 'spec:\n  timeoutMs: fast' }),
    expected: [[6, 14, 'spec.timeoutMs', /expected number, received string/]],
  },
  {
    name: 'rejects a graph name that is not a DNS label',
    yaml: graph({ 4: '  name: Demo_Graph' }),
    expected: [[4, 9, 'metadata.name', /DNS-1123 label/]],
  },
  {
    name: 'rejects reading the outputs of a drift detector',
    yaml: graph({}, [
      '    - clf.outputs.probabilities',
    ]).replace(
      '  outputs:',
      '    - name: watch\n      type: drift\n      inputs: [graph.inputs]\n      drift: {method: ks, reference: {path: r.csv}, window: {size: 10}}\n  outputs:',
    ).replace('    - clf.outputs.probabilities', '    - watch'),
    expected: [[25, 7, 'spec.outputs[1]', /node "watch" is a drift detector: it runs off the request path and produces no tensors to read/]],
  },
  {
    name: 'rejects duplicate graph output names',
    yaml: graph({}, ['    - clf.outputs.label']),
    expected: [[21, 7, 'spec.outputs[1]', /duplicate graph output "label"/]],
  },
  {
    name: 'rejects a tensorMap key naming a node that is not an input',
    yaml: graph({ 16: '      inputs: [scale]\n      tensorMap:\n        other.outputs.x: input' }),
    expected: [[18, 26, 'spec.nodes[1].tensorMap.other.outputs.x', /renames a tensor of node "other", which is not among this node's inputs/]],
  },
  {
    name: 'reports YAML syntax errors with their position',
    yaml: graph({ 9: '      shape: [-1, 4' }),
    expected: [[10, 3, '(yaml)', /YAML syntax: Flow sequence in block collection must be sufficiently indented and end with a \]/]],
  },
  {
    name: 'rejects model.batching values out of range, each at its own key',
    yaml: graph({ 18: '        uri: m.onnx\n        batching: {maxBatchSize: 0, maxQueueDelayMicros: -1, maxQueueSize: 0}' }),
    expected: [
      [19, 34, 'spec.nodes[1].model.batching.maxBatchSize', /must be an integer >= 1/],
      [19, 58, 'spec.nodes[1].model.batching.maxQueueDelayMicros', /must be an integer number of microseconds >= 0/],
      [19, 76, 'spec.nodes[1].model.batching.maxQueueSize', /must be an integer >= 1/],
    ],
  },
  {
    name: 'rejects a fractional preferred batch size',
    yaml: graph({ 18: '        uri: m.onnx\n        batching:\n          maxBatchSize: 32\n          preferredBatchSizes: [8, 16, 2.5]' }),
    expected: [
      [21, 40, 'spec.nodes[1].model.batching.preferredBatchSizes[2]', /must be an integer >= 1/],
    ],
  },
  {
    name: 'rejects a preferred batch size above maxBatchSize',
    yaml: graph({ 18: '        uri: m.onnx\n        batching:\n          maxBatchSize: 32\n          preferredBatchSizes: [8, 64]' }),
    expected: [[21, 36, 'spec.nodes[1].model.batching.preferredBatchSizes[1]', /preferred batch size 64 exceeds maxBatchSize 32/]],
  },
  {
    name: 'rejects model.batching without maxBatchSize and with an unknown key',
    yaml: graph({ 18: '        uri: m.onnx\n        batching: {maxDelayMicros: 100}' }),
    expected: [
      [19, 19, 'spec.nodes[1].model.batching.maxBatchSize', /required field is missing/],
      [19, 20, 'spec.nodes[1].model.batching.maxDelayMicros', /unknown field "maxDelayMicros"/],
    ],
  },
  {
    name: 'reports every problem at once, in source order',
    yaml: graph({ 4: '  name: Demo', 12: '      type: transfomer', 16: '      inputs: [nope]', 18: '        uri: missing.onnx' }),
    expected: [
      [4, 9, 'metadata.name', /DNS-1123/],
      [12, 13, 'spec.nodes[0].type', /unknown node type "transfomer"/],
      [16, 16, 'spec.nodes[1].inputs[0]', /unknown node "nope"/],
      [18, 14, 'spec.nodes[1].model.uri', /model file not found/],
    ],
  },
];

describe('graph spec parser', () => {
  for (const c of cases) {
    it(c.name, () => {
      const parsed = parseGraphSource(c.yaml, 'demo.yaml', { checkModelUri });
      const got = parsed.diagnostics.map((d) => `${d.line}:${d.column} ${d.path}: ${d.message}`);
      assert.equal(parsed.diagnostics.length, c.expected.length, `diagnostics:\n${got.join('\n')}`);
      c.expected.forEach(([line, column, path, message], i) => {
        const d = parsed.diagnostics[i];
        assert.ok(d !== undefined);
        assert.equal(d.file, 'demo.yaml');
        assert.deepEqual([d.line, d.column, d.path], [line, column, path], `diagnostic ${i}: ${got[i]}`);
        assert.match(d.message, message);
      });
      assert.equal(parsed.graph === undefined, c.expected.length > 0);
    });
  }

  it('orders nodes so every node follows the nodes it reads from', () => {
    const yaml = graph({ 11: '    - name: clf', 12: '      type: model', 13: '      inputs: [scale]\n      model: {uri: m.onnx}', 14: '    - name: scale', 15: '      type: transformer', 16: '      inputs: [graph.inputs]', 17: null, 18: null });
    const parsed = parseGraphSource(yaml, 'demo.yaml', { checkModelUri });
    assert.deepEqual(parsed.diagnostics, []);
    assert.deepEqual(parsed.order, ['scale', 'clf']);
  });

  it('fills defaults for version, timeout and model options', () => {
    const parsed = parseGraphSource(graph(), 'demo.yaml', { checkModelUri });
    assert.ok(parsed.graph);
    assert.equal(parsed.graph.spec.version, '1');
    assert.equal(parsed.graph.spec.timeoutMs, 30_000);
    const clf = parsed.graph.spec.nodes[1];
    assert.ok(clf?.type === 'model');
    assert.equal(clf.model.allowNonFinite, false);
    assert.equal(clf.model.batching, undefined);
  });

  it('fills batching defaults: 500 µs delay, no preferred sizes, a queue of 16 batches (at least 256 requests)', () => {
    const batching = (block: string): unknown => {
      const parsed = parseGraphSource(graph({ 18: `        uri: m.onnx\n        batching: ${block}` }), 'demo.yaml', { checkModelUri });
      const clf = parsed.graph?.spec.nodes[1];
      assert.ok(clf?.type === 'model', JSON.stringify(parsed.diagnostics));
      return clf.model.batching;
    };
    assert.deepEqual(batching('{maxBatchSize: 8}'), { maxBatchSize: 8, maxQueueDelayMicros: 500, preferredBatchSizes: [], maxQueueSize: 256 });
    assert.deepEqual(batching('{maxBatchSize: 64}'), { maxBatchSize: 64, maxQueueDelayMicros: 500, preferredBatchSizes: [], maxQueueSize: 1024 });
    assert.deepEqual(batching('{maxBatchSize: 8, maxQueueDelayMicros: 0, preferredBatchSizes: [4, 8], maxQueueSize: 3}'), {
      maxBatchSize: 8,
      maxQueueDelayMicros: 0,
      preferredBatchSizes: [4, 8],
      maxQueueSize: 3,
    });
  });
});
