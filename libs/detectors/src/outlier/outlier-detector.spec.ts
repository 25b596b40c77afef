import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OUTLIER_METHODS } from '@infergraph/spec';
import { IsolationForestDetector } from './isolation-forest.detector';
import { MahalanobisDetector } from './mahalanobis.detector';
import { fitOutlierDetector } from './outlier-detector';
import { PerFeatureDetector } from './per-feature.detector';

// Pure-logic unit test of the method dispatch and the reference checks shared by every method.

const FIT = { ridge: 1e-6, trees: 10, sampleSize: 16, seed: 1 };
const ROWS = [Float64Array.of(1, 2), Float64Array.of(2, 1), Float64Array.of(3, 5), Float64Array.of(0, 4)];

describe('fitOutlierDetector', () => {
  const kinds = {
    mahalanobis: MahalanobisDetector,
    zscore: PerFeatureDetector,
    mad: PerFeatureDetector,
    'isolation-forest': IsolationForestDetector,
  };
  for (const method of OUTLIER_METHODS) {
    it(`fits ${method} and scores one value per row, per-feature scores only for zscore and mad`, () => {
      const detector = fitOutlierDetector(method, ROWS, FIT);
      assert.ok(detector instanceof kinds[method]);
      assert.equal(detector.features, 2);
      const { scores, featureScores } = detector.score([
        [1, 1],
        [9, 9],
        [2, 3],
      ]);
      assert.equal(scores.length, 3);
      assert.equal(featureScores?.length, method === 'zscore' || method === 'mad' ? 6 : undefined);
    });
  }

  const badReferences: [string, Float64Array[], RegExp][] = [
    ['a single row', [Float64Array.of(1, 2)], /^zscore needs at least 2 reference rows, got 1$/],
    ['rows of different widths', [Float64Array.of(1, 2), Float64Array.of(1)], /^zscore: reference row 1 has 1 values, expected 2 \(as row 0\)$/],
    ['rows without values', [new Float64Array(0), new Float64Array(0)], /^zscore: reference rows have no values$/],
    ['a NaN value', [Float64Array.of(1, 2), Float64Array.of(NaN, 2)], /^zscore: reference row 1, feature 0 is NaN, expected a finite number$/],
  ];
  for (const [what, rows, message] of badReferences) {
    it(`refuses a reference with ${what}`, () => {
      assert.throws(() => fitOutlierDetector('zscore', rows, FIT), { message });
    });
  }
});
