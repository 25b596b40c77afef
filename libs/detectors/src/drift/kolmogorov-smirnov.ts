import { clamp01 } from './kolmogorov.distribution';
import { kstwoSf } from './kstwo.distribution';

export type KsMode = 'auto' | 'exact' | 'asymp';

export interface TwoSampleTestResult {
  readonly statistic: number;
  readonly pValue: number;
}

/** Largest sample size for which 'auto' computes the exact p-value (scipy's MAX_AUTO_N). */
const MAX_AUTO_N = 10_000;
const INT32_MAX = 2 ** 31 - 1;

/**
 * Two-sided two-sample Kolmogorov-Smirnov test, as scipy.stats.ks_2samp(x, y, method=mode):
 * the statistic D = sup |F_x - F_y|; the p-value from the exact lattice-path distribution ('exact'),
 * or kstwo.sf(D, round(m n / (m + n))) ('asymp'); 'auto' is exact when max(m, n) <= 10000.
 * Like scipy, an exact computation that is impossible (lcm too large) or fails falls back to asymp,
 * and the exact method reports D rounded to the lattice, h / lcm(m, n).
 */
export function ksTwoSample(x: ArrayLike<number>, y: ArrayLike<number>, mode: KsMode = 'auto'): TwoSampleTestResult {
  const a = sortedSample(x, 'x');
  const b = sortedSample(y, 'y');
  const n1 = a.length;
  const n2 = b.length;
  let d = ksStatistic(a, b);
  const g = gcd(n1, n2);
  const n1g = n1 / g;
  const n2g = n2 / g;
  let method = mode;
  if (method === 'auto') method = Math.max(n1, n2) <= MAX_AUTO_N ? 'exact' : 'asymp';
  else if (method === 'exact' && n1g >= INT32_MAX / n2g) method = 'asymp';
  if (method === 'exact') {
    const lcm = n1g * n2;
    const h = Math.round(d * lcm);
    d = h / lcm;
    if (h === 0) return { statistic: d, pValue: 1 };
    const p = n1 === n2 ? probOutsideSquare(n1, h) : outerProbInside(n1, n2, g, h);
    if (p >= 0 && p <= 1) return { statistic: d, pValue: p };
  }
  const [m, n] = n1 >= n2 ? [n1, n2] : [n2, n1];
  const en = (m * n) / (m + n);
  return { statistic: d, pValue: clamp01(kstwoSf(d, roundHalfEven(en))) };
}

/** sup |F_x - F_y| over the pooled sample, each difference computed as scipy does (c1/n1 - c2/n2). */
function ksStatistic(a: Float64Array, b: Float64Array): number {
  let i = 0;
  let j = 0;
  let maxDiff = -Infinity;
  let minDiff = Infinity;
  while (i < a.length || j < b.length) {
    const value = Math.min(a[i] ?? Infinity, b[j] ?? Infinity);
    while (i < a.length && a[i] === value) i++;
    while (j < b.length && b[j] === value) j++;
    const diff = i / a.length - j / b.length;
    maxDiff = Math.max(maxDiff, diff);
    minDiff = Math.min(minDiff, diff);
  }
  const minS = Math.min(Math.max(-minDiff, 0), 1);
  return minS > maxDiff ? minS : maxDiff;
}

/** Pr(D_{n,n} >= h/n): 2 (A0 (1 - A1 (1 - A2 (...)))), Horner-like to avoid cancellation. */
function probOutsideSquare(n: number, h: number): number {
  let p = 0;
  for (let k = Math.floor(n / h); k >= 0; k--) {
    let p1 = 1;
    for (let j = 0; j < h; j++) p1 = ((n - k * h - j) * p1) / (n + k * h + j + 1);
    p = p1 * (1 - p);
  }
  return 2 * p;
}

/**
 * Proportion of lattice paths from (0,0) to (m,n) that leave the band |x/m - y/n| < h/lcm(m,n),
 * by Hodges' inside method with Viehmann's recursion for 1 - p (scipy's
 * _compute_outer_prob_inside_method): one sliding column, normalised as it goes.
 */
function outerProbInside(m0: number, n0: number, g: number, h: number): number {
  const [m, n] = m0 >= n0 ? [m0, n0] : [n0, m0];
  const mg = m / g;
  const ng = n / g;
  let minj = 0;
  let maxj = Math.min(Math.ceil(h / mg), n + 1);
  let curlen = maxj - minj;
  const A = new Float64Array(Math.min(2 * maxj + 2, n + 1)).fill(1);
  A.fill(0, minj, maxj);
  for (let i = 1; i <= m; i++) {
    const lastminj = minj;
    const lastlen = curlen;
    minj = Math.min(Math.max(Math.floor((ng * i - h) / mg) + 1, 0), n);
    maxj = Math.min(Math.ceil((ng * i + h) / mg), n + 1);
    if (maxj <= minj) return 1;
    let val = minj === 0 ? 0 : 1;
    for (let jj = 0; jj < maxj - minj; jj++) {
      const j = jj + minj;
      val = ((A[jj + minj - lastminj] ?? 0) * i + val * j) / (i + j);
      A[jj] = val;
    }
    curlen = maxj - minj;
    if (lastlen > curlen) A.fill(1, maxj - minj, maxj - minj + (lastlen - curlen));
  }
  return A[maxj - minj - 1] ?? Number.NaN;
}

function sortedSample(values: ArrayLike<number>, name: string): Float64Array {
  if (values.length === 0) throw new RangeError(`ks: sample ${name} is empty; the test needs at least one value in each sample`);
  const sorted = Float64Array.from(values);
  const nanAt = sorted.findIndex((v) => Number.isNaN(v));
  if (nanAt >= 0) throw new RangeError(`ks: sample ${name} has NaN at index ${nanAt}`);
  return sorted.sort();
}

function gcd(a: number, b: number): number {
  let [p, q] = [a, b];
  while (q !== 0) [p, q] = [q, p % q];
  return p;
}

/** numpy's round: halves go to the even neighbour. */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}
