import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assertInvalid, f32, output, problemRows, run, spec, typeOf, valuesOf } from '../transform-steps.fixtures';

describe('split step', () => {
  const x = f32('x', [2, 3], [1, 2, 3, 4, 5, 6]);

  it('cuts along the last axis into pieces of the given sizes', () => {
    const result = run([{ op: 'split', tensor: 'x', sizes: [1, 2], outputs: ['a', 'b'] }], x);
    assert.deepEqual(valuesOf(output(result, 'a', 'FP32', [2, 1])), [1, 4]);
    assert.deepEqual(valuesOf(output(result, 'b', 'FP32', [2, 2])), [2, 3, 5, 6]);
    assert.deepEqual([...result.keys()], ['x', 'a', 'b']);
  });

  it('cuts along axis 0 into blocks of rows', () => {
    const result = run([{ op: 'split', tensor: 'x', axis: 0, sizes: [1, 1], outputs: ['r0', 'r1'] }], x);
    assert.deepEqual(valuesOf(output(result, 'r0', 'FP32', [1, 3])), [1, 2, 3]);
    assert.deepEqual(valuesOf(output(result, 'r1', 'FP32', [1, 3])), [4, 5, 6]);
  });

  it('types each piece, keeping dynamic dims off the axis', () => {
    assert.deepEqual(typeOf([{ op: 'split', tensor: 'x', sizes: [2, 1], outputs: ['a', 'b'] }], spec('x', 'INT32', [-1, 3])), {
      outputs: [spec('x', 'INT32', [-1, 3]), spec('a', 'INT32', [-1, 2]), spec('b', 'INT32', [-1, 1])],
      problems: [],
    });
  });

  it('reports sizes that do not cover the axis and outputs that do not match the sizes', () => {
    const table: [unknown, [number, string | undefined, string][]][] = [
      [
        { op: 'split', tensor: 'x', sizes: [1, 1], outputs: ['a', 'b'] },
        [[0, 'sizes', 'sizes add up to 2, but dimension 1 of tensor "x" [-1, 3] is 3']],
      ],
      [
        { op: 'split', tensor: 'x', sizes: [1, 1, 1], outputs: ['a', 'b'] },
        [[0, 'outputs', '2 outputs for 3 sizes; name one output per size']],
      ],
      [{ op: 'split', tensor: 'x', sizes: [1, 2], outputs: ['a', 'a'] }, [[0, 'outputs', 'output "a" is listed twice']]],
    ];
    for (const [step, expected] of table) assert.deepEqual(problemRows(typeOf([step], spec('x', 'FP32', [-1, 3])).problems), expected);
  });

  it('checks the sizes at run time along a dimension that was dynamic', () => {
    assertInvalid(
      () => run([{ op: 'split', tensor: 'x', axis: 0, sizes: [1, 2], outputs: ['a', 'b'] }], x),
      /^step 0 \(split\): sizes add up to 3, but dimension 0 of tensor "x" \[2, 3\] is 2$/,
    );
  });
});
