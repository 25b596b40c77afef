import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TensorSpec } from '@infergraph/protocol';
import { diagnosticsWith, parseGraphSource } from './graph-spec.parser';
import { warmUpGraphParser } from './graph-parser.warmup';
import { typeGraph, type NodeTyper } from './graph-typing';

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

// Typing without runtimes: a model node gives the iris classifier's outputs, a transformer passes its inputs on.
const IRIS_OUTPUTS: readonly TensorSpec[] = [
  { name: 'label', datatype: 'INT64', shape: [-1] },
  { name: 'probabilities', datatype: 'FP32', shape: [-1, 3] },
];
const fakeTyper: NodeTyper = (node, incoming) => ({ outputs: node.type === 'model' ? IRIS_OUTPUTS : incoming, problems: [] });

/** Every diagnostic of parsing and then typing what parsed, as `line:column path: [note: ]message`. */
function diagnosticsOf(yaml: string, typer: NodeTyper = fakeTyper): string[] {
  const parsed = parseGraphSource(yaml, 'demo.yaml', { checkModelUri });
  assert.equal(parsed.graph, undefined, 'a graph with problems is never handed out whole');
  return diagnosticsWith(parsed, typeGraph(parsed.partial, typer).problems).map(
    (d) => `${d.line}:${d.column} ${d.path}: ${d.severity === 'note' ? 'note: ' : ''}${d.message}`,
  );
}

describe('graph validation with problems in several places', () => {
  it('reports six different problems in one file at once, typing every node that does not depend on a broken part', () => {
    const yaml = [
      'apiVersion: infergraph.dev/v1alpha1', // 1
      'kind: InferenceGraph', // 2
      'metadata:', // 3
      '  name: six', // 4
      'spec:', // 5
      '  inputs:', // 6
      '    - {name: features, datatype: FP32, shape: [-1, 4]}', // 7
      '    - {name: counts, datatype: INT46, shape: [-1, 4]}', // 8: bad datatype
      '  nodes:', // 9
      '    - name: scale', // 10
      '      type: transformer', // 11
      '      inputs: [graph.inputs.features]', // 12
      '    - name: pick', // 13
      '      type: transformer', // 14
      '      inputs: [scale.outputs.feature]', // 15: a tensor a healthy node does not produce
      '    - name: clf', // 16
      '      type: model', // 17
      '      inputs: [scale]', // 18
      '      model: {uri: missing.onnx}', // 19: missing model file
      '    - name: label-text', // 20
      '      type: transformer', // 21
      '      inputs: [clf.outputs.label]', // 22
      '    - name: post', // 23
      '      type: transfromer', // 24: unknown node type
      '      inputs: [scale]', // 25
      '    - name: loop-a', // 26
      '      type: transformer', // 27
      '      inputs: [loop-b]', // 28: a cycle
      '    - name: loop-b', // 29
      '      type: transformer', // 30
      '      inputs: [loop-a]', // 31
      '    - name: after-loop', // 32
      '      type: transformer', // 33
      '      inputs: [loop-b]', // 34
      '    - name: twin', // 35
      '      type: transformer', // 36
      '      inputs: [graph.inputs.features]', // 37
      '    - name: twin', // 38: a duplicate name
      '      type: transformer', // 39
      '      inputs: [graph.inputs]', // 40
      '    - name: everything', // 41
      '      type: transformer', // 42
      '      inputs: [graph.inputs]', // 43
      '  outputs:', // 44
      '    - pick', // 45
      '    - label-text', // 46
    ].join('\n');
    const got = diagnosticsOf(yaml);
    const expected: [prefix: string, message: RegExp][] = [
      ['8:7 spec.inputs[1]: note: ', /^not typed because they depend on graph input "counts", which has problems: everything$/],
      ['8:32 spec.inputs[1].datatype: ', /^must be one of BOOL, /],
      ['15:16 spec.nodes[1].inputs[0]: ', /^node "scale" has no tensor "feature"; did you mean "features"\? \(available: features\)$/],
      ['16:7 spec.nodes[2]: note: ', /^not typed because they depend on node "clf", which has problems: label-text$/],
      ['19:20 spec.nodes[2].model.uri: ', /^model file not found: \/models\/missing\.onnx$/],
      ['24:13 spec.nodes[4].type: ', /^unknown node type "transfromer"/],
      ['28:15 spec.nodes[5].inputs: ', /^cycle: loop-a -> loop-b -> loop-a; a graph must be acyclic$/],
      ['29:7 spec.nodes[6]: note: ', /^not typed because they depend on node "loop-b", which has problems: after-loop$/],
      ['38:13 spec.nodes[9].name: ', /^duplicate node name "twin" \(first declared at spec.nodes\[8\]\)$/],
    ];
    assert.equal(got.length, expected.length, got.join('\n'));
    expected.forEach(([prefix, message], i) => {
      const line = got[i] ?? '';
      assert.ok(line.startsWith(prefix), `diagnostic ${i}: ${line}`);
      assert.match(line.slice(prefix.length), message, `diagnostic ${i}: ${line}`);
    });
  });

  it('notes a broken node once, naming every node skipped behind it, however far downstream', () => {
    const got = diagnosticsOf(graph({ 18: '        uri: missing.onnx', 20: '    - b' }).replace(
      '  outputs:',
      ['    - {name: a, type: transformer, inputs: [clf]}', '    - {name: b, type: transformer, inputs: [a, scale]}', '  outputs:'].join('\n'),
    ));
    assert.deepEqual(got, [
      '14:7 spec.nodes[1]: note: not typed because they depend on node "clf", which has problems: a, b',
      '18:14 spec.nodes[1].model.uri: model file not found: /models/missing.onnx',
    ]);
  });

  it('types nodes beside a node with schema problems and skips, with a note, only the ones reading it', () => {
    const got = diagnosticsOf(
      graph({ 12: '      type: transformer\n      transformer: {steps: [{op: nope}]}', 20: '    - clf.outputs.labels' }, [
        '    - other.outputs.x',
      ]).replace('  outputs:', '    - {name: other, type: transformer, inputs: [graph.inputs]}\n  outputs:'),
    );
    assert.equal(got.length, 3, got.join('\n'));
    assert.equal(got[0], '11:7 spec.nodes[0]: note: not typed because they depend on node "scale", which has problems: clf');
    assert.match(got[1] ?? '', /^13:34 spec\.nodes\[0\]\.transformer\.steps\[0\]\.op: unknown op; expected one of /);
    assert.equal(got[2], '23:7 spec.outputs[1]: node "other" has no tensor "x" (available: features)');
  });

  it('notes the nodes after a node the typer could not type, once, at that node', () => {
    const untypedModels: NodeTyper = (node, incoming) =>
      node.type === 'model' ? { outputs: undefined, problems: [{ path: ['spec', 'nodes', 1, 'inputs'], message: 'model input "input" is not fed' }] } : { outputs: incoming, problems: [] };
    const yaml = graph({ 4: '  name: Demo', 20: '    - b' }).replace(
      '  outputs:',
      ['    - {name: a, type: transformer, inputs: [clf]}', '    - {name: b, type: transformer, inputs: [a]}', '  outputs:'].join('\n'),
    );
    assert.deepEqual(diagnosticsOf(yaml, untypedModels), [
      '4:9 metadata.name: must be a DNS-1123 label: lowercase letters, digits and "-", starting and ending with a letter or digit',
      '14:7 spec.nodes[1]: note: not typed because they depend on node "clf", which has problems: a, b',
      '16:15 spec.nodes[1].inputs: model input "input" is not fed',
    ]);
  });
});

