import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { parseReferenceData } from '../reference/reference-data.parser';
import { fitMadDetector, median } from './mad.detector';
import { fitZScoreDetector } from './zscore.detector';

// Pure-logic unit test for the per-feature detectors (zscore, mad), against the real iris reference.

const ROOT = process.env.INFERGRAPH_ROOT ?? path.resolve(__dirname, '../../../../..');
const IRIS = parseReferenceData(readFileSync(path.join(ROOT, 'models/iris-logreg/1/reference.csv'), 'utf8'), 'csv').rows;
const QUERIES = [
  [5.1, 3.5, 1.4, 0.2],
  [6.5, 3.0, 5.5, 1.8],
  [5.0, 2.0, 4.5, 0.2],
  [7.9, 4.4, 6.9, 2.5],
];

function assertAllClose(actual: ArrayLike<number> | undefined, expected: readonly number[], relative = 1e-9): void {
  assert.ok(actual !== undefined);
  assert.equal(actual.length, expected.length);
  expected.forEach((e, i) => {
    const a = actual[i] as number;
    assert.ok(Math.abs(a - e) <= relative * Math.max(1, Math.abs(e)), `[${i}] ${a} != ${e}`);
  });
}

const col = (...values: number[]): Float64Array[] => values.map((v) => Float64Array.of(v));

describe('zscore detector', () => {
  it('divides the distance to the mean by the sample std (hand-computed)', () => {
    // [1, 2, 3, 4]: mean 2.5, std sqrt(5/3) = 1.2909944487358056
    const { scores, featureScores } = fitZScoreDetector(col(1, 2, 3, 4)).score([[2.5], [5], [0]]);
    assertAllClose(scores, [0, 2.5 / Math.sqrt(5 / 3), 2.5 / Math.sqrt(5 / 3)]);
    assertAllClose(featureScores, [0, 1.9364916731037085, 1.9364916731037085]);
  });

  // np.abs(Q - X.mean(0)) / X.std(0, ddof=1), row max for the score
  it('matches numpy per feature and as the row maximum on the iris reference', () => {
    const { scores, featureScores } = fitZScoreDetector(IRIS).score(QUERIES);
    assertAllClose(
      featureScores,
      [
        0.9114184005663313, 0.9780101626746301, 1.3254555044844372, 1.2900579589345778, 0.7293440013716752, 0.1489151276500477, 0.9730685425671237,
        0.78701649067078, 1.0286157149904742, 2.402765708299403, 0.41245292133503575, 1.2900579589345778, 2.370106403309682, 3.006475685259051,
        1.7579304122920472, 1.6957365623731238,
      ],
    );
    assertAllClose(scores, [1.3254555044844372, 0.9730685425671237, 2.402765708299403, 3.006475685259051]);
  });

  it('scores a constant feature 0 at its value and Infinity elsewhere', () => {
    const detector = fitZScoreDetector([Float64Array.of(1, 7), Float64Array.of(3, 7)]);
    const { scores, featureScores } = detector.score([
      [2, 7],
      [2, 7.5],
      [4, 7],
    ]);
    // feature 0: mean 2, std sqrt(2); feature 1: constant 7
    assert.deepEqual(Array.from(featureScores ?? []).slice(0, 4), [0, 0, 0, Infinity]);
    assertAllClose(featureScores?.subarray(4), [Math.SQRT2, 0]);
    assert.deepEqual(Array.from(scores).slice(0, 2), [0, Infinity]);
    assertAllClose(scores.subarray(2), [Math.SQRT2]);
  });

  it('gives a NaN score to a row holding NaN', () => {
    const { scores } = fitZScoreDetector(col(1, 2, 3)).score([[NaN]]);
    assert.ok(Number.isNaN(scores[0]));
  });
});

describe('mad detector', () => {
  it('divides the distance to the median by 1.4826 × MAD (hand-computed)', () => {
    // [1, 2, 3, 4, 100]: median 3, |x - 3| = [2, 1, 0, 1, 97] → MAD 1, scale 1.4826
    const { scores, featureScores } = fitMadDetector(col(1, 2, 3, 4, 100)).score([[3], [6], [100]]);
    assertAllClose(scores, [0, 3 / 1.4826, 97 / 1.4826]);
    assertAllClose(featureScores, [0, 2.023472278429786, 65.42560366922973]);
  });

  // med = np.median(X, 0); mad = np.median(np.abs(X - med), 0)  → med [5.8 3. 4.3 1.3], mad [0.7 0.3 1.3 0.7]
  // np.abs(Q - med) / (1.4826 * mad), row max for the score
  it('matches numpy per feature and as the row maximum on the iris reference', () => {
    const { scores, featureScores } = fitMadDetector(IRIS).score(QUERIES);
    assertAllClose(
      featureScores,
      [
        0.6744907594765952, 1.124151265794326, 1.5046332326785588, 1.0599140506060782, 0.6744907594765952, 0, 0.6226068549014727, 0.4817791139118537,
        0.7708465822589656, 2.248302531588652, 0.10376780915024553, 1.0599140506060782, 2.023472278429786, 3.1476235442241136, 1.3489815189531909,
        1.1562698733884489,
      ],
    );
    assertAllClose(scores, [1.5046332326785588, 0.6744907594765952, 2.248302531588652, 3.1476235442241136]);
  });

  it('scores a feature whose MAD is zero 0 at its median and Infinity elsewhere', () => {
    // [5, 5, 5, 9]: median 5, MAD 0
    const { scores } = fitMadDetector(col(5, 5, 5, 9)).score([[5], [9]]);
    assert.deepEqual(Array.from(scores), [0, Infinity]);
  });

  const medians: [number[], number][] = [
    [[3, 1, 2], 2],
    [[4, 1, 3, 2], 2.5],
    [[-1, 10], 4.5],
    [[7], 7],
  ];
  for (const [values, expected] of medians) {
    it(`takes the median of [${values.join(', ')}] as ${expected}, like numpy`, () => {
      assert.equal(median(Float64Array.from(values)), expected);
    });
  }
});
