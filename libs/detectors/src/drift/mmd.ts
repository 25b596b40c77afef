import { seededRandom, shuffleInPlace } from '../random/seeded-random';

export interface MmdResult {
  /** Biased estimate of MMD^2 (the V-statistic: kernel means including the diagonal). */
  readonly statistic: number;
  /** (1 + #{permutations with MMD^2 >= observed}) / (1 + permutations). */
  readonly pValue: number;
  /** The RBF kernel's sigma. */
  readonly bandwidth: number;
}

/** The pooled kernel matrix is n^2 doubles: 5000 rows take 200 MB; past that, subsample first. */
export const MMD_MAX_POOLED_ROWS = 5000;

/** Rows of one sample: arrays of numbers or Float64Arrays, all of the same dimension. */
export type SampleRows = readonly ArrayLike<number>[];

/**
 * Multivariate two-sample test by maximum mean discrepancy with an RBF kernel
 * k(a, b) = exp(-||a - b||^2 / (2 sigma^2)). sigma is the median heuristic: the median of the
 * pairwise Euclidean distances between distinct rows of the pooled sample, distances of exactly 0
 * (duplicate rows) left out; 1 when every row is the same. The p-value permutes the pooled rows
 * `permutations` times with a seeded generator, so the same seed gives the same p-value. A
 * permuted statistic counts as ">= observed" within 1e-12 relative, so that rounding in the sums
 * cannot decide ties (identical samples give p = 1). Memory and time per permutation grow as
 * (nx + ny)^2; at most MMD_MAX_POOLED_ROWS rows in all.
 */
export function mmdPermutationTest(x: SampleRows, y: SampleRows, permutations: number, seed: number): MmdResult {
  const nx = x.length;
  const ny = y.length;
  if (nx === 0 || ny === 0) throw new RangeError(`mmd: each sample needs at least one row, got ${nx} and ${ny}`);
  if (!Number.isInteger(permutations) || permutations < 1) throw new RangeError(`mmd: permutations must be a positive integer, got ${permutations}`);
  if (nx + ny > MMD_MAX_POOLED_ROWS) {
    throw new RangeError(`mmd: ${nx} + ${ny} rows exceed the ${MMD_MAX_POOLED_ROWS} the kernel matrix is sized for; subsample the reference`);
  }
  const rows = [...x, ...y];
  const dim = rows[0]?.length ?? 0;
  rows.forEach((row, i) => {
    if (row.length !== dim) {
      const where = i < nx ? `x row ${i}` : `y row ${i - nx}`;
      throw new RangeError(`mmd: ${where} has ${row.length} features, x row 0 has ${dim}`);
    }
  });
  const n = nx + ny;
  const kernel = squaredDistances(rows);
  const bandwidth = medianDistance(kernel, n);
  const scale = -1 / (2 * bandwidth * bandwidth);
  let total = 0;
  for (let i = 0; i < kernel.length; i++) {
    const k = Math.exp((kernel[i] ?? 0) * scale);
    kernel[i] = k;
    total += k;
  }
  const order = Int32Array.from({ length: n }, (_, i) => i);
  const statistic = biasedMmd2(kernel, order, nx, total);
  const random = seededRandom(seed);
  const tolerance = 1e-12 * Math.abs(statistic);
  let atLeast = 0;
  for (let p = 0; p < permutations; p++) {
    shuffleInPlace(order, random);
    if (biasedMmd2(kernel, order, nx, total) >= statistic - tolerance) atLeast++;
  }
  return { statistic, pValue: (1 + atLeast) / (1 + permutations), bandwidth };
}

/** Full symmetric matrix of squared Euclidean distances, row-major. */
function squaredDistances(rows: SampleRows): Float64Array {
  const n = rows.length;
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    const a = rows[i] ?? [];
    for (let j = i + 1; j < n; j++) {
      const b = rows[j] ?? [];
      let s = 0;
      for (let f = 0; f < a.length; f++) {
        const diff = (a[f] ?? 0) - (b[f] ?? 0);
        s += diff * diff;
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

/** MMD^2 = mean K_xx + mean K_yy - 2 mean K_xy, where x is order[0..nx) and y the rest. */
function biasedMmd2(kernel: Float64Array, order: Int32Array, nx: number, total: number): number {
  const n = order.length;
  const ny = n - nx;
  const within = (from: number, to: number): number => {
    let s = 0;
    for (let i = from; i < to; i++) {
      const base = (order[i] ?? 0) * n;
      for (let j = from; j < to; j++) s += kernel[base + (order[j] ?? 0)] ?? 0;
    }
    return s;
  };
  const sxx = within(0, nx);
  const syy = within(nx, n);
  const sxy = (total - sxx - syy) / 2;
  return sxx / (nx * nx) + syy / (ny * ny) - (2 * sxy) / (nx * ny);
}
