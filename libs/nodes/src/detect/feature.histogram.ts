/** One feature's values in the reference sample and in the latest tested window, on the same bins. */
export interface FeatureHistogram {
  readonly feature: string;
  /** `bins + 1` ascending bin edges; the last bin includes its upper edge. */
  readonly edges: readonly number[];
  /** Share of the reference sample's finite values in each bin (sums to 1, or all 0 without values). */
  readonly reference: readonly number[];
  /** The same for the latest window the detector tested; undefined before one completed. */
  readonly recent: readonly number[] | undefined;
  readonly referenceSize: number;
  readonly recentSize: number;
}

/**
 * Equal-width bins over the range both samples cover, as shares of each sample (samples of different sizes
 * stay comparable). Non-finite values are left out; a sample with one distinct value gets a unit-wide range
 * around it.
 */
export function featureHistogram(feature: string, reference: ArrayLike<number>, recent: ArrayLike<number> | undefined, bins: number): FeatureHistogram {
  if (!Number.isInteger(bins) || bins < 1) throw new RangeError(`bins must be an integer >= 1 (got ${bins})`);
  let lo = Infinity;
  let hi = -Infinity;
  for (const sample of recent === undefined ? [reference] : [reference, recent]) {
    for (let i = 0; i < sample.length; i++) {
      const v = sample[i] as number;
      if (!Number.isFinite(v)) continue;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
  }
  if (lo === Infinity) {
    lo = 0;
    hi = 1;
  } else if (lo === hi) {
    lo -= 0.5;
    hi += 0.5;
  }
  const width = (hi - lo) / bins;
  const edges = Array.from({ length: bins + 1 }, (_, i) => (i === bins ? hi : lo + i * width));
  const shares = (sample: ArrayLike<number>): { shares: number[]; size: number } => {
    const counts = new Array<number>(bins).fill(0);
    let size = 0;
    for (let i = 0; i < sample.length; i++) {
      const v = sample[i] as number;
      if (!Number.isFinite(v)) continue;
      const bin = Math.min(bins - 1, Math.floor((v - lo) / width));
      counts[bin] = (counts[bin] as number) + 1;
      size++;
    }
    return { shares: counts.map((c) => (size === 0 ? 0 : c / size)), size };
  };
  const ref = shares(reference);
  const rec = recent === undefined ? undefined : shares(recent);
  return { feature, edges, reference: ref.shares, recent: rec?.shares, referenceSize: ref.size, recentSize: rec?.size ?? 0 };
}
