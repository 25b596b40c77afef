import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { parseReferenceData } from '../reference/reference-data.parser';
import { fitOutlierDetector } from './outlier-detector';
import { quantile, resolveThreshold } from './threshold';

// Pure-logic unit test; reference quantiles are checked on the real iris reference.

const ROOT = process.env.INFERGRAPH_ROOT ?? path.resolve(__dirname, '../../../../..');
const IRIS = parseReferenceData(readFileSync(path.join(ROOT, 'models/iris-logreg/1/reference.csv'), 'utf8'), 'csv').rows;
const FIT = { ridge: 1e-6, trees: 100, sampleSize: 256, seed: 42 };

function assertClose(actual: number, expected: number, relative = 1e-9): void {
  assert.ok(Math.abs(actual - expected) <= relative * Math.max(1, Math.abs(expected)), `${actual} != ${expected}`);
}

describe('quantile', () => {
  // np.quantile([3, 1, 4, 1, 5, 9, 2, 6], q)  (method='linear', the default)
  const cases: [number, number][] = [
    [0, 1],
    [0.1, 1],
    [0.25, 1.75],
    [0.5, 3.5],
    [0.75, 5.25],
    [0.99, 8.79],
    [1, 9],
  ];
  for (const [q, expected] of cases) {
    it(`interpolates the ${q} quantile linearly as numpy does: ${expected}`, () => {
      const values = Float64Array.of(3, 1, 4, 1, 5, 9, 2, 6);
      assertClose(quantile(values, q), expected, 1e-12);
      assert.deepEqual(Array.from(values), [3, 1, 4, 1, 5, 9, 2, 6], 'the input is not reordered');
    });
  }

  it('refuses a quantile outside [0, 1] and an empty sample', () => {
    assert.throws(() => quantile([1, 2], 1.5), {
      message: /quantile must be between 0 and 1, got 1.5/,
    });
    assert.throws(() => quantile([], 0.5), {
      message: /quantile of no values/,
    });
  });
});

describe('resolveThreshold', () => {
  it('returns a given value as is', () => {
    const detector = fitOutlierDetector('zscore', IRIS, FIT);
    assert.equal(resolveThreshold(detector, IRIS, { value: 3 }), 3);
  });

  // numpy: np.quantile(reference_scores, q) with the reference scored by its own fitted detector
  const cases: ['mahalanobis' | 'zscore' | 'mad', number, number][] = [
    ['mahalanobis', 0.5, 3.1807531797909383],
    ['mahalanobis', 0.9, 7.565829433441302],
    ['mahalanobis', 0.99, 12.497599442255899],
    ['zscore', 0.99, 2.538882184437904],
    ['mad', 0.95, 2.0234722784297863],
  ];
  for (const [method, q, expected] of cases) {
    it(`takes the ${q} quantile of the iris reference's own ${method} scores`, () => {
      assertClose(
        resolveThreshold(fitOutlierDetector(method, IRIS, FIT), IRIS, {
          quantile: q,
        }),
        expected,
      );
    });
  }

  it('puts the isolation-forest 0.99 threshold between the typical and the largest reference score', () => {
    const detector = fitOutlierDetector('isolation-forest', IRIS, FIT);
    const scores = Array.from(detector.score(IRIS).scores).sort((a, b) => a - b);
    const threshold = resolveThreshold(detector, IRIS, { quantile: 0.99 });
    assert.ok(threshold > (scores[56] as number) && threshold <= (scores[111] as number), `${threshold}`);
  });

  const bad: [string, { value?: number; quantile?: number }][] = [
    ['both value and quantile', { value: 1, quantile: 0.5 }],
    ['neither value nor quantile', {}],
  ];
  for (const [what, threshold] of bad) {
    it(`refuses ${what}`, () => {
      assert.throws(() => resolveThreshold(fitOutlierDetector('zscore', IRIS, FIT), IRIS, threshold), { message: /give exactly one of value or quantile/ });
    });
  }
});
