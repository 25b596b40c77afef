import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assertInvalid, f32, problemRows, run, spec, typeOf } from '../transform-steps.fixtures';

describe('select step', () => {
  const [a, b, c] = [f32('a', [1], [1]), f32('b', [1], [2]), f32('c', [1], [3])];

  it('keeps only the listed tensors, in the listed order', () => {
    const result = run([{ op: 'select', tensors: ['c', 'a'] }], a, b, c);
    assert.deepEqual(
      [...result.entries()],
      [
        ['c', c],
        ['a', a],
      ],
    );
  });

  it('reports a tensor the node does not have, listing those it has', () => {
    const typed = typeOf([{ op: 'select', tensors: ['a', 'bb'] }], spec('a', 'FP32', [1]), spec('b', 'FP32', [1]));
    assert.deepEqual(problemRows(typed.problems), [[0, 'tensors', 'no tensor "bb" at this step (tensors: "a", "b"); did you mean "b"?']]);
    assert.equal(typed.outputs, undefined);
    assertInvalid(
      () => run([{ op: 'select', tensors: ['missing'] }], a),
      /^step 0 \(select\): no tensor "missing" at this step \(tensors: "a"\)$/,
    );
  });
});
