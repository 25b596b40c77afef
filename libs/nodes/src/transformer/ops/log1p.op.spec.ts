import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assertClose, assertInvalid, f32, output, problemRows, run, spec, tensor, typeOf } from '../transform-steps.fixtures';

describe('log1p step', () => {
  it('computes ln(1 + x), with -1 giving -Infinity', () => {
    // ln(1) = 0, ln(e) = 1, ln(0) = -Infinity, ln(2) = 0.6931471805599453
    const x = tensor('x', 'FP64', [4], Float64Array.from([0, Math.E - 1, -1, 1]));
    const result = run([{ op: 'log1p', tensor: 'x', output: 'y' }], x);
    assertClose(output(result, 'y', 'FP64', [4]).data, [0, 1, -Infinity, 0.6931471805599453], 1e-15);
  });

  it('rejects a value below -1, naming the element', () => {
    assertInvalid(
      () => run([{ op: 'log1p', tensor: 'x' }], f32('x', [2], [0.5, -2])),
      /^step 0 \(log1p\): tensor "x" element 1 is -2; log1p needs values >= -1$/,
    );
  });

  it('needs a float tensor', () => {
    assert.deepEqual(problemRows(typeOf([{ op: 'log1p', tensor: 'x' }], spec('x', 'INT64', [1])).problems), [
      [0, 'tensor', 'tensor "x" is INT64, but log1p needs a float tensor (FP16, FP32 or FP64); add a cast step before it'],
    ]);
  });
});
