import { seededRandom, shuffleInPlace } from '../random/seeded-random';

/** MMD^2 estimator: the V-statistic (kernel means including the diagonal) or the U-statistic (without it). */
export type MmdEstimator = 'biased' | 'unbiased';

/** The RBF kernel's sigma: the median heuristic, one length for every feature, or one per feature. */
export type MmdSigma = 'median' | number | readonly number[];

export interface MmdOptions {
  /** How many permutations of the pooled rows the p-value counts. */
  readonly permutations: number;
  /** Seed of the permutations: the same seed gives the same p-value. */
  readonly seed: number;
  /** Default 'biased'. */
  readonly estimator?: MmdEstimator;
  /** Default 'median'. */
  readonly sigma?: MmdSigma;
  /** Scale both samples by the reference (x) mean and standard deviation first; default true. */
  readonly standardize?: boolean;
}

export interface MmdResult {
  /** The MMD^2 estimate the options ask for (biased: >= 0; unbiased: may be slightly negative). */
  readonly statistic: number;
  /** (1 + #{permutations with MMD^2 >= observed}) / (1 + permutations). */
  readonly pValue: number;
  /** The RBF kernel's sigma as used: the median heuristic's or the fixed one(s). */
  readonly bandwidth: number | readonly number[];
}

/** The pooled kernel matrix is n^2 doubles: 5000 rows take 200 MB; past that, subsample first. */
export const MMD_MAX_POOLED_ROWS = 5000;

/** Rows of one sample: arrays of numbers or Float64Arrays, all of the same dimension. */
export type SampleRows = readonly ArrayLike<number>[];

/**
 * Multivariate two-sample test by maximum mean discrepancy with an RBF kernel.
 *
 * - standardize (default on, so that one sigma suits features of any scale): every feature f of
 *   both samples becomes (v - mean_f) / sd_f, with the mean and the standard deviation (n - 1
 *   denominator) of the reference x; sd_f = 0 counts as 1.
 * - sigma: k(a, b) = exp(-||a - b||^2 / (2 sigma^2)) with a fixed sigma, or with 'median' (default)
 *   sigma = the median of the Euclidean (not squared) distances ||a - b|| over the pairs of distinct
 *   rows i < j of the pooled sample (x and y together, after standardising), distances of exactly 0
 *   (duplicate rows) left out, the mean of the middle two when their count is even; 1 when every row
 *   is the same. One sigma per feature gives k(a, b) = exp(-sum_f (a_f - b_f)^2 / (2 sigma_f^2)).
 * - estimator, with K the kernel over nx rows x and ny rows y: biased (default, the V-statistic)
 *   sum K_xx / nx^2 + sum K_yy / ny^2 - 2 sum K_xy / (nx ny), diagonal included; unbiased (the
 *   U-statistic, as alibi-detect's MMDDrift) the same without the diagonal terms k(x_i, x_i),
 *   k(y_j, y_j): sum_{i != j} K_xx / (nx (nx - 1)) + sum_{i != j} K_yy / (ny (ny - 1)) - 2 sum K_xy / (nx ny).
 *
 * The p-value permutes the pooled rows `permutations` times with a seeded generator and recomputes
 * the same estimator, kernel fixed: (1 + #{permuted >= observed}) / (1 + permutations). A permuted
 * statistic counts as ">= observed" within 1e-12 of the size of the observed kernel means, so that
 * rounding in the sums cannot decide ties (identical samples give p = 1). Memory and time per
 * permutation grow as (nx + ny)^2; at most MMD_MAX_POOLED_ROWS rows in all.
 */
export function mmdPermutationTest(x: SampleRows, y: SampleRows, options: MmdOptions): MmdResult {
  const { permutations, seed, estimator = 'biased', sigma = 'median', standardize = true } = options;
  const nx = x.length;
  const ny = y.length;
  if (nx === 0 || ny === 0) throw new RangeError(`mmd: each sample needs at least one row, got ${nx} and ${ny}`);
  if (estimator === 'unbiased' && (nx < 2 || ny < 2)) {
    throw new RangeError(`mmd: the unbiased estimator needs at least two rows in each sample, got ${nx} and ${ny}`);
  }
  if (!Number.isInteger(permutations) || permutations < 1) throw new RangeError(`mmd: permutations must be a positive integer, got ${permutations}`);
  if (nx + ny > MMD_MAX_POOLED_ROWS) {
    throw new RangeError(`mmd: ${nx} + ${ny} rows exceed the ${MMD_MAX_POOLED_ROWS} the kernel matrix is sized for; subsample the reference`);
  }
  let rows = [...x, ...y];
  const dim = rows[0]?.length ?? 0;
  rows.forEach((row, i) => {
    if (row.length !== dim) {
      const where = i < nx ? `x row ${i}` : `y row ${i - nx}`;
      throw new RangeError(`mmd: ${where} has ${row.length} features, x row 0 has ${dim}`);
    }
  });
  const sigmaProblem = sigmaProblemOf(sigma, dim);
  if (sigmaProblem !== undefined) throw new RangeError(`mmd: ${sigmaProblem}`);
  if (standardize) rows = standardized(rows, nx, dim);
  const n = nx + ny;
  let kernel: Float64Array;
  let bandwidth: number | readonly number[];
  if (typeof sigma === 'object') {
    kernel = squaredDistances(rows, sigma.map((s) => 1 / (2 * s * s)));
    for (let i = 0; i < kernel.length; i++) kernel[i] = Math.exp(-(kernel[i] ?? 0));
    bandwidth = [...sigma];
  } else {
    kernel = squaredDistances(rows);
    bandwidth = sigma === 'median' ? medianDistance(kernel, n) : sigma;
    const scale = -1 / (2 * bandwidth * bandwidth);
    for (let i = 0; i < kernel.length; i++) kernel[i] = Math.exp((kernel[i] ?? 0) * scale);
  }
  let total = 0;
  for (let i = 0; i < kernel.length; i++) total += kernel[i] ?? 0;
  const order = Int32Array.from({ length: n }, (_, i) => i);
  const observed = mmd2(kernel, order, nx, total, estimator);
  const statistic = observed.value;
  const random = seededRandom(seed);
  const tolerance = 1e-12 * observed.magnitude;
  let atLeast = 0;
  for (let p = 0; p < permutations; p++) {
    shuffleInPlace(order, random);
    if (mmd2(kernel, order, nx, total, estimator).value >= statistic - tolerance) atLeast++;
  }
  return { statistic, pValue: (1 + atLeast) / (1 + permutations), bandwidth };
}

