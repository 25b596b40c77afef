import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assertClose, columnsToRows, mmdReferenceColumns, normalRows } from './drift.fixtures';
import { mmdPermutationTest, type MmdEstimator, type MmdSigma, type SampleRows } from './mmd';
import { seededRandom } from '../random/seeded-random';

// Without standardisation, as the hand-computed and behaviour cases below were written.
const RAW = { standardize: false } as const;

// MMD_X and MMD_Y of scripts/detectors/reference_values.py.
const MMD_X = columnsToRows(mmdReferenceColumns().x);
const MMD_Y = columnsToRows(mmdReferenceColumns().y);

describe('MMD permutation test', () => {
  it('computes the biased MMD^2 with the median-distance bandwidth', () => {
    // Pairwise distances 1, 3, 2: sigma = 2, k(d) = exp(-d^2 / 8).
    const k = (d: number): number => Math.exp(-(d * d) / 8);
    const expected = (2 + 2 * k(1)) / 4 + 1 - (k(3) + k(2));
    const result = mmdPermutationTest([[0], [1]], [[3]], { permutations: 10, seed: 0, ...RAW });
    assert.equal(result.bandwidth, 2);
    assertClose(result.statistic, expected, 1e-14);
  });

  it('leaves zero distances out of the median and falls back to sigma = 1 when all rows coincide', () => {
    assert.equal(mmdPermutationTest([[0], [0], [0]], [[1], [1], [4]], { permutations: 5, seed: 0, ...RAW }).bandwidth, 1);
    const same = mmdPermutationTest([[2, 2]], [[2, 2]], { permutations: 5, seed: 0, ...RAW });
    assert.deepEqual(same, { statistic: 0, pValue: 1, bandwidth: 1 });
  });

  describe('matches numpy on every combination of estimator, sigma and standardisation', () => {
    // scripts/detectors/reference_values.py, "mmd2 standardize=... sigma=... <estimator>" (numpy 2.3.5).
    const cases: [boolean, MmdSigma, MmdEstimator, number, number | number[]][] = [
      [true, 'median', 'biased', 0.25670764286879755, 2.5122286991170584],
      [true, 'median', 'unbiased', 0.22418793233656942, 2.5122286991170584],
      [true, 1.5, 'biased', 0.23916237251318606, 1.5],
      [true, 1.5, 'unbiased', 0.1790902584525963, 1.5],
      [true, [0.8, 2.5, 0.3], 'biased', 0.10609185907960322, [0.8, 2.5, 0.3]],
      [true, [0.8, 2.5, 0.3], 'unbiased', 0.019401720526441055, [0.8, 2.5, 0.3]],
      [false, 'median', 'biased', 0.03245099640223503, 3.06381131104422],
      [false, 'median', 'unbiased', -0.008086942194894142, 3.06381131104422],
      [false, 1.5, 'biased', 0.037247733410456285, 1.5],
      [false, 1.5, 'unbiased', -0.027803121090429594, 1.5],
      [false, [0.8, 2.5, 0.3], 'biased', 0.06800356974606803, [0.8, 2.5, 0.3]],
      [false, [0.8, 2.5, 0.3], 'unbiased', 0.014885573473747082, [0.8, 2.5, 0.3]],
    ];
    for (const [standardize, sigma, estimator, statistic, bandwidth] of cases) {
      it(`${estimator}, sigma ${JSON.stringify(sigma)}, ${standardize ? 'standardised' : 'raw'}`, () => {
        const result = mmdPermutationTest(MMD_X, MMD_Y, { permutations: 20, seed: 0, estimator, sigma, standardize });
        assertClose(result.statistic, statistic, 1e-9, 'MMD^2');
        if (typeof bandwidth === 'number') assertClose(result.bandwidth as number, bandwidth, 1e-12, 'sigma');
        else assert.deepEqual(result.bandwidth, bandwidth);
      });
    }
  });

  it('defaults to the biased estimator, the median heuristic and standardised features', () => {
    const defaults = mmdPermutationTest(MMD_X, MMD_Y, { permutations: 20, seed: 0 });
    assert.deepEqual(defaults, mmdPermutationTest(MMD_X, MMD_Y, { permutations: 20, seed: 0, estimator: 'biased', sigma: 'median', standardize: true }));
    assertClose(defaults.statistic, 0.25670764286879755, 1e-9);
  });

  it('gives the same statistic for a feature rescaled by 1000 when standardising', () => {
    const scaled = (rows: SampleRows): SampleRows => rows.map((r) => Float64Array.from(r, (v, f) => (f === 1 ? v * 1000 : v)));
    const before = mmdPermutationTest(MMD_X, MMD_Y, { permutations: 20, seed: 0 });
    assertClose(mmdPermutationTest(scaled(MMD_X), scaled(MMD_Y), { permutations: 20, seed: 0 }).statistic, before.statistic, 1e-12);
  });

  it('gives the same p-value for the same seed', () => {
    const random = seededRandom(7);
    const x = normalRows(random, 60, 3);
    const y = normalRows(random, 50, 3, 0.3);
    for (const estimator of ['biased', 'unbiased'] as const) {
      const first = mmdPermutationTest(x, y, { permutations: 300, seed: 42, estimator, ...RAW });
      assert.deepEqual(mmdPermutationTest(x, y, { permutations: 300, seed: 42, estimator, ...RAW }), first);
      assert.equal(first.pValue * 301, Math.round(first.pValue * 301), 'p is (1 + count) / (1 + permutations)');
    }
  });

  it('gives the same p-value with either estimator when the samples have equal sizes', () => {
    // With nx = ny both estimators fall as the cross-kernel sum grows, so they rank permutations alike.
    const random = seededRandom(5);
    const x = normalRows(random, 40, 2);
    const y = normalRows(random, 40, 2, 0.4);
    const biased = mmdPermutationTest(x, y, { permutations: 200, seed: 3, estimator: 'biased' });
    const unbiased = mmdPermutationTest(x, y, { permutations: 200, seed: 3, estimator: 'unbiased' });
    assert.ok(unbiased.statistic < biased.statistic);
    assert.equal(unbiased.pValue, biased.pValue);
  });

  it('gives a large p-value for two samples of one distribution', () => {
    const random = seededRandom(11);
    const result = mmdPermutationTest(normalRows(random, 100, 3), normalRows(random, 100, 3), { permutations: 200, seed: 1, ...RAW });
    assert.ok(result.pValue > 0.2, `p = ${result.pValue}`);
  });

  it('gives p = 1 for identical samples, with either estimator', () => {
    const x = normalRows(seededRandom(3), 40, 2);
    assert.equal(mmdPermutationTest(x, x, { permutations: 100, seed: 5, ...RAW }).pValue, 1);
    assert.equal(mmdPermutationTest(x, x, { permutations: 100, seed: 5, estimator: 'unbiased' }).pValue, 1);
  });

  it('detects a two-sigma mean shift with 200 permutations', () => {
    const random = seededRandom(2024);
    const result = mmdPermutationTest(normalRows(random, 100, 3), normalRows(random, 100, 3, 2), { permutations: 200, seed: 0, ...RAW });
    assert.ok(result.pValue < 0.05, `p = ${result.pValue}`);
    assert.equal(result.pValue, 1 / 201);
  });

  it('rejects rows of different dimensions and a bad permutation count', () => {
    assert.throws(() => mmdPermutationTest([[1, 2]], [[1, 2], [3]], { permutations: 10, seed: 0 }), /y row 1 has 1 features, x row 0 has 2/);
    assert.throws(() => mmdPermutationTest([[1]], [[2]], { permutations: 0, seed: 0 }), /permutations must be a positive integer/);
  });

  it('names a sigma that does not fit the features, and a sample too small for the unbiased estimator', () => {
    const options = { permutations: 10, seed: 0 };
    assert.throws(() => mmdPermutationTest(MMD_X, MMD_Y, { ...options, sigma: [1, 2] }), /sigma has 2 values \(one per feature\), the samples 3 features/);
    assert.throws(() => mmdPermutationTest(MMD_X, MMD_Y, { ...options, sigma: [1, 0, 2] }), /sigma\[1\] is 0; it must be a positive finite number/);
    assert.throws(() => mmdPermutationTest(MMD_X, MMD_Y, { ...options, sigma: -1 }), /sigma is -1; it must be a positive finite number/);
    assert.throws(() => mmdPermutationTest([[1], [2]], [[3]], { ...options, estimator: 'unbiased' }), /unbiased estimator needs at least two rows in each sample, got 2 and 1/);
  });

  it('refuses a pooled sample too large for its kernel matrix before allocating it', () => {
    const rows = (n: number): number[][] => Array.from({ length: n }, () => [0]);
    assert.throws(() => mmdPermutationTest(rows(4000), rows(1001), { permutations: 10, seed: 0 }), /4000 \+ 1001 rows exceed the 5000/);
  });
});
