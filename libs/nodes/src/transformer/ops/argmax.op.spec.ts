import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Tensor } from '@infergraph/protocol';
import { f32, output, problemRows, run, spec, tensor, typeOf, valuesOf } from '../transform-steps.fixtures';

describe('argmax step', () => {
  it('finds the index of the largest value along an axis, the first on ties', () => {
    const x = f32('x', [2, 3], [1, 6, 2, 5, 5, 4]);
    const table: [number, number[], bigint[]][] = [
      [-1, [2], [1n, 0n]], // rows [1, 6, 2] → 1, [5, 5, 4] → 0 (tie)
      [0, [3], [1n, 0n, 1n]], // columns [1, 5] → 1, [6, 5] → 0, [2, 4] → 1
    ];
    for (const [axis, shape, expected] of table) {
      assert.deepEqual(valuesOf(output(run([{ op: 'argmax', tensor: 'x', axis, output: 'i' }], x), 'i', 'INT64', shape)), expected);
    }
  });

  it('works along a middle axis', () => {
    // [2, 2, 2]; along axis 1: (0 vs 3) → 1, (5 vs 1) → 0, (2 vs 7) → 1, (2 vs 9) → 1
    const x = f32('x', [2, 2, 2], [0, 5, 3, 1, 2, 2, 7, 9]);
    assert.deepEqual(valuesOf(output(run([{ op: 'argmax', tensor: 'x', axis: 1 }], x), 'x', 'INT64', [2, 2])), [1n, 0n, 1n, 1n]);
  });

  it('compares INT64 exactly and ranks NaN above everything', () => {
    const table: [Tensor, bigint][] = [
      // 2^62 + 1 and 2^62 + 2 are the same double; as bigints the second is larger
      [tensor('x', 'INT64', [3], BigInt64Array.from([2n ** 62n + 1n, 2n ** 62n + 2n, 2n ** 62n])), 1n],
      [f32('x', [3], [1, NaN, 3]), 1n],
      [tensor('x', 'UINT8', [3], Uint8Array.from([7, 9, 9])), 1n],
    ];
    for (const [x, expected] of table)
      assert.deepEqual(valuesOf(output(run([{ op: 'argmax', tensor: 'x' }], x), 'x', 'INT64', [])), [expected]);
  });

  it('types the output as INT64 without the axis', () => {
    assert.deepEqual(typeOf([{ op: 'argmax', tensor: 'x', output: 'i' }], spec('x', 'FP32', [-1, 10])).outputs, [
      spec('x', 'FP32', [-1, 10]),
      spec('i', 'INT64', [-1]),
    ]);
  });

  it('reports a bad axis, an empty axis and a non-numeric tensor', () => {
    const table: [unknown, [number, string | undefined, string][]][] = [
      [{ op: 'argmax', tensor: 'x', axis: 2 }, [[0, 'axis', 'axis 2 is out of range for tensor "x" [4, 0] (valid axes: -2..1)']]],
      [{ op: 'argmax', tensor: 'x' }, [[0, 'axis', 'axis -1 of tensor "x" [4, 0] is empty; argmax needs at least one element']]],
    ];
    for (const [step, expected] of table) assert.deepEqual(problemRows(typeOf([step], spec('x', 'FP32', [4, 0])).problems), expected);
    assert.deepEqual(problemRows(typeOf([{ op: 'argmax', tensor: 's' }], spec('s', 'BYTES', [2])).problems), [
      [0, 'tensor', 'tensor "s" is BYTES, but argmax needs an integer or float tensor'],
    ]);
  });
});
