import type { OutlierDetector } from './outlier-detector';

/**
 * The score above which a row is an outlier: `value` as given, or the `quantile` of the
 * reference's own scores, linearly interpolated as numpy's default `np.quantile(..., method='linear')`.
 * NaN reference scores are left out.
 */
export function resolveThreshold(
  detector: OutlierDetector,
  referenceRows: readonly ArrayLike<number>[],
  threshold: { value?: number; quantile?: number },
): number {
  const { value, quantile: q } = threshold;
  if ((value === undefined) === (q === undefined)) throw new Error('threshold: give exactly one of value or quantile');
  if (value !== undefined) {
    if (Number.isNaN(value)) throw new Error('threshold: value is NaN');
    return value;
  }
  const scores = detector.score(referenceRows).scores.filter((s) => !Number.isNaN(s));
  return quantile(scores, q as number);
}

/** The q-quantile of `values` (0 <= q <= 1), numpy's 'linear' method; does not modify `values`. */
export function quantile(values: ArrayLike<number>, q: number): number {
  if (!(q >= 0 && q <= 1)) throw new Error(`quantile must be between 0 and 1, got ${q}`);
  if (values.length === 0) throw new Error('quantile of no values');
  const sorted = Float64Array.from(values).sort();
  const position = q * (sorted.length - 1);
  const below = Math.floor(position);
  const a = sorted[below] as number;
  const b = sorted[Math.min(below + 1, sorted.length - 1)] as number;
  const t = position - below;
  if (a === b) return a; // also keeps two Infinity neighbours from giving NaN
  // numpy's _lerp: interpolate from the nearer end, so q = 1 and equal neighbours come out exact.
  const diff = b - a;
  return t >= 0.5 ? b - diff * (1 - t) : a + diff * t;
}