describe('graph parser input screening', () => {
  it('refuses a YAML alias bomb with one located problem instead of throwing or expanding it', () => {
    const levels = ['a: &a ["x","x","x","x","x","x","x","x","x"]'];
    for (let i = 1; i < 9; i++) levels.push(`${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [*${String.fromCharCode(96 + i)},*${String.fromCharCode(96 + i)},*${String.fromCharCode(96 + i)},*${String.fromCharCode(96 + i)},*${String.fromCharCode(96 + i)},*${String.fromCharCode(96 + i)},*${String.fromCharCode(96 + i)},*${String.fromCharCode(96 + i)},*${String.fromCharCode(96 + i)}]`);
    const parsed = parseGraphSource(levels.join('\n'), 'bomb.yaml');
    assert.equal(parsed.graph, undefined);
    assert.equal(parsed.diagnostics.length, 1);
    assert.match(parsed.diagnostics[0]?.message ?? '', /^the document (uses more than 100 YAML aliases|YAML aliases expand beyond)/);
  });

  it('reports a collection used as a mapping key without printing a process warning', async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error): void => void warnings.push(w.message);
    process.on('warning', onWarning);
    try {
      const parsed = parseGraphSource(graph({}, ['? [a, b]', ': 1']), 'keys.yaml');
      assert.equal(parsed.graph, undefined);
      await new Promise((resolve) => setImmediate(resolve)); // warnings are emitted on the next tick
    } finally {
      process.off('warning', onWarning);
    }
    assert.deepEqual(warnings, []);
  });

  it('reads the text once and still locates YAML errors and refuses a second document, at their lines', () => {
    const broken = parseGraphSource(graph({ 9: '      shape: [-1, 4' }), 'broken.yaml');
    assert.equal(broken.graph, undefined);
    assert.ok(broken.diagnostics.length > 0 && broken.diagnostics.every((d) => d.path === '(yaml)' && d.line >= 9), JSON.stringify(broken.diagnostics));
    const two = parseGraphSource(`${graph()}---\nkind: InferenceGraph\n`, 'two.yaml');
    assert.equal(two.graph, undefined);
    assert.deepEqual(
      two.diagnostics.map((d) => `${d.line} ${d.message}`),
      ['21 YAML syntax: Source contains multiple documents; please use YAML.parseAllDocuments()'],
    );
    const empty = parseGraphSource('', 'empty.yaml');
    assert.equal(empty.graph, undefined);
    assert.ok(empty.diagnostics.length > 0);
  });
});

describe('graph parser warm-up', () => {
  it('parses its sample without a problem, a parse per turn of the event loop, so timers run in between', async () => {
    let timers = 0;
    const count = (): void => {
      timers++;
      if (running) setTimeout(count, 0);
    };
    let running = true;
    setTimeout(count, 0);
    await warmUpGraphParser(20);
    running = false;
    assert.ok(timers >= 5, `timers ran ${timers} times during 20 parses`);
  });
});
