import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TensorSpec } from '@infergraph/protocol';
import { assertClose, assertInvalid, f32, output, problemRows, run, spec, tensor, typeOf, valuesOf } from '../transform-steps.fixtures';

describe('standardize step', () => {
  it('subtracts the mean and divides by the std of each feature along the last axis', () => {
    const x = f32('x', [2, 3], [1, 2, 3, 4, 5, 6]);
    const result = run([{ op: 'standardize', tensor: 'x', mean: [0, 1, 2], std: [2, 4, 0.5] }], x);
    // (1-0)/2, (2-1)/4, (3-2)/0.5 | (4-0)/2, (5-1)/4, (6-2)/0.5
    assertClose(output(result, 'x', 'FP32', [2, 3]).data, [0.5, 0.25, 2, 2, 1, 8]);
  });

  it('broadcasts a single mean and std to every feature', () => {
    const x = f32('x', [2, 3], [1, 2, 3, 4, 5, 6]);
    const result = run([{ op: 'standardize', tensor: 'x', mean: [2], std: [4], output: 'z' }], x);
    assertClose(output(result, 'z', 'FP32', [2, 3]).data, [-0.25, 0, 0.25, 0.5, 0.75, 1]);
    assert.equal(result.get('x'), x, 'the input stays when the result has its own name');
  });

  it('computes FP64 in double precision', () => {
    const x = tensor('x', 'FP64', [1], Float64Array.from([10]));
    const result = run([{ op: 'standardize', tensor: 'x', mean: [3], std: [3] }], x);
    assertClose(output(result, 'x', 'FP64', [1]).data, [2.3333333333333335], 1e-15);
  });

  it('reads and writes FP16 as half bits', () => {
    // 1.5 = 0x3E00, -2 = 0xC000; (1.5-0.5)/2 = 0.5 = 0x3800, (-2-0.5)/2 = -1.25 = 0xBD00
    const x = tensor('x', 'FP16', [2], Uint16Array.from([0x3e00, 0xc000]));
    const result = run([{ op: 'standardize', tensor: 'x', mean: [0.5], std: [2] }], x);
    assert.deepEqual(valuesOf(output(result, 'x', 'FP16', [2])), [0x3800, 0xbd00]);
  });

  it('reports parameter lengths, zero stds and integer inputs at typing', () => {
    const table: [unknown, TensorSpec, [number, string | undefined, string][]][] = [
      [
        { op: 'standardize', tensor: 'x', mean: [0, 0], std: [1] },
        spec('x', 'FP32', [-1, 3]),
        [[0, 'mean', 'mean has 2 values, but the last dimension of tensor "x" [-1, 3] is 3; give 3 values, or 1 for all']],
      ],
      [
        { op: 'standardize', tensor: 'x', mean: [0], std: [1, 0, 2] },
        spec('x', 'FP32', [3]),
        [[0, 'std', 'std[1] is 0; every std must be non-zero']],
      ],
      [
        { op: 'standardize', tensor: 'x', mean: [0], std: [1] },
        spec('x', 'INT32', [3]),
        [[0, 'tensor', 'tensor "x" is INT32, but standardize needs a float tensor (FP16, FP32 or FP64); add a cast step before it']],
      ],
      [
        { op: 'standardize', tensor: 'x', mean: [0, 1], std: [1, 2, 3] },
        spec('x', 'FP32', [-1, -1]),
        [[0, 'std', 'std has 3 values, but mean has 2']],
      ],
    ];
    for (const [step, incoming, expected] of table) {
      assert.deepEqual(problemRows(typeOf([step], incoming).problems), expected);
    }
  });

  it('keeps the input type and accepts any per-feature length on a dynamic last dimension', () => {
    const typed = typeOf([{ op: 'standardize', tensor: 'x', mean: [0, 1], std: [1, 2], output: 'z' }], spec('x', 'FP32', [-1, -1]));
    assert.deepEqual(typed, { outputs: [spec('x', 'FP32', [-1, -1]), spec('z', 'FP32', [-1, -1])], problems: [] });
  });

  it('rejects at run time a last dimension the parameters do not fit', () => {
    assertInvalid(
      () => run([{ op: 'standardize', tensor: 'x', mean: [0, 1], std: [1] }], f32('x', [1, 3], [1, 2, 3])),
      /^step 0 \(standardize\): mean has 2 values, but the last dimension of tensor "x" \[1, 3\] is 3/,
    );
  });
});
