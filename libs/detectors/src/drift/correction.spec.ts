import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { correctPValues, type PValueCorrection } from './correction';

describe('p-value correction', () => {
  const cases: [string, number[], PValueCorrection, number, boolean[], number][] = [
    ['none keeps alpha', [0.01, 0.04, 0.06], 'none', 0.05, [true, true, false], 0.05],
    ['bonferroni divides alpha by the number of tests', [0.01, 0.02, 0.04], 'bonferroni', 0.05, [true, false, false], 0.05 / 3],
    ['bonferroni does not reject a p-value equal to the cut-off', [0.025, 0.5], 'bonferroni', 0.05, [false, false], 0.025],
    ['fdr rejects all when the largest p is under alpha', [0.01, 0.02, 0.04], 'fdr', 0.05, [true, true, true], 0.05],
    ['fdr stops at the largest qualifying rank', [0.03, 0.04, 0.2, 0.001], 'fdr', 0.05, [false, false, false, true], 0.0125],
    ['fdr steps up past a p-value above its own bound', [0.02, 0.03, 0.036, 0.5], 'fdr', 0.05, [true, true, true, false], 0.0375],
    ['fdr rejects nothing when no rank qualifies', [0.3, 0.2, 0.9], 'fdr', 0.05, [false, false, false], 0.05 / 3],
    ['fdr on a single test is alpha', [0.04], 'fdr', 0.05, [true], 0.05],
    ['fdr rejects a single p-value equal to alpha', [0.05], 'fdr', 0.05, [true], 0.05],
    // reference_values.py "bh q=0.1 ...": p(4) = 0.08 = 4 q / m; a strict rule would stop at k = 3.
    ['fdr keeps the largest rank whose p-value equals its bound', [0.08, 0.02, 0.5, 0.06, 0.04], 'fdr', 0.1, [true, true, false, true, true], 0.08],
    ['no tests leave alpha and reject nothing', [], 'bonferroni', 0.05, [], 0.05],
  ];
  for (const [name, pValues, method, alpha, rejected, threshold] of cases) {
    it(name, () => {
      const result = correctPValues(pValues, method, alpha);
      assert.deepEqual(result.rejected, rejected);
      assert.ok(Math.abs(result.threshold - threshold) <= 1e-15, `threshold ${result.threshold}, expected ${threshold}`);
    });
  }

  it('rejects with fdr a p-value exactly on its bound k q / m, as textbook Benjamini-Hochberg does', () => {
    // q = 0.05, m = 5: p(2) = 0.02 = 2 q / m exactly in floating point, p(1) = 0.015 above its bound 0.01.
    // scripts/detectors/reference_values.py "bh q=0.05 ...": cut-off 0.02, and scipy's
    // false_discovery_control(p) <= q rejects the same two.
    const { rejected, threshold } = correctPValues([0.5, 0.02, 0.2, 0.015, 0.9], 'fdr', 0.05);
    assert.deepEqual(rejected, [false, true, false, true, false]);
    assert.equal(threshold, 0.02);
  });

  it('rejects with fdr exactly what Benjamini-Hochberg rejects', () => {
    const pValues = [0.001, 0.008, 0.039, 0.041, 0.042, 0.06, 0.074, 0.205, 0.212, 0.216];
    const { rejected, threshold } = correctPValues(pValues, 'fdr', 0.05);
    // BH bounds k * 0.005: 0.008 < 0.010 is the last rank under its bound.
    assert.deepEqual(rejected, [true, true, false, false, false, false, false, false, false, false]);
    assert.ok(Math.abs(threshold - 0.01) < 1e-15);
  });
});
