import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { parseReferenceData } from '../reference/reference-data.parser';
import { fitMahalanobisDetector } from './mahalanobis.detector';

// Pure-logic unit test against the real iris reference of models/iris-logreg.

const ROOT = process.env.INFERGRAPH_ROOT ?? path.resolve(__dirname, '../../../../..');
const IRIS = parseReferenceData(readFileSync(path.join(ROOT, 'models/iris-logreg/1/reference.csv'), 'utf8'), 'csv').rows;

function assertClose(actual: number | undefined, expected: number, relative = 1e-9): void {
  assert.ok(actual !== undefined && Math.abs(actual - expected) <= relative * Math.max(1, Math.abs(expected)), `${actual} != ${expected}`);
}

describe('mahalanobis detector', () => {
  it('scores the squared distance under the sample covariance (hand-computed)', () => {
    // mean (1, 1); covariance diag(4/3, 4/3) (sum of squares 4 over n - 1 = 3): d² of (3, 1) = 2² / (4/3) = 3.
    const detector = fitMahalanobisDetector([Float64Array.of(0, 0), Float64Array.of(2, 0), Float64Array.of(0, 2), Float64Array.of(2, 2)], 0);
    const { scores, featureScores } = detector.score([
      [3, 1],
      [1, 1],
      [-1, 3],
    ]);
    [3, 0, 6].forEach((expected, i) => assertClose(scores[i], expected));
    assert.equal(featureScores, undefined);
  });

  // X = np.loadtxt('models/iris-logreg/1/reference.csv', delimiter=',', skiprows=1)
  // VI = np.linalg.inv(np.cov(X, rowvar=False) + 1e-6 * np.eye(4))
  // scipy.spatial.distance.mahalanobis(q, X.mean(0), VI) ** 2
  const irisCases: [number[], number][] = [
    [[5.1, 3.5, 1.4, 0.2], 2.1293470808914106],
    [[6.5, 3.0, 5.5, 1.8], 2.250243789272393],
    [[5.0, 2.0, 4.5, 0.2], 65.14898673335735],
    [[7.9, 4.4, 6.9, 2.5], 22.5046548367685],
    [[7.4, 2.8, 6.1, 1.9], 4.991327386057274], // reference row 0
  ];
  it('matches scipy on the iris reference with ridge 1e-6', () => {
    const detector = fitMahalanobisDetector(IRIS, 1e-6);
    assert.equal(detector.features, 4);
    const { scores } = detector.score(irisCases.map(([row]) => row));
    irisCases.forEach(([, expected], i) => assertClose(scores[i], expected));
  });

  it('keeps a constant feature invertible through the ridge', () => {
    const rows = [Float64Array.of(0, 5), Float64Array.of(1, 5), Float64Array.of(2, 5)];
    // covariance diag(1, 0) + ridge 0.01 = diag(1.01, 0.01)
    const { scores } = fitMahalanobisDetector(rows, 0.01).score([
      [1, 5],
      [3, 5],
      [1, 5.1],
    ]);
    assertClose(scores[0], 0);
    assertClose(scores[1], 4 / 1.01);
    assertClose(scores[2], 0.1 ** 2 / 0.01);
  });

  const singular: [string, Float64Array[]][] = [
    ['a constant feature', [Float64Array.of(0, 5), Float64Array.of(1, 5), Float64Array.of(2, 5)]],
    ['a feature that is the sum of two others', [Float64Array.of(1, 0, 1), Float64Array.of(0, 1, 1), Float64Array.of(2, 3, 5), Float64Array.of(4, 1, 5)]],
  ];
  for (const [what, rows] of singular) {
    it(`refuses a covariance that is not positive definite: ${what}, ridge 0`, () => {
      assert.throws(() => fitMahalanobisDetector(rows, 0), {
        message: /not positive definite even with ridge 0 \(feature \d is constant or a linear combination/,
      });
    });
  }

  it('rejects rows of the wrong width when scoring', () => {
    const detector = fitMahalanobisDetector(IRIS, 1e-6);
    assert.throws(() => detector.score([[1, 2, 3]]), {
      message: /^row 0 has 3 values; the detector was fitted on 4 features$/,
    });
  });
});
