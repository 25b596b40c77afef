import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { featureHistogram } from './feature.histogram';

// Pure-logic unit test: bins over both samples' range, shares per sample.

describe('featureHistogram', () => {
  it('bins both samples on the same edges over their joint range, as shares of each', () => {
    const h = featureHistogram('x', [0, 1, 2, 3], [2, 3, 4, 4], 4);
    assert.deepEqual(h.edges, [0, 1, 2, 3, 4]);
    assert.deepEqual(h.reference, [0.25, 0.25, 0.25, 0.25]);
    // 4 falls in the last bin, which includes its upper edge.
    assert.deepEqual(h.recent, [0, 0, 0.25, 0.75]);
    assert.deepEqual([h.referenceSize, h.recentSize], [4, 4]);
  });

  it('has no recent shares before a window completed, and leaves non-finite values out', () => {
    const h = featureHistogram('x', [1, Number.NaN, 3, Number.POSITIVE_INFINITY], undefined, 2);
    assert.deepEqual(h.edges, [1, 2, 3]);
    assert.deepEqual(h.reference, [0.5, 0.5]);
    assert.equal(h.recent, undefined);
    assert.equal(h.referenceSize, 2);
  });

  it('gives a single value a unit-wide range, and empty samples zero shares', () => {
    assert.deepEqual(featureHistogram('x', [5, 5], undefined, 1).edges, [4.5, 5.5]);
    assert.deepEqual(featureHistogram('x', [], [], 2).reference, [0, 0]);
  });

  it('refuses a bin count that is not a positive integer', () => {
    assert.throws(() => featureHistogram('x', [1], undefined, 0), /bins must be an integer >= 1/);
  });
});
