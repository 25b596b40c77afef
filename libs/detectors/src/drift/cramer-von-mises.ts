import type { TwoSampleTestResult } from './kolmogorov-smirnov';

/** Above this sample size (either sample), 'auto' uses the asymptotic p-value (scipy's rule). */
const MAX_EXACT_N = 20;

/**
 * Two-sample Cramér-von Mises test, as scipy.stats.cramervonmises_2samp(x, y, method='auto'):
 * T from the pooled mid-ranks (Anderson 1962); the exact p-value (Xiao, Gordon & Yakovlev's
 * frequency tables) when both samples have at most 20 values, else Anderson's normalised statistic
 * against the limiting one-sample distribution (Csörgő & Faraway 1996).
 */
export function cvmTwoSample(x: ArrayLike<number>, y: ArrayLike<number>): TwoSampleTestResult {
  const nx = x.length;
  const ny = y.length;
  if (nx <= 1 || ny <= 1) throw new RangeError(`cvm: each sample needs at least two values, got ${nx} and ${ny}`);
  const pooled = Float64Array.from({ length: nx + ny }, (_, i) => (i < nx ? (x[i] ?? Number.NaN) : (y[i - nx] ?? Number.NaN)));
  const nanAt = pooled.findIndex((v) => Number.isNaN(v));
  if (nanAt >= 0) throw new RangeError(`cvm: sample ${nanAt < nx ? 'x' : 'y'} has NaN at index ${nanAt < nx ? nanAt : nanAt - nx}`);
  pooled.subarray(0, nx).sort();
  pooled.subarray(nx).sort();
  const ranks = midRanks(pooled);
  let sx = 0;
  let sy = 0;
  for (let i = 0; i < nx; i++) sx += ((ranks[i] ?? 0) - (i + 1)) ** 2;
  for (let j = 0; j < ny; j++) sy += ((ranks[nx + j] ?? 0) - (j + 1)) ** 2;
  const u = nx * sx + ny * sy;
  const k = nx * ny;
  const N = nx + ny;
  const statistic = u / (k * N) - (4 * k - 1) / (6 * N);
  const pValue = Math.max(nx, ny) > MAX_EXACT_N ? asymptoticPValue(statistic, N, nx, ny, k) : exactPValue(u, nx, ny);
  return { statistic, pValue };
}

/** Ranks 1..N, ties sharing their average rank (scipy.stats.rankdata(method='average')). */
function midRanks(values: Float64Array): Float64Array {
  const order = Array.from(values.keys()).sort((a, b) => {
    const [va, vb] = [values[a] ?? 0, values[b] ?? 0];
    return va < vb ? -1 : va > vb ? 1 : 0; // not va - vb: Infinity - Infinity is NaN
  });
  const ranks = new Float64Array(values.length);
  for (let start = 0; start < order.length; ) {
    let end = start + 1;
    while (end < order.length && values[order[end] ?? 0] === values[order[start] ?? 0]) end++;
    const rank = (start + 1 + end) / 2;
    for (let i = start; i < end; i++) ranks[order[i] ?? 0] = rank;
    start = end;
  }
  return ranks;
}

/** Anderson's normalisation of T (eq. 15) against the limiting distribution's survival function. */
function asymptoticPValue(t: number, N: number, nx: number, ny: number, k: number): number {
  const et = (1 + 1 / N) / 6;
  const vt = ((N + 1) * (4 * k * N - 3 * (nx ** 2 + ny ** 2) - 2 * k)) / (45 * N ** 2 * 4 * k);
  const tn = 1 / 6 + (t - et) / Math.sqrt(45 * vt);
  // Below 0.003 the limiting cdf is < 1.3e-18: p = 1, as scipy returns.
  return tn >= 0.003 ? Math.max(1 - cvmLimitingCdf(tn), 0) : 1;
}

/**
 * Cdf of the limiting Cramér-von Mises distribution (Csörgő & Faraway eq. 1.2), summed until a
 * term falls below 1e-7 as scipy does:
 * sum_k Gamma(k+1/2) / (Gamma(k+1) pi^1.5 sqrt(x)) sqrt(4k+1) e^(-q) K_{1/4}(q), q = (4k+1)^2 / 16x.
 */
