// The limiting Kolmogorov distribution, ported from scipy's xsf (cephes/kolmogorov.h), so values
// agree with scipy.special.kolmogorov.

/** log(Number.MIN_VALUE): an exponent below this is 0 in double precision. */
const MIN_EXPABLE = -708 - 38;

/**
 * P(K > k) for the limiting Kolmogorov distribution K = lim sqrt(n) D_n (scipy.special.kolmogorov).
 */
export function kolmogorovSf(k: number): number {
  if (Number.isNaN(k)) return Number.NaN;
  if (k <= Math.PI / Math.sqrt(-MIN_EXPABLE * 8)) return 1;
  if (k <= 0.82) {
    // cdf = sqrt(2 pi)/k * u (1 + u^8 + u^24 + u^48 ...), u = exp(-pi^2 / (8 k^2))
    const w = Math.sqrt(2 * Math.PI) / k;
    const logu8 = (-Math.PI * Math.PI) / (k * k);
    const u = Math.exp(logu8 / 8);
    let cdf: number;
    if (u === 0) {
      cdf = Math.exp(logu8 / 8 + Math.log(w));
    } else {
      const u8 = Math.exp(logu8);
      const u8cub = Math.pow(u8, 3);
      let p = 1 + u8cub;
      p = 1 + u8 * u8 * p;
      p = 1 + u8 * p;
      cdf = w * u * p;
    }
    return clamp01(1 - cdf);
  }
  // sf = 2 (v - v^4 + v^9 - v^16 ...) = 2v (1 - v^3 (1 - v^5 (1 - v^7 (...)))), v = exp(-2 k^2)
  const v = Math.exp(-2 * k * k);
  const v3 = Math.pow(v, 3);
  let p = 1 - v3 * v3 * v;
  p = 1 - v3 * v * v * p;
  p = 1 - v3 * p;
  return clamp01(2 * v * p);
}

export function clamp01(p: number): number {
  return Math.min(1, Math.max(0, p));
}
