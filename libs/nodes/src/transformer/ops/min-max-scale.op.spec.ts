import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assertClose, f32, output, problemRows, run, spec, typeOf } from '../transform-steps.fixtures';

describe('minMaxScale step', () => {
  const x = f32('x', [2, 2], [2.5, 25, 10, 35]);

  it('maps min..max of each feature to 0..1 by default', () => {
    const result = run([{ op: 'minMaxScale', tensor: 'x', min: [0, 10], max: [10, 30] }], x);
    // (2.5-0)/10, (25-10)/20 | (10-0)/10, (35-10)/20
    assertClose(output(result, 'x', 'FP32', [2, 2]).data, [0.25, 0.75, 1, 1.25]);
  });

  it('maps into the given range', () => {
    const result = run([{ op: 'minMaxScale', tensor: 'x', min: [0, 10], max: [10, 30], range: [-1, 1], output: 's' }], x);
    // 0.25*2-1, 0.75*2-1 | 1*2-1, 1.25*2-1
    assertClose(output(result, 's', 'FP32', [2, 2]).data, [-0.5, 0.5, 1, 1.5]);
  });

  it('broadcasts a single min against per-feature maxima', () => {
    const result = run([{ op: 'minMaxScale', tensor: 'x', min: [0], max: [10, 50] }], x);
    assertClose(output(result, 'x', 'FP32', [2, 2]).data, [0.25, 0.5, 1, 0.7]);
  });

  it('reports a feature whose max equals its min, and lengths that do not fit', () => {
    const table: [unknown, [number, string | undefined, string][]][] = [
      [
        { op: 'minMaxScale', tensor: 'x', min: [0, 5], max: [1, 5] },
        [[0, 'max', 'max equals min (5) for feature 1; the scale would divide by zero']],
      ],
      [
        { op: 'minMaxScale', tensor: 'x', min: [0, 0, 0], max: [1] },
        [[0, 'min', 'min has 3 values, but the last dimension of tensor "x" [-1, 2] is 2; give 2 values, or 1 for all']],
      ],
    ];
    for (const [step, expected] of table) {
      assert.deepEqual(problemRows(typeOf([step], spec('x', 'FP32', [-1, 2])).problems), expected);
    }
  });

  it('needs a float tensor', () => {
    const { problems } = typeOf([{ op: 'minMaxScale', tensor: 'x', min: [0], max: [1] }], spec('x', 'UINT8', [4]));
    assert.deepEqual(problemRows(problems), [
      [0, 'tensor', 'tensor "x" is UINT8, but minMaxScale needs a float tensor (FP16, FP32 or FP64); add a cast step before it'],
    ]);
  });
});