/**
 * What is wrong with a sigma for samples of `features` features, or undefined: a per-feature sigma
 * needs one value per feature, and every value must be a positive finite number.
 */
function sigmaProblemOf(sigma: MmdSigma, features: number): string | undefined {
  if (sigma === 'median') return undefined;
  if (typeof sigma === 'number') return sigma > 0 && Number.isFinite(sigma) ? undefined : `sigma is ${sigma}; it must be a positive finite number`;
  if (sigma.length !== features) return `sigma has ${sigma.length} values (one per feature), the samples ${features} features`;
  const bad = sigma.findIndex((s) => !(s > 0 && Number.isFinite(s)));
  return bad < 0 ? undefined : `sigma[${bad}] is ${sigma[bad]}; it must be a positive finite number`;
}

/** Rows with every feature scaled by the mean and standard deviation (n - 1) of the first nx rows. */
function standardized(rows: SampleRows, nx: number, dim: number): Float64Array[] {
  const mean = new Float64Array(dim);
  const sd = new Float64Array(dim);
  for (let f = 0; f < dim; f++) {
    let sum = 0;
    for (let i = 0; i < nx; i++) sum += rows[i]?.[f] ?? 0;
    const m = sum / nx;
    let ss = 0;
    for (let i = 0; i < nx; i++) ss += ((rows[i]?.[f] ?? 0) - m) ** 2;
    const s = Math.sqrt(ss / Math.max(nx - 1, 1));
    mean[f] = m;
    sd[f] = s > 0 ? s : 1;
  }
  return rows.map((row) => Float64Array.from({ length: dim }, (_, f) => ((row[f] ?? 0) - (mean[f] ?? 0)) / (sd[f] ?? 1)));
}

/** Full symmetric matrix of squared Euclidean distances, row-major; each feature's square times weights[f] when given. */
function squaredDistances(rows: SampleRows, weights?: readonly number[]): Float64Array {
  const n = rows.length;
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    const a = rows[i] ?? [];
    for (let j = i + 1; j < n; j++) {
      const b = rows[j] ?? [];
      let s = 0;
      for (let f = 0; f < a.length; f++) {
        const diff = (a[f] ?? 0) - (b[f] ?? 0);
        s += weights === undefined ? diff * diff : diff * diff * (weights[f] ?? 0);
      }
      out[i * n + j] = s;
      out[j * n + i] = s;
    }
  }
  return out;
}

/** Median of the non-zero pairwise distances (numpy's median: mean of the middle two when even). */
function medianDistance(squared: Float64Array, n: number): number {
  const distances: number[] = [];
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const d2 = squared[i * n + j] ?? 0;
      if (d2 > 0) distances.push(Math.sqrt(d2));
    }
  }
  if (distances.length === 0) return 1;
  distances.sort((a, b) => a - b);
  const mid = distances.length >> 1;
  const median = distances.length % 2 === 1 ? (distances[mid] ?? 1) : ((distances[mid - 1] ?? 1) + (distances[mid] ?? 1)) / 2;
  return median > 0 && Number.isFinite(median) ? median : 1;
}

/**
 * MMD^2 with x = order[0..nx) and y the rest, and the size of its terms (the three kernel means, all
 * positive) that the permutation tie tolerance scales with.
 */
function mmd2(kernel: Float64Array, order: Int32Array, nx: number, total: number, estimator: MmdEstimator): { value: number; magnitude: number } {
  const n = order.length;
  const ny = n - nx;
  const within = (from: number, to: number): [sum: number, diagonal: number] => {
    let s = 0;
    let d = 0;
    for (let i = from; i < to; i++) {
      const base = (order[i] ?? 0) * n;
      for (let j = from; j < to; j++) s += kernel[base + (order[j] ?? 0)] ?? 0;
      d += kernel[base + (order[i] ?? 0)] ?? 0;
    }
    return [s, d];
  };
  const [sxx, dxx] = within(0, nx);
  const [syy, dyy] = within(nx, n);
  const sxy = (total - sxx - syy) / 2;
  const [xx, yy] = estimator === 'biased' ? [sxx / (nx * nx), syy / (ny * ny)] : [(sxx - dxx) / (nx * (nx - 1)), (syy - dyy) / (ny * (ny - 1))];
  const xy = (2 * sxy) / (nx * ny);
  return { value: xx + yy - xy, magnitude: Math.abs(xx) + Math.abs(yy) + xy };
}
