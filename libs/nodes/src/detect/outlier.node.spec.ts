import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InferenceError, type Tensor } from '@infergraph/protocol';
import type { OutlierDetector } from '@infergraph/detectors';
import { OutlierNode } from './outlier.node';

// Pure-logic unit test: the detector scores rows by their first value.

const detector: OutlierDetector = {
  features: 2,
  score: (rows) => ({ scores: Float64Array.from(rows, (r) => r[0] as number) }),
};
const x = (values: number[]): Tensor => ({ name: 'x', datatype: 'FP64', shape: [values.length / 2, 2], data: Float64Array.from(values) });

describe('outlier node', () => {
  it('flags rows scoring above the threshold, and rows that cannot be scored', async () => {
    const out = await new OutlierNode('guard', detector, 5, 'x', 'flag').infer(new Map([['x', x([1, 0, 9, 0, NaN, 0])]]));
    assert.deepEqual(Array.from(out.get('is_outlier')?.data as Uint8Array), [0, 1, 1]);
    assert.deepEqual(out.get('is_outlier')?.shape, [3]);
    assert.deepEqual(Array.from(out.get('outlier_score')?.data as Float64Array), [1, 9, NaN]);
    assert.equal(out.has('feature_scores'), false);
  });

  it('rejects with 422 and the scores when action is reject', async () => {
    const node = new OutlierNode('guard', detector, 5, 'x', 'reject');
    await assert.rejects(node.infer(new Map([['x', x([1, 0, 9, 0])]])), (err: unknown) => {
      assert.ok(err instanceof InferenceError);
      assert.equal(err.httpStatus, 422);
      assert.equal(err.message, 'node "guard": 1 of 2 rows are outliers (score above 5)');
      assert.deepEqual(err.details, { is_outlier: [false, true], outlier_score: [1, 9], threshold: 5 });
      return true;
    });
    assert.equal((await node.infer(new Map([['x', x([1, 0])]]))).get('is_outlier')?.data[0], 0);
  });

  it('refuses a tensor of the wrong width', async () => {
    await assert.rejects(new OutlierNode('guard', detector, 5, 'x', 'flag').infer(new Map([['x', { ...x([1, 2, 3]), shape: [1, 3] }]])), {
      code: 'INVALID_ARGUMENT',
      message: /tensor "x" must have shape \[N, 2\], got \[1, 3\]/,
    });
  });
});
