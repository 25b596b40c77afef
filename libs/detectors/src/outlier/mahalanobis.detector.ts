import { checkScoreRows, referenceFeatures } from './detector-input';
import type { OutlierDetector, OutlierScores } from './outlier-detector';

/**
 * Squared Mahalanobis distance to the reference mean, under the reference's sample covariance
 * (divided by n - 1) plus `ridge` on the diagonal. The covariance is factored once (Cholesky);
 * scoring solves L y = x - mean and returns |y|^2, never forming the inverse.
 */
export class MahalanobisDetector implements OutlierDetector {
  constructor(
    readonly features: number,
    private readonly mean: Float64Array,
    /** Lower-triangular Cholesky factor of the regularised covariance, row-major [features, features]. */
    private readonly cholesky: Float64Array,
  ) {}

  score(rows: readonly ArrayLike<number>[]): OutlierScores {
    const f = this.features;
    checkScoreRows(rows, f);
    const y = new Float64Array(f);
    const scores = new Float64Array(rows.length);
    rows.forEach((row, r) => {
      let sum = 0;
      for (let i = 0; i < f; i++) {
        let v = (row[i] as number) - (this.mean[i] as number);
        for (let k = 0; k < i; k++) v -= (this.cholesky[i * f + k] as number) * (y[k] as number);
        const yi = v / (this.cholesky[i * f + i] as number);
        y[i] = yi;
        sum += yi * yi;
      }
      scores[r] = sum;
    });
    return { scores };
  }
}

export function fitMahalanobisDetector(rows: readonly ArrayLike<number>[], ridge: number): MahalanobisDetector {
  const f = referenceFeatures('mahalanobis', rows);
  if (!(ridge >= 0) || !Number.isFinite(ridge)) throw new Error(`mahalanobis: ridge must be a finite number >= 0, got ${ridge}`);
  const n = rows.length;
  const mean = new Float64Array(f);
  for (const row of rows) for (let i = 0; i < f; i++) mean[i] = (mean[i] as number) + (row[i] as number);
  for (let i = 0; i < f; i++) mean[i] = (mean[i] as number) / n;

  // Two-pass (centred) sample covariance: stable when the mean is large against the spread.
  const cov = new Float64Array(f * f);
  const d = new Float64Array(f);
  for (const row of rows) {
    for (let i = 0; i < f; i++) d[i] = (row[i] as number) - (mean[i] as number);
    for (let i = 0; i < f; i++) for (let j = 0; j <= i; j++) cov[i * f + j] = (cov[i * f + j] as number) + (d[i] as number) * (d[j] as number);
  }
  for (let i = 0; i < f; i++) {
    for (let j = 0; j <= i; j++) cov[i * f + j] = (cov[i * f + j] as number) / (n - 1);
    cov[i * f + i] = (cov[i * f + i] as number) + ridge;
  }
  return new MahalanobisDetector(f, mean, choleskyLower(cov, f, ridge));
}

/** Cholesky factor of the symmetric matrix whose lower triangle `a` holds; throws if not positive definite. */
function choleskyLower(a: Float64Array, f: number, ridge: number): Float64Array {
  let maxDiagonal = 0;
  for (let i = 0; i < f; i++) maxDiagonal = Math.max(maxDiagonal, a[i * f + i] as number);
  // A pivot this small against the largest variance is rounding noise, not information.
  const tiny = Number.EPSILON * f * maxDiagonal;
  const l = new Float64Array(f * f);
  for (let j = 0; j < f; j++) {
    let pivot = a[j * f + j] as number;
    for (let k = 0; k < j; k++) pivot -= (l[j * f + k] as number) ** 2;
    if (!(pivot > tiny)) {
      throw new Error(
        `mahalanobis: the reference covariance is not positive definite even with ridge ${ridge} ` +
          `(feature ${j} is constant or a linear combination of features 0..${j - 1}); raise ridge or drop that feature`,
      );
    }
    const ljj = Math.sqrt(pivot);
    l[j * f + j] = ljj;
    for (let i = j + 1; i < f; i++) {
      let v = a[i * f + j] as number;
      for (let k = 0; k < j; k++) v -= (l[i * f + k] as number) * (l[j * f + k] as number);
      l[i * f + j] = v / ljj;
    }
  }
  return l;
}