export function cvmLimitingCdf(x: number): number {
  let total = 0;
  let gammaRatio = Math.sqrt(Math.PI); // Gamma(k + 1/2) / Gamma(k + 1) at k = 0
  for (let k = 0; ; k++) {
    const y = 4 * k + 1;
    const q = (y * y) / (16 * x);
    const u = gammaRatio / (Math.PI ** 1.5 * Math.sqrt(x));
    const term = u * Math.sqrt(y) * Math.exp(-2 * q) * scaledBesselK(0.25, q);
    total += term;
    if (!(Math.abs(term) >= 1e-7)) return total;
    gammaRatio *= (k + 0.5) / (k + 1);
  }
}

/**
 * e^z K_nu(z) = int_0^inf exp(-z (cosh t - 1)) cosh(nu t) dt, by the trapezoidal rule, which converges
 * geometrically for this analytic, fast-decaying integrand; the step follows the peak's width.
 */
export function scaledBesselK(nu: number, z: number): number {
  const step = Math.min(0.05, 0.25 / Math.sqrt(z));
  let sum = 0.5;
  for (let i = 1; ; i++) {
    const t = i * step;
    const s = Math.sinh(t / 2);
    const exponent = -z * 2 * s * s;
    if (exponent < -745) break;
    const f = Math.exp(exponent) * Math.cosh(nu * t);
    sum += f;
    if (f < 1e-18 * sum) break;
  }
  return sum * step;
}

/**
 * Exact P(U >= u) over all C(m+n, m) interleavings (Xiao et al. 2006, Algorithm 1): frequency
 * tables of the partial sums of (a v - b u)^2 along lattice paths, a = lcm/m, b = lcm/n.
 */
function exactPValue(s: number, m: number, n: number): number {
  const lcm = (m / gcd(m, n)) * n;
  const a = lcm / m;
  const b = lcm / n;
  const mn = m * n;
  // scipy: zeta = lcm^2 (m+n) (6s - mn(4mn-1)) // (6 mn^2), in floating point
  const zeta = floorDivide(lcm ** 2 * (m + n) * (6 * s - mn * (4 * mn - 1)), 6 * mn ** 2);
  let tables: FrequencyTable[] = [{ values: [0], counts: [1] }, ...Array.from({ length: m }, () => EMPTY)];
  for (let u = 0; u <= n; u++) {
    const next: FrequencyTable[] = [];
    let carried = EMPTY;
    for (let v = 0; v <= m; v++) {
      carried = mergeShifted(carried, tables[v] ?? EMPTY, (a * v - b * u) ** 2);
      next.push(carried);
    }
    tables = next;
  }
  const last = tables[m] ?? EMPTY;
  let atLeast = 0;
  last.values.forEach((value, i) => {
    if (value >= zeta) atLeast += last.counts[i] ?? 0;
  });
  return atLeast / binomial(m + n, m);
}

/** Distinct values in increasing order, with how many paths reach each. */
interface FrequencyTable {
  readonly values: number[];
  readonly counts: number[];
}

const EMPTY: FrequencyTable = { values: [], counts: [] };

/** The union of two tables (counts of equal values added), every value plus `shift`. */
function mergeShifted(p: FrequencyTable, q: FrequencyTable, shift: number): FrequencyTable {
  const values: number[] = [];
  const counts: number[] = [];
  let i = 0;
  let j = 0;
  while (i < p.values.length || j < q.values.length) {
    const pv = p.values[i] ?? Infinity;
    const qv = q.values[j] ?? Infinity;
    const value = Math.min(pv, qv);
    let count = 0;
    if (pv === value) count += p.counts[i++] ?? 0;
    if (qv === value) count += q.counts[j++] ?? 0;
    values.push(value + shift);
    counts.push(count);
  }
  return { values, counts };
}

/** Python's float floor division (fmod-based, as numpy's floor_divide). */
function floorDivide(a: number, b: number): number {
  const mod = a % b;
  let div = (a - mod) / b;
  if (mod !== 0 && b < 0 !== mod < 0) div -= 1;
  let floor = Math.floor(div);
  if (div - floor > 0.5) floor += 1;
  return floor;
}

function gcd(a: number, b: number): number {
  let [p, q] = [a, b];
  while (q !== 0) [p, q] = [q, p % q];
  return p;
}

function binomial(n: number, k: number): number {
  let c = 1;
  for (let i = 1; i <= k; i++) c = (c * (n - k + i)) / i;
  return Math.round(c);
}
