import { add, addD, dd, div, divD, frexp, ldexpDD, mul, mulD, toNumber, twoProd, type DoubleDouble } from './double-double';
import { clamp01 } from './kolmogorov.distribution';

// The one-sided Smirnov distribution P(D+_n > x) (scipy.special.smirnov), ported from scipy's xsf
// (cephes/kolmogorov.h): Birnbaum-Tingey sums in double-double, each term kept as a mantissa and a
// binary exponent so that none underflows.

const MIN_LOG = -708.3964185322641;
/** Past this n, xsf uses a closed-form approximation. */
const SMIRNOV_MAX_COMPUTE_N = 1_000_000;
const SM_UPPER_MAX_TERMS = 3;
const SM_UPPERSUM_MIN_N = 10;
const SM_MAX_EXPONENT = 960;

interface Scaled {
  readonly mantissa: DoubleDouble;
  readonly exponent: number;
}

/** P(D+_n > x) for the one-sided KS statistic of a sample of n. */
export function smirnovSf(n: number, x: number): number {
  if (!(n > 0 && x >= 0 && x <= 1)) return Number.NaN;
  if (n === 1) return 1 - x;
  if (x === 0) return 1;
  if (x === 1) return 0;
  // n x = nxFloor + alpha, computed exactly.
  const nx = twoProd(n, x);
  const floorHi = Math.floor(nx.hi);
  const fl = addD(dd(floorHi), floorHi === nx.hi ? Math.floor(nx.lo) : 0);
  let alpha = add(nx, dd(-fl.hi, -fl.lo)).hi;
  let nxFloor = Math.trunc(toNumber(fl));
  if (alpha === 1) {
    nxFloor += 1;
    alpha = 0;
  }
  let lowerLast = n - nxFloor - (alpha === 0 ? 0 : 1);
  let upperFirst = n - nxFloor;
  if (alpha === 0) {
    lowerLast -= 1;
    upperFirst += 1;
  }
  if (nxFloor === 0 || (nxFloor === 1 && alpha === 0)) return clamp01(1 - x * toNumber(powDD(addD(dd(1), x), n - 1)));
  if (-2 * n * x * x < MIN_LOG) return 0;
  if (nxFloor >= n - 1) return clamp01(toNumber(powDD(addD(dd(1), -x), n)));
  if (n > SMIRNOV_MAX_COMPUTE_N) {
    const logp = -Math.pow(6 * n * x + 1, 2) / 18 / n;
    return clamp01(logp < -Math.LN2 ? Math.exp(logp) : 1 + Math.expm1(logp));
  }
  const upperTerms = n - upperFirst + 1;
  const useUpper = (upperTerms <= 1 && x < 0.5) || (n >= SM_UPPERSUM_MIN_N && upperTerms <= SM_UPPER_MAX_TERMS && x <= 0.5 / Math.sqrt(n));
  const start = useUpper ? n : 0;
  const step = useUpper ? -1 : 1;
  const nTerms = useUpper ? upperTerms : lowerLast + 1;
  // First term: A_n = (1 + x)^(n-1) in the upper sum, A_0 = (1 - x)^n / x in the lower one.
  let aj = useUpper ? powDD(addD(dd(1), x), n - 1) : divD(powDD(addD(dd(1), -x), n), x);
  let sum = aj;
  let binomial: Scaled = frexp(dd(n)); // C(n, 1)
  const vmid = Math.floor(n / 2);
  for (let j = 1; j < nTerms; j++) {
    const v = start + j * step;
    aj = termAv(n, x, v, binomial);
    const ajValue = toNumber(aj);
    if (Number.isFinite(ajValue) && ajValue !== 0) sum = add(sum, aj);
    if (ajValue !== 0) {
      if (4 * (nTerms - j) * Math.abs(ajValue) < Number.EPSILON * toNumber(sum) && j !== nTerms - 1) break;
    } else if (j > vmid) {
      break;
    }
    const next = frexp(mul(binomial.mantissa, divD(dd(n - j), j + 1)));
    binomial = { mantissa: next.mantissa, exponent: binomial.exponent + next.exponent };
  }
  const prob = toNumber(mulD(sum, x));
  return clamp01(step < 0 ? 1 - prob : prob);
}

/** A_v = C(n, v) (x + v/n)^(v-1) (1 - x - v/n)^(n-v), with C(n, v) given scaled. */
function termAv(n: number, x: number, v: number, binomial: Scaled): DoubleDouble {
  const above = powScaled(addD(divD(dd(n - v), n), -x), n - v);
  const below = powScaled(addD(divD(dd(v), n), x), v - 1);
  const product = mul(mul(below.mantissa, above.mantissa), binomial.mantissa);
  return ldexpDD(product, binomial.exponent + below.exponent + above.exponent);
}

/** a^m for a double-double a: pow of the high part, corrected for the low part (xsf's pow_D). */
function powDD(a: DoubleDouble, m: number): DoubleDouble {
  if (m <= 0) return m === 0 ? dd(1) : div(dd(1), powDD(a, -m));
  if (a.hi === 0) return dd(0);
  const ans = Math.pow(a.hi, m);
  const r = a.lo / a.hi;
  let adj = m * r;
  if (Math.abs(adj) > 1e-8) {
    adj = Math.abs(adj) < 1e-4 ? adj + m * r * (((m - 1) / 2) * r) : Math.expm1(m * Math.log1p(r));
  }
  return addD(dd(ans), ans * adj);
}

/** a^m as mantissa * 2^exponent, split into powers that stay above 2^-960 (xsf's pow2Scaled_D). */
function powScaled(a: DoubleDouble, m: number): Scaled {
  if (m <= 0) {
    if (m === 0) return { mantissa: dd(1), exponent: 0 };
    const inverse = powScaled(a, -m);
    const r = frexp(div(dd(1), inverse.mantissa));
    return { mantissa: r.mantissa, exponent: -inverse.exponent + r.exponent };
  }
  const { mantissa: y, exponent: yE } = frexp(a);
  if (m === 1) return { mantissa: y, exponent: yE };
  let maxExpt = SM_MAX_EXPONENT;
  if ((m * (y.hi - 1)) / y.hi < -SM_MAX_EXPONENT * Math.LN2) {
    const lg2y = Math.log(y.hi) / Math.LN2;
    if (m * lg2y <= -SM_MAX_EXPONENT) maxExpt = Math.trunc(nextPowerOf2(-SM_MAX_EXPONENT / lg2y + 1) / 2);
  }
  if (m <= maxExpt) {
    const r = frexp(powDD(y, m));
    return { mantissa: r.mantissa, exponent: r.exponent + m * yE };
  }
  const q = Math.trunc(m / maxExpt);
  const rem = m % maxExpt;
  const y2r = powScaled(y, rem);
  const y2m = powScaled(y, maxExpt);
  const y2mq = powScaled(y2m.mantissa, q);
  const r = frexp(mul(y2r.mantissa, y2mq.mantissa));
  return { mantissa: r.mantissa, exponent: r.exponent + y2mq.exponent + y2m.exponent * q + y2r.exponent + m * yE };
}

/** xsf's nextPowerOf2: x nudged up by one ulp-ish step (it does not round to a power of two). */
function nextPowerOf2(x: number): number {
  const q = x * 2 ** (1 - 53);
  const l = Math.abs(q + x);
  if (l === 0) return Math.abs(x);
  return Math.trunc(l) === l ? Math.trunc(l) : l;
}
