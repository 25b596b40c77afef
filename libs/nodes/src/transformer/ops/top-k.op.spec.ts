import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assertInvalid, f32, output, problemRows, run, spec, tensor, typeOf, valuesOf } from '../transform-steps.fixtures';

const outputs = { values: 'v', indices: 'i' };

describe('topK step', () => {
  it('returns the k largest values per row, descending, lower index first on ties', () => {
    const x = f32('x', [2, 4], [1, 4, 4, 2, 9, 7, 8, 9]);
    const table: [number, number[], bigint[]][] = [
      [2, [4, 4, 9, 9], [1n, 2n, 0n, 3n]],
      [3, [4, 4, 2, 9, 9, 8], [1n, 2n, 3n, 0n, 3n, 2n]],
    ];
    for (const [k, values, indices] of table) {
      const result = run([{ op: 'topK', tensor: 'x', k, outputs }], x);
      assert.deepEqual(valuesOf(output(result, 'v', 'FP32', [2, k])), values);
      assert.deepEqual(valuesOf(output(result, 'i', 'INT64', [2, k])), indices);
    }
  });

  it('works along axis 0', () => {
    // [3, 2]: column [1, 3, 2] → 3 (1), 2 (2); column [6, 5, 4] → 6 (0), 5 (1)
    const result = run([{ op: 'topK', tensor: 'x', k: 2, axis: 0, outputs }], f32('x', [3, 2], [1, 6, 3, 5, 2, 4]));
    assert.deepEqual(valuesOf(output(result, 'v', 'FP32', [2, 2])), [3, 6, 2, 5]);
    assert.deepEqual(valuesOf(output(result, 'i', 'INT64', [2, 2])), [1n, 0n, 2n, 1n]);
  });

  it('keeps INT64 values exact', () => {
    const x = tensor('x', 'INT64', [3], BigInt64Array.from([2n ** 62n + 1n, -5n, 2n ** 62n + 2n]));
    const result = run([{ op: 'topK', tensor: 'x', k: 2, outputs }], x);
    assert.deepEqual(valuesOf(output(result, 'v', 'INT64', [2])), [2n ** 62n + 2n, 2n ** 62n + 1n]);
    assert.deepEqual(valuesOf(output(result, 'i', 'INT64', [2])), [2n, 0n]);
  });

  it('types values with the input datatype and indices as INT64', () => {
    assert.deepEqual(typeOf([{ op: 'topK', tensor: 'x', k: 5, outputs }], spec('x', 'FP16', [-1, 10])).outputs, [
      spec('x', 'FP16', [-1, 10]),
      spec('v', 'FP16', [-1, 5]),
      spec('i', 'INT64', [-1, 5]),
    ]);
  });

  it('reports k beyond the axis and outputs sharing a name', () => {
    const table: [unknown, [number, string | undefined, string][]][] = [
      [{ op: 'topK', tensor: 'x', k: 11, outputs }, [[0, 'k', 'k is 11, but axis -1 of tensor "x" [-1, 10] has only 10 elements']]],
      [
        { op: 'topK', tensor: 'x', k: 1, outputs: { values: 'y', indices: 'y' } },
        [[0, 'outputs', 'values and indices are both named "y"']],
      ],
    ];
    for (const [step, expected] of table) assert.deepEqual(problemRows(typeOf([step], spec('x', 'FP32', [-1, 10])).problems), expected);
  });

  it('checks k at run time against an axis that was dynamic', () => {
    assertInvalid(
      () => run([{ op: 'topK', tensor: 'x', k: 3, outputs }], f32('x', [1, 2], [1, 2])),
      /^step 0 \(topK\): k is 3, but axis -1 of tensor "x" \[1, 2\] has only 2 elements$/,
    );
  });
});
