import { referenceFeatures } from './detector-input';
import { PerFeatureDetector } from './per-feature.detector';

/** z-score detector: per feature |x - mean| / std, with the sample std (divided by n - 1). */
export function fitZScoreDetector(rows: readonly ArrayLike<number>[]): PerFeatureDetector {
  const f = referenceFeatures('zscore', rows);
  const n = rows.length;
  const mean = new Float64Array(f);
  for (const row of rows) for (let i = 0; i < f; i++) mean[i] = (mean[i] as number) + (row[i] as number);
  for (let i = 0; i < f; i++) mean[i] = (mean[i] as number) / n;
  const std = new Float64Array(f);
  for (const row of rows) for (let i = 0; i < f; i++) std[i] = (std[i] as number) + ((row[i] as number) - (mean[i] as number)) ** 2;
  for (let i = 0; i < f; i++) std[i] = Math.sqrt((std[i] as number) / (n - 1));
  return new PerFeatureDetector(mean, std);
}
