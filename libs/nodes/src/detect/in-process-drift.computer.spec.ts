import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { driftConfigSchema } from '@infergraph/spec';
import { detectDriftFor } from './in-process-drift.computer';

// Pure logic: YAML-shaped config through the real schema into the real detectors.

const parse = (drift: object) => driftConfigSchema.parse({ reference: { path: 'r.csv' }, window: { size: 10 }, ...drift });
const column = (values: number[]): Float64Array => Float64Array.from(values);

describe('drift config to detector', () => {
  it('defaults mmd to the biased estimator, the median heuristic and standardised features, and chi2 to Yates', () => {
    const config = parse({ method: 'mmd' });
    assert.deepEqual(config.mmd, { estimator: 'biased', sigma: 'median', standardize: true });
    assert.deepEqual(config.chi2, { correction: 'yates' });
  });

  it('passes the mmd estimator, sigma and standardisation on to the test', () => {
    // x = [0, 1], y = [3], raw: distances 1, 3, 2, so the median sigma is 2; k(d) = exp(-d^2 / (2 sigma^2)).
    const k = (d: number, sigma: number): number => Math.exp(-(d * d) / (2 * sigma * sigma));
    const biased = (sigma: number): number => (2 + 2 * k(1, sigma)) / 4 + 1 - (k(3, sigma) + k(2, sigma));
    const run = (mmd: object): number => detectDriftFor(parse({ method: 'mmd', permutations: 10, mmd }), [column([0, 1])], [column([3])]).distance[0] ?? Number.NaN;
    assert.ok(Math.abs(run({ standardize: false }) - biased(2)) <= 1e-15);
    assert.ok(Math.abs(run({ standardize: false, sigma: 1 }) - biased(1)) <= 1e-15);
    assert.ok(Math.abs(run({ standardize: false, sigma: [1] }) - biased(1)) <= 1e-15);
    // Standardised by the reference (mean 0.5, sd sqrt(0.5)): the same pairs, distances scaled alike, so the median sigma scales too.
    assert.ok(Math.abs(run({}) - biased(2)) <= 1e-15);
    // Unbiased, nx = 2, ny = 2 (x = [0, 1], y = [3, 5]), sigma 1: k(1) + k(2) - (k(3) + k(5) + k(2) + k(4)) / 2.
    const unbiased = detectDriftFor(parse({ method: 'mmd', permutations: 10, mmd: { estimator: 'unbiased', sigma: 1, standardize: false } }), [column([0, 1])], [column([3, 5])]);
    assert.ok(Math.abs((unbiased.distance[0] ?? Number.NaN) - (k(1, 1) + k(2, 1) - (k(3, 1) + k(5, 1) + k(2, 1) + k(4, 1)) / 2)) <= 1e-15);
  });

  it('passes the chi2 correction on and reports the degrees of freedom', () => {
    // scipy.stats.chi2_contingency([[3, 2], [1, 5]], correction=True / False), reference_values.py.
    const reference = [column([1, 1, 1, 2, 2])];
    const window = [column([1, 2, 2, 2, 2, 2])];
    const yates = detectDriftFor(parse({ method: 'chi2' }), reference, window);
    assert.ok(Math.abs((yates.distance[0] ?? 0) - 0.7366071428571428) <= 1e-9 * 0.7366071428571428);
    const none = detectDriftFor(parse({ method: 'chi2', chi2: { correction: 'none' } }), reference, window);
    assert.ok(Math.abs((none.distance[0] ?? 0) - 2.213095238095238) <= 1e-9 * 2.213095238095238);
    assert.deepEqual(none.dof, [1]);
  });

  it('refuses an unknown estimator or correction, a sigma that is not positive, and Yates given as the multiple-testing correction', () => {
    const messages = (drift: object): string[] => {
      const result = driftConfigSchema.safeParse({ method: 'mmd', reference: { path: 'r.csv' }, window: { size: 10 }, ...drift });
      return result.success ? [] : result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    };
    assert.deepEqual(messages({ mmd: { estimator: 'v-statistic' } }), ['mmd.estimator: must be one of biased, unbiased']);
    assert.deepEqual(messages({ mmd: { sigma: 0 } }), ['mmd.sigma: must be a positive number']);
    assert.deepEqual(messages({ mmd: { sigma: [1, -1] } }), ['mmd.sigma.1: must be a positive number']);
    assert.deepEqual(messages({ mmd: { sigma: 'mean' } }), ['mmd.sigma: must be median, a positive number, or a list of positive numbers (one per feature)']);
    assert.deepEqual(messages({ chi2: { correction: 'williams' } }), ['chi2.correction: must be one of yates, none']);
    assert.deepEqual(messages({ correction: 'yates' }), ["correction: must be bonferroni, fdr or none (chi2's Yates correction is chi2.correction)"]);
  });
});
