import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MAX_GRAPH_BYTES } from './graph-source.guard';
import { preparePostedGraph } from './posted-graph';

const graph = (extra = ''): string => `apiVersion: infergraph.dev/v1alpha1
kind: InferenceGraph
metadata: {name: posted}
spec:
  inputs: [{name: x, datatype: FP32, shape: [-1, 4]}]
  nodes:
    - name: m
      type: model
      inputs: [graph.inputs.x]
      model: {uri: ../models/m.onnx}
${extra}  outputs: [m.outputs.y]
`;

describe('preparePostedGraph', () => {
  it('makes relative paths absolute against the base directory and names the graph', () => {
    const posted = preparePostedGraph(Buffer.from(graph()), '/srv/graphs');
    assert.ok(!('problem' in posted));
    assert.equal(posted.name, 'posted');
    assert.match(posted.text, /uri: "\/srv\/models\/m\.onnx"/);
    assert.deepEqual(posted.moduleFields, []);
  });

  it('lists the custom modules a document names', () => {
    const extra = `    - name: t
      type: transformer
      inputs: [m.outputs.y]
      transformer: {module: ./t.ts, export: t, outputs: [{name: z, datatype: FP32, shape: [-1]}]}
`;
    const posted = preparePostedGraph(Buffer.from(graph(extra)), '/srv/graphs');
    assert.ok(!('problem' in posted));
    assert.equal(posted.moduleFields.length, 1);
    assert.match(posted.moduleFields[0] ?? '', /transformer\.module/);
  });

  it('refuses binary, non-UTF-8, oversized and alias-bomb documents before parsing them', () => {
    const cases: [Uint8Array, RegExp][] = [
      [Buffer.from('a: 1\0'), /^the posted graph is binary/],
      [Buffer.from([0x61, 0x3a, 0x20, 0xff]), /^the posted graph is not UTF-8/],
      [Buffer.alloc(MAX_GRAPH_BYTES + 1, 0x61), /^the posted graph is \d+ bytes/],
      [Buffer.from(`a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [${'*a, '.repeat(30)}*a]\nc: [${'*b, '.repeat(30)}*b]\n`), /^the posted graph YAML aliases expand/],
    ];
    for (const [bytes, message] of cases) {
      const posted = preparePostedGraph(bytes, '/srv/graphs');
      assert.ok('problem' in posted, message.source);
      assert.match(posted.problem, message);
    }
  });

  it('refuses a document that only outgrows the size limit once its paths are absolute', () => {
    // Just under the limit as posted; the absolute base directory lengthens each of its relative paths.
    const base = `/srv/${'d'.repeat(200)}`;
    const node = (i: number): string => `    - name: m${i}\n      type: model\n      inputs: [graph.inputs.x]\n      model: {uri: m.onnx}\n`;
    let nodes = '';
    for (let i = 0; Buffer.byteLength(graph(nodes)) + 80 < MAX_GRAPH_BYTES; i++) nodes += node(i);
    const bytes = Buffer.from(graph(nodes));
    assert.ok(bytes.length <= MAX_GRAPH_BYTES);
    const posted = preparePostedGraph(bytes, base);
    assert.ok('problem' in posted);
    assert.match(posted.problem, /with its relative paths made absolute against \/srv\/d+, is \d+ bytes/);
  });
});
