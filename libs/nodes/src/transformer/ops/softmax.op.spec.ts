import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assertClose, f32, output, problemRows, run, spec, tensor, typeOf, valuesOf } from '../transform-steps.fixtures';

describe('softmax step', () => {
  it('normalizes exponentials along the last axis', () => {
    // e^1, e^2, e^3 = 2.7182818, 7.3890561, 20.0855369; sum 30.1928749
    const result = run([{ op: 'softmax', tensor: 'x', output: 'p' }], f32('x', [1, 3], [1, 2, 3]));
    assertClose(output(result, 'p', 'FP32', [1, 3]).data, [0.09003057, 0.24472847, 0.66524096]);
  });

  it('stays finite for large logits by subtracting the max', () => {
    const result = run([{ op: 'softmax', tensor: 'x' }], f32('x', [3], [1000, 1001, 1002]));
    assertClose(output(result, 'x', 'FP32', [3]).data, [0.09003057, 0.24472847, 0.66524096]);
  });

  it('normalizes along axis 0 column by column', () => {
    // columns [0, 0] → [0.5, 0.5]; [1, 3] → [1 / (1 + e^2), e^2 / (1 + e^2)] = [0.11920292, 0.88079708]
    const result = run([{ op: 'softmax', tensor: 'x', axis: 0 }], f32('x', [2, 2], [0, 1, 0, 3]));
    assertClose(output(result, 'x', 'FP32', [2, 2]).data, [0.5, 0.11920292, 0.5, 0.88079708]);
  });

  it('writes FP16 as half bits', () => {
    // four equal logits → 0.25 each = 0x3400
    const result = run([{ op: 'softmax', tensor: 'x' }], tensor('x', 'FP16', [4], new Uint16Array(4)));
    assert.deepEqual(valuesOf(output(result, 'x', 'FP16', [4])), [0x3400, 0x3400, 0x3400, 0x3400]);
  });

  it('needs a float tensor and an axis it has', () => {
    assert.deepEqual(problemRows(typeOf([{ op: 'softmax', tensor: 'x', axis: 1 }], spec('x', 'INT32', [3])).problems), [
      [0, 'tensor', 'tensor "x" is INT32, but softmax needs a float tensor (FP16, FP32 or FP64); add a cast step before it'],
      [0, 'axis', 'axis 1 is out of range for tensor "x" [3] (valid axes: -1..0)'],
    ]);
    assert.deepEqual(problemRows(typeOf([{ op: 'softmax', tensor: 'x' }], spec('x', 'FP32', [])).problems), [
      [0, 'axis', 'axis -1 is out of range for tensor "x" [] (it is a scalar and has none)'],
    ]);
  });
});
