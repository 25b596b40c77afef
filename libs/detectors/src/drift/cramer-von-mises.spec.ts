import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cvmLimitingCdf, cvmTwoSample, scaledBesselK } from './cramer-von-mises';
import { assertClose, fractionalSequence as seq } from './drift.fixtures';

// Expected values: scipy 1.17.1, printed by scripts/detectors/reference_values.py.
const GOLDEN = 0.6180339887498949;
const SQRT2 = 0.41421356237309515;
const SQRT3 = 0.7320508075688772;

describe('two-sample Cramér-von Mises test', () => {
  // scipy.stats.cramervonmises_2samp(x, y): exact when both samples have <= 20 values
  const cases: [string, ArrayLike<number>, ArrayLike<number>, number, number][] = [
    ['5 vs 7 values, exact', [1.2, 3.4, 0.5, 2.2, 4.1], [2.8, 3.9, 5.5, 4.4, 6.1, 3.3, 7.0], 0.45753968253968247, 0.05555555555555555],
    ['tied values, exact with mid-ranks', [1, 2, 2, 3, 4, 4], [2, 3, 3, 4, 5, 5, 6], 0.2719780219780219, 0.1754079254079254],
    ['20 vs 18 values, exact', seq(20, GOLDEN), seq(18, SQRT2, 0.9, 0.3), 0.6347953216374274, 0.01808753764270064],
    ['25 vs 30 values, asymptotic', seq(25, GOLDEN), seq(30, SQRT2, 0.9, 0.2), 0.23830303030302957, 0.20743237026559747],
    ['200 vs 150 values, asymptotic', seq(200, GOLDEN), seq(150, SQRT3, 1, 0.1), 0.8200761904761862, 0.0065319822813000306],
  ];
  for (const [name, x, y, statistic, pValue] of cases) {
    it(`matches scipy on ${name}`, () => {
      const result = cvmTwoSample(x, y);
      assertClose(result.statistic, statistic, 1e-12, 'T');
      assertClose(result.pValue, pValue, 1e-9, 'p');
    });
  }

  it('gives a large p-value for identical samples', () => {
    const x = seq(30, GOLDEN);
    assert.ok(cvmTwoSample(x, x).pValue > 0.99);
  });

  it('needs at least two values per sample', () => {
    assert.throws(() => cvmTwoSample([1], [1, 2]), /at least two values, got 1 and 2/);
  });
});

describe('limiting Cramér-von Mises distribution', () => {
  it('computes e^z K_1/4(z) to 1e-14 against a 60-digit series', () => {
    // pi/2 (I_-1/4 - I_1/4) / sin(pi/4) in decimal arithmetic (reference_values.py); scipy's kve is
    // 6.5e-14 off at z = 2.
    const cases: [number, number][] = [
      [0.5, 1.5832939515157762],
      [1, 1.1708721016781378],
      [2, 0.8525365601750416],
      [5, 0.5509545760059713],
    ];
    for (const [z, value] of cases) assertClose(scaledBesselK(0.25, z), value, 1e-14, `e^z K_1/4(${z})`);
  });

  it('has the cdf scipy sums, to 3e-15', () => {
    // scipy.stats._hypotests._cdf_cvm_inf(x)
    const cases: [number, number][] = [
      [0.05, 0.12371906895864906],
      [0.3, 0.8648287311948927],
      [1, 0.9975395478198642],
    ];
    for (const [x, cdf] of cases) assert.ok(Math.abs(cvmLimitingCdf(x) - cdf) < 3e-15, `cdf(${x}) = ${cvmLimitingCdf(x)}, scipy ${cdf}`);
  });
});
