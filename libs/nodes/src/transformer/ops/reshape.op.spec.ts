import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assertInvalid, f32, output, problemRows, run, spec, typeOf, valuesOf } from '../transform-steps.fixtures';

describe('reshape step', () => {
  const x = f32('x', [2, 3], [1, 2, 3, 4, 5, 6]);

  it('keeps the elements in order and infers the -1 dimension', () => {
    const result = run([{ op: 'reshape', tensor: 'x', shape: [3, -1], output: 'y' }], x);
    assert.deepEqual(valuesOf(output(result, 'y', 'FP32', [3, 2])), [1, 2, 3, 4, 5, 6]);
    assert.deepEqual(output(run([{ op: 'reshape', tensor: 'x', shape: [-1] }], x), 'x', 'FP32', [6]).data, x.data);
  });

  it('types the shape from a fully known input, and keeps declared dims for a dynamic one', () => {
    const table: [number[], number[], number[]][] = [
      [
        [2, 3],
        [3, -1],
        [3, 2],
      ],
      [
        [2, 3],
        [1, 6],
        [1, 6],
      ],
      [
        [-1, 4],
        [-1, 2, 2],
        [-1, 2, 2],
      ],
      [
        [-1, 4],
        [2, 2],
        [2, 2],
      ],
    ];
    for (const [from, shape, expected] of table) {
      assert.deepEqual(typeOf([{ op: 'reshape', tensor: 'x', shape }], spec('x', 'FP32', from)), {
        outputs: [spec('x', 'FP32', expected)],
        problems: [],
      });
    }
  });

  it('reports shapes that cannot hold the elements and more than one -1', () => {
    const table: [number[], [number, string | undefined, string][]][] = [
      [[4, -1], [[0, 'shape', 'cannot reshape tensor "x" [2, 3] (6 elements) to [4, -1]']]],
      [[7], [[0, 'shape', 'cannot reshape tensor "x" [2, 3] (6 elements) to [7]']]],
      [[-1, -1], [[0, 'shape', 'shape [-1, -1] has 2 dimensions of -1; at most one can be inferred']]],
    ];
    for (const [shape, expected] of table) {
      const typed = typeOf([{ op: 'reshape', tensor: 'x', shape }], spec('x', 'FP32', [2, 3]));
      assert.deepEqual(problemRows(typed.problems), expected);
      assert.equal(typed.outputs, undefined);
    }
  });

  it('checks the element count at run time when the declared shape was dynamic', () => {
    assertInvalid(
      () => run([{ op: 'reshape', tensor: 'x', shape: [4, 2] }], x),
      /^step 0 \(reshape\): cannot reshape tensor "x" \[2, 3\] \(6 elements\) to \[4, 2\]$/,
    );
  });
});
