import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isRemoteModelUri, parseModelUri } from './model-uri';
import { parseGraphSource } from './graph-spec.parser';

// Pure-logic unit test: URI parsing and the model block's sha256 rule, no network or disk.
describe('parseModelUri', () => {
  const cases: { uri: string; expect: Record<string, unknown> | RegExp }[] = [
    { uri: 'models/m.onnx', expect: { scheme: 'file' } },
    { uri: '/abs/m.onnx', expect: { scheme: 'file' } },
    { uri: 'file:///abs/m.onnx', expect: { scheme: 'file' } },
    { uri: 's3://models/iris/v1/model.onnx', expect: { scheme: 's3', bucket: 'models', key: 'iris/v1/model.onnx' } },
    { uri: 'S3://models/k', expect: { scheme: 's3', bucket: 'models', key: 'k' } },
    { uri: 's3://models', expect: /names no object/ },
    { uri: 's3://models/', expect: /names no object/ },
    { uri: 's3://Models/k', expect: /not an S3 bucket name/ },
    { uri: 's3://a/k', expect: /not an S3 bucket name/ },
    { uri: 's3://a..b/k', expect: /not an S3 bucket name/ },
    { uri: `s3://models/${'k'.repeat(1025)}`, expect: /longer than 1024 bytes/ },
    { uri: 'https://user:secret@models.example/m.onnx', expect: /carries credentials/ },
    { uri: 'https://models.example/m.onnx#x', expect: /#fragment/ },
    { uri: 'gs://bucket/m.onnx', expect: /unsupported URI scheme "gs:\/\/"/ },
    { uri: 'https://', expect: /not a valid URL/ },
  ];
  for (const c of cases) {
    it(`${c.expect instanceof RegExp ? 'refuses' : 'reads'} ${c.uri.slice(0, 60)}`, () => {
      const parsed = parseModelUri(c.uri);
      if (c.expect instanceof RegExp) {
        assert.ok('error' in parsed, `expected an error for ${c.uri}`);
        assert.match(parsed.error, c.expect);
        assert.doesNotMatch(parsed.error, /secret/);
      } else {
        assert.deepEqual({ ...parsed }, c.expect);
      }
    });
  }

  it('keeps an https URL whole, query included', () => {
    const parsed = parseModelUri('https://models.example:8443/a/m.onnx?v=2');
    assert.ok(!('error' in parsed) && parsed.scheme === 'https');
    assert.equal(parsed.url.href, 'https://models.example:8443/a/m.onnx?v=2');
  });

  it('tells remote URIs from file paths', () => {
    assert.deepEqual(
      ['m.onnx', 'file:///m.onnx', 'https://h/m', 's3://b/k', 'gs://b/k'].map(isRemoteModelUri),
      [false, false, true, true, true],
    );
  });
});

describe('model.sha256 in a graph', () => {
  const graph = (model: string[]): string =>
    [
      'apiVersion: infergraph.dev/v1alpha1',
      'kind: InferenceGraph',
      'metadata: { name: demo }',
      'spec:',
      '  inputs: [{ name: x, datatype: FP32, shape: [-1, 4] }]',
      '  nodes:',
      '    - name: clf',
      '      type: model',
      '      inputs: [graph.inputs]',
      '      model:',
      ...model.map((l) => `        ${l}`),
      '  outputs: [clf.outputs.label]',
    ].join('\n');
  const sha = 'a'.repeat(64);
  const problems = (model: string[]): string[] => parseGraphSource(graph(model), 'g.yaml').diagnostics.map((d) => `${d.path}: ${d.message}`);

  it('requires sha256 for an https:// model, naming the field', () => {
    const found = problems(['uri: https://models.example/m.onnx']);
    assert.equal(found.length, 1);
    assert.match(found[0] ?? '', /^spec\.nodes\[0\]\.model\.sha256: required for an https:\/\/ model\.uri/);
  });

  it('requires sha256 for an http:// model too', () => {
    assert.match(problems(['uri: http://127.0.0.1:8080/m.onnx'])[0] ?? '', /^spec\.nodes\[0\]\.model\.sha256: required for an http:\/\//);
  });

  it('refuses a malformed sha256, naming the field', () => {
    const found = problems(['uri: https://models.example/m.onnx', `sha256: ${'A'.repeat(64)}`]);
    assert.match(found[0] ?? '', /^spec\.nodes\[0\]\.model\.sha256: must be 64 lowercase hex digits/);
  });

  it('accepts https with sha256, and s3 with or without it', () => {
    assert.deepEqual(problems(['uri: https://models.example/m.onnx', `sha256: ${sha}`]), []);
    assert.deepEqual(problems(['uri: s3://models/m.onnx']), []);
    assert.deepEqual(problems(['uri: s3://models/m.onnx', `sha256: ${sha}`]), []);
  });

  it('reports a malformed s3 location at model.uri', () => {
    assert.match(problems(['uri: s3://models'])[0] ?? '', /^spec\.nodes\[0\]\.model\.uri: .*names no object/);
  });
});
