import { referenceFeatures } from './detector-input';
import { PerFeatureDetector } from './per-feature.detector';

/** Makes the MAD a consistent estimator of the standard deviation under normality. */
export const MAD_NORMAL_SCALE = 1.4826;

/** Robust detector: per feature |x - median| / (1.4826 * MAD), MAD = median of |x - median|. */
export function fitMadDetector(rows: readonly ArrayLike<number>[]): PerFeatureDetector {
  const f = referenceFeatures('mad', rows);
  const center = new Float64Array(f);
  const scale = new Float64Array(f);
  const column = new Float64Array(rows.length);
  for (let i = 0; i < f; i++) {
    rows.forEach((row, r) => (column[r] = row[i] as number));
    const med = median(column);
    for (let r = 0; r < column.length; r++) column[r] = Math.abs((column[r] as number) - med);
    center[i] = med;
    scale[i] = MAD_NORMAL_SCALE * median(column);
  }
  return new PerFeatureDetector(center, scale);
}

/** Median as numpy's: the mean of the two middle values for an even count. Sorts `values` in place. */
export function median(values: Float64Array): number {
  values.sort();
  const mid = values.length >> 1;
  return values.length % 2 === 1 ? (values[mid] as number) : ((values[mid - 1] as number) + (values[mid] as number)) / 2;
}
