import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatTensorRef, parseTensorRef } from './tensor-ref.parser';

describe('tensor reference parser', () => {
  const good: [string, ReturnType<typeof parseTensorRef>][] = [
    ['graph.inputs', { kind: 'graph-inputs', tensor: undefined }],
    ['graph.inputs.features', { kind: 'graph-inputs', tensor: 'features' }],
    ['clf', { kind: 'node', node: 'clf', tensor: undefined }],
    ['clf.outputs.label', { kind: 'node', node: 'clf', tensor: 'label' }],
    ['my-model.outputs.dense/BiasAdd:0', { kind: 'node', node: 'my-model', tensor: 'dense/BiasAdd:0' }],
    ['m1.outputs.a.b.c', { kind: 'node', node: 'm1', tensor: 'a.b.c' }],
  ];
  for (const [text, ref] of good) {
    it(`parses ${text}`, () => {
      assert.deepEqual(parseTensorRef(text), ref);
      assert.equal(formatTensorRef(ref as Exclude<typeof ref, string>), text);
    });
  }
  for (const bad of ['graph', 'graph.outputs', 'graph.inputs.', 'Clf', 'clf.outputs', 'clf.outputs.', 'clf.output.x', '-clf', '']) {
    it(`rejects ${JSON.stringify(bad)}`, () => {
      assert.equal(typeof parseTensorRef(bad), 'string');
    });
  }
});
