import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TensorSpec } from '@infergraph/protocol';
import { f32, output, problemRows, run, spec, tensor, typeOf, valuesOf } from '../transform-steps.fixtures';

describe('concat step', () => {
  it('joins along the last axis by default, row by row', () => {
    const a = f32('a', [2, 2], [1, 2, 3, 4]);
    const b = f32('b', [2, 1], [5, 6]);
    const result = run([{ op: 'concat', tensors: ['a', 'b'], output: 'ab' }], a, b);
    assert.deepEqual(valuesOf(output(result, 'ab', 'FP32', [2, 3])), [1, 2, 5, 3, 4, 6]);
    assert.deepEqual([...result.keys()], ['a', 'b', 'ab']);
  });

  it('joins along axis 0 by stacking the blocks', () => {
    const a = f32('a', [1, 2], [1, 2]);
    const b = f32('b', [2, 2], [3, 4, 5, 6]);
    assert.deepEqual(
      valuesOf(output(run([{ op: 'concat', tensors: ['a', 'b'], axis: 0, output: 'c' }], a, b), 'c', 'FP32', [3, 2])),
      [1, 2, 3, 4, 5, 6],
    );
  });

  it('joins INT64 and BYTES tensors', () => {
    const i = run(
      [{ op: 'concat', tensors: ['a', 'b'], axis: 0, output: 'c' }],
      tensor('a', 'INT64', [1], BigInt64Array.from([1n])),
      tensor('b', 'INT64', [2], BigInt64Array.from([2n, 3n])),
    );
    assert.deepEqual(valuesOf(output(i, 'c', 'INT64', [3])), [1n, 2n, 3n]);
    const s = run(
      [{ op: 'concat', tensors: ['a', 'b'], output: 'c' }],
      tensor('a', 'BYTES', [1], ['x']),
      tensor('b', 'BYTES', [2], ['y', 'z']),
    );
    assert.deepEqual(valuesOf(output(s, 'c', 'BYTES', [3])), ['x', 'y', 'z']);
  });

  it('types the joined shape, dynamic where any input is', () => {
    const table: [TensorSpec, TensorSpec, number, number[]][] = [
      [spec('a', 'FP32', [-1, 2]), spec('b', 'FP32', [-1, 3]), -1, [-1, 5]],
      [spec('a', 'FP32', [-1, 2]), spec('b', 'FP32', [3, 2]), 0, [-1, 2]],
      [spec('a', 'FP32', [-1, 2]), spec('b', 'FP32', [3, 2]), 1, [3, 4]],
    ];
    for (const [a, b, axis, shape] of table) {
      const typed = typeOf([{ op: 'concat', tensors: ['a', 'b'], axis, output: 'c' }], a, b);
      assert.deepEqual(typed, { outputs: [a, b, spec('c', 'FP32', shape)], problems: [] });
    }
  });

  it('reports mismatched datatypes, ranks, dimensions and axes', () => {
    const table: [TensorSpec, TensorSpec, number, [number, string | undefined, string][]][] = [
      [
        spec('a', 'FP32', [2]),
        spec('b', 'INT32', [2]),
        0,
        [
          [
            0,
            'tensors',
            'concat needs tensors of one datatype and rank: "b" INT32 [2] does not match "a" FP32 [2]; cast one of them first',
          ],
        ],
      ],
      [
        spec('a', 'FP32', [2]),
        spec('b', 'FP32', [2, 1]),
        0,
        [[0, 'tensors', 'concat needs tensors of one datatype and rank: "b" FP32 [2, 1] does not match "a" FP32 [2]']],
      ],
      [
        spec('a', 'FP32', [2, 2]),
        spec('b', 'FP32', [3, 3]),
        -1,
        [[0, 'tensors', 'dimension 0 differs between "a" [2, 2] and "b" [3, 3]; only axis 1 may differ']],
      ],
      [
        spec('a', 'FP32', [2, 2]),
        spec('b', 'FP32', [2, 2]),
        2,
        [[0, 'axis', 'axis 2 is out of range for tensor "a" [2, 2] (valid axes: -2..1)']],
      ],
    ];
    for (const [a, b, axis, expected] of table) {
      const typed = typeOf([{ op: 'concat', tensors: ['a', 'b'], axis, output: 'c' }], a, b);
      assert.deepEqual(problemRows(typed.problems), expected);
      assert.equal(typed.outputs, undefined);
    }
  });
});
