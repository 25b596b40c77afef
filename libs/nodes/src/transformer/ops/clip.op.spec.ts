import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Datatype } from '@infergraph/protocol';
import { assertClose, f32, output, problemRows, run, spec, tensor, typeOf, valuesOf } from '../transform-steps.fixtures';

describe('clip step', () => {
  it('limits floats to [min, max] and lets NaN through', () => {
    const x = f32('x', [5], [-2, -0.5, 0.5, 3, NaN]);
    const result = run([{ op: 'clip', tensor: 'x', min: -1, max: 1 }], x);
    assertClose(output(result, 'x', 'FP32', [5]).data, [-1, -0.5, 0.5, 1, NaN]);
  });

  it('clips on one side when only one bound is given', () => {
    const x = f32('x', [3], [-2, 0, 3]);
    assertClose(output(run([{ op: 'clip', tensor: 'x', max: 1 }], x), 'x', 'FP32', [3]).data, [-2, 0, 1]);
    assertClose(output(run([{ op: 'clip', tensor: 'x', min: 0, output: 'y' }], x), 'y', 'FP32', [3]).data, [0, 0, 3]);
  });

  it('keeps integer datatypes, rounding fractional bounds inward', () => {
    const x = tensor('x', 'INT32', [3], Int32Array.from([-5, 0, 7]));
    const result = run([{ op: 'clip', tensor: 'x', min: -1.5, max: 2.5 }], x);
    assert.deepEqual(valuesOf(output(result, 'x', 'INT32', [3])), [-1, 0, 2]);
  });

  it('saturates bounds beyond the integer datatype to its range', () => {
    const x = tensor('x', 'UINT8', [3], Uint8Array.from([0, 100, 255]));
    assert.deepEqual(valuesOf(output(run([{ op: 'clip', tensor: 'x', min: -10, max: 200 }], x), 'x', 'UINT8', [3])), [0, 100, 200]);
  });

  it('clips INT64 exactly, beyond 2^53', () => {
    const big = 2n ** 62n;
    const x = tensor('x', 'INT64', [3], BigInt64Array.from([-big, 5n, big]));
    assert.deepEqual(valuesOf(output(run([{ op: 'clip', tensor: 'x', max: 10 }], x), 'x', 'INT64', [3])), [-big, 5n, 10n]);
    assert.deepEqual(valuesOf(output(run([{ op: 'clip', tensor: 'x', min: 0 }], x), 'x', 'INT64', [3])), [0n, 5n, big]);
  });

  it('reports missing bounds, crossed bounds and non-numeric tensors', () => {
    const table: [unknown, Datatype, [number, string | undefined, string][]][] = [
      [{ op: 'clip', tensor: 'x' }, 'FP32', [[0, undefined, 'clip needs min, max or both']]],
      [{ op: 'clip', tensor: 'x', min: 2, max: 1 }, 'FP32', [[0, 'max', 'max (1) is below min (2)']]],
      [{ op: 'clip', tensor: 'x', min: 1.2, max: 1.8 }, 'INT16', [[0, 'max', 'no INT16 value lies between min (1.2) and max (1.8)']]],
      [
        { op: 'clip', tensor: 'x', min: 0 },
        'BOOL',
        [[0, 'tensor', 'tensor "x" is BOOL, but clip needs an integer or float tensor; add a cast step before it']],
      ],
      [{ op: 'clip', tensor: 'x', min: 0 }, 'BYTES', [[0, 'tensor', 'tensor "x" is BYTES, but clip needs an integer or float tensor']]],
    ];
    for (const [step, datatype, expected] of table) {
      assert.deepEqual(problemRows(typeOf([step], spec('x', datatype, [2])).problems), expected);
    }
  });
});
