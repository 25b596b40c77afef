import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assertClose, normalRows } from './drift.fixtures';
import { mmdPermutationTest } from './mmd';
import { seededRandom } from '../random/seeded-random';

describe('MMD permutation test', () => {
  it('computes the biased MMD^2 with the median-distance bandwidth', () => {
    // Pairwise distances 1, 3, 2: sigma = 2, k(d) = exp(-d^2 / 8).
    const k = (d: number): number => Math.exp(-(d * d) / 8);
    const expected = (2 + 2 * k(1)) / 4 + 1 - (k(3) + k(2));
    const result = mmdPermutationTest([[0], [1]], [[3]], 10, 0);
    assert.equal(result.bandwidth, 2);
    assertClose(result.statistic, expected, 1e-14);
  });

  it('leaves zero distances out of the median and falls back to sigma = 1 when all rows coincide', () => {
    assert.equal(mmdPermutationTest([[0], [0], [0]], [[1], [1], [4]], 5, 0).bandwidth, 1);
    const same = mmdPermutationTest([[2, 2]], [[2, 2]], 5, 0);
    assert.deepEqual(same, { statistic: 0, pValue: 1, bandwidth: 1 });
  });

  it('gives the same p-value for the same seed', () => {
    const random = seededRandom(7);
    const x = normalRows(random, 60, 3);
    const y = normalRows(random, 50, 3, 0.3);
    const first = mmdPermutationTest(x, y, 300, 42);
    assert.deepEqual(mmdPermutationTest(x, y, 300, 42), first);
    assert.equal(first.pValue * 301, Math.round(first.pValue * 301), 'p is (1 + count) / (1 + permutations)');
  });

  it('gives a large p-value for two samples of one distribution', () => {
    const random = seededRandom(11);
    const result = mmdPermutationTest(normalRows(random, 100, 3), normalRows(random, 100, 3), 200, 1);
    assert.ok(result.pValue > 0.2, `p = ${result.pValue}`);
  });

  it('gives p = 1 for identical samples', () => {
    const x = normalRows(seededRandom(3), 40, 2);
    assert.equal(mmdPermutationTest(x, x, 100, 5).pValue, 1);
  });

  it('detects a two-sigma mean shift with 200 permutations', () => {
    const random = seededRandom(2024);
    const result = mmdPermutationTest(normalRows(random, 100, 3), normalRows(random, 100, 3, 2), 200, 0);
    assert.ok(result.pValue < 0.05, `p = ${result.pValue}`);
    assert.equal(result.pValue, 1 / 201);
  });

  it('rejects rows of different dimensions and a bad permutation count', () => {
    assert.throws(() => mmdPermutationTest([[1, 2]], [[1, 2], [3]], 10, 0), /y row 1 has 1 features, x row 0 has 2/);
    assert.throws(() => mmdPermutationTest([[1]], [[2]], 0, 0), /permutations must be a positive integer/);
  });

  it('refuses a pooled sample too large for its kernel matrix before allocating it', () => {
    const rows = (n: number): number[][] => Array.from({ length: n }, () => [0]);
    assert.throws(() => mmdPermutationTest(rows(4000), rows(1001), 10, 0), /4000 \+ 1001 rows exceed the 5000/);
  });
});
