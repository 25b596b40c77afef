import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assertClose, fractionalSequence as seq } from './drift.fixtures';
import { kolmogorovSf } from './kolmogorov.distribution';
import { ksTwoSample, type KsMode } from './kolmogorov-smirnov';
import { kstwoSf } from './kstwo.distribution';

// Expected values: scipy 1.17.1, printed by scripts/detectors/reference_values.py.
const GOLDEN = 0.6180339887498949;
const SQRT2 = 0.41421356237309515;
const SQRT3 = 0.7320508075688772;
/** numpy.linspace: i * step + start, the last value exactly stop. */
const linspace = (a: number, b: number, n: number): number[] => Array.from({ length: n }, (_, i) => (i === n - 1 ? b : i * ((b - a) / (n - 1)) + a));

describe('two-sample Kolmogorov-Smirnov test', () => {
  const cases: [string, ArrayLike<number>, ArrayLike<number>, KsMode, number, number][] = [
    // ks_2samp([1.01, 2.01], [1, 2, 3, 4]); p = 14/15
    ['interleaved samples of 2 and 4', [1.01, 2.01], [1, 2, 3, 4], 'auto', 0.5, 14 / 15],
    // ks_2samp([0.99, 1.99], [1, 2, 3, 4]); p = 0.4
    ['a sample of 2 below a sample of 4', [0.99, 1.99], [1, 2, 3, 4], 'auto', 0.75, 0.4],
    // ks_2samp(np.linspace(1, 100, 100), np.linspace(1, 100, 110) + 20.1, method='exact')
    ['shifted linspaces, exact', linspace(1, 100, 100), linspace(1, 100, 110).map((v) => v + 20.1), 'exact', 232 / 1100, 0.015739183865607353],
    // ... method='asymp'
    ['shifted linspaces, asymp', linspace(1, 100, 100), linspace(1, 100, 110).map((v) => v + 20.1), 'asymp', 232 / 1100, 0.016541419540219482],
    // ks_2samp([1, 1, 2, 2, 3, 3, 3, 4], [2, 2, 3, 3, 4, 4, 5, 5, 5]) and method='asymp'
    ['tied samples, exact', [1, 1, 2, 2, 3, 3, 3, 4], [2, 2, 3, 3, 4, 4, 5, 5, 5], 'auto', 0.4305555555555556, 0.2964212258329906],
    ['tied samples, asymp', [1, 1, 2, 2, 3, 3, 3, 4], [2, 2, 3, 3, 4, 4, 5, 5, 5], 'asymp', 0.4305555555555556, 0.3452533198064319],
    // ks_2samp(seq(300, GOLDEN), seq(300, SQRT2, 0.9, 0.15)): equal sizes, the square-boundary formula
    ['equal sizes of 300', seq(300, GOLDEN), seq(300, SQRT2, 0.9, 0.15), 'auto', 0.15, 0.002308793437830372],
    // ks_2samp(seq(600, GOLDEN), seq(450, SQRT3, 0.9, 0.12)) and method='asymp'
    ['600 vs 450, exact', seq(600, GOLDEN), seq(450, SQRT3, 0.9, 0.12), 'auto', 0.12222222222222222, 0.0008476815396993159],
    ['600 vs 450, asymp', seq(600, GOLDEN), seq(450, SQRT3, 0.9, 0.12), 'asymp', 0.12222222222222223, 0.0008367774226630371],
    // ks_2samp(seq(3000, GOLDEN), seq(2000, SQRT2, 1, 0.03), method='asymp')
    ['3000 vs 2000, asymp', seq(3000, GOLDEN), seq(2000, SQRT2, 1, 0.03), 'asymp', 0.030833333333333324, 0.19986064901589606],
    // ks_2samp(seq(10000, GOLDEN), seq(9999, SQRT2, 1, 0.02)): auto is still exact at 10000
    ['10000 vs 9999, auto is exact', seq(10000, GOLDEN), seq(9999, SQRT2, 1, 0.02), 'auto', 0.02043789378937894, 0.030263179338985136],
    // ks_2samp(seq(12000, GOLDEN), seq(11000, SQRT2, 1, 0.01)): auto switches to asymp past 10000
    ['12000 vs 11000, auto is asymp', seq(12000, GOLDEN), seq(11000, SQRT2, 1, 0.01), 'auto', 0.010340909090909012, 0.5677780810627734],
    // ks_2samp(seq(50000, GOLDEN), seq(49999, SQRT2, 1, 0.005), method='exact'): lcm too big, asymp
    ['exact with an lcm past int32 falls back to asymp', seq(50000, GOLDEN), seq(49999, SQRT2, 1, 0.005), 'exact', 0.005064830896617911, 0.5411001726647575],
  ];
  for (const [name, x, y, mode, statistic, pValue] of cases) {
    it(`matches scipy on ${name}`, () => {
      const result = ksTwoSample(x, y, mode);
      assertClose(result.statistic, statistic, 1e-12, 'D');
      assertClose(result.pValue, pValue, 1e-9, 'p');
    });
  }

  it('gives D = 0 and p = 1 for identical samples in every mode', () => {
    const x = seq(50, GOLDEN);
    for (const mode of ['auto', 'exact', 'asymp'] as const) assert.deepEqual(ksTwoSample(x, Float64Array.from(x).reverse(), mode), { statistic: 0, pValue: 1 });
  });

  it('is symmetric in its samples', () => {
    const [x, y] = [seq(40, GOLDEN), seq(25, SQRT3, 1, 0.1)];
    assert.deepEqual(ksTwoSample(x, y), ksTwoSample(y, x));
  });

  it('rejects an empty sample and NaN with the sample named', () => {
    assert.throws(() => ksTwoSample([], [1]), /sample x is empty/);
    assert.throws(() => ksTwoSample([1, 2], [3, Number.NaN]), /sample y has NaN at index 1/);
  });
});

describe('Kolmogorov distributions', () => {
  it('computes the limiting survival function P(K > k)', () => {
    // scipy.special.kolmogorov(k)
    const cases: [number, number][] = [
      [1.36, 0.049485876755377876],
      [0.3, 0.9999906941986655],
      [0.82, 0.5119717052984973],
      [1.0, 0.26999967167735456],
      [2.5, 7.453306344157342e-6],
    ];
    for (const [k, p] of cases) assertClose(kolmogorovSf(k), p, 1e-12, `kolmogorov(${k})`);
    assert.equal(kolmogorovSf(0), 1);
  });

  it('computes kstwo.sf in each of its regimes', () => {
    // scipy.stats.kstwo.sf(d, n): Ruben-Gambino (n d <= 1, n d >= n - 1), 2 smirnov (d >= 0.5, large
    // n d^2), Durbin matrix, Pomeranz, Pelz-Good (n > 1e5)
    const cases: [number, number, number][] = [
      [0.07, 10, 0.9999999619492741],
      [0.95, 10, 1.9531250000000172e-13],
      [0.6, 50, 9.634070456142374e-18],
      [0.05, 100, 0.9532159710635725],
      [0.15, 100, 0.019839242125641813],
      [0.25, 100, 5.408871776434847e-6],
      [0.01, 1000, 0.9999496745370611],
      [0.02, 1000, 0.8108971656895577],
      [0.05, 1000, 0.013012074781090332],
      [0.002, 200000, 0.39995085369038097],
      [0.004, 200000, 0.003314212822560255],
    ];
    for (const [d, n, p] of cases) assertClose(kstwoSf(d, n), p, 1e-9, `kstwo.sf(${d}, ${n})`);
  });
});
