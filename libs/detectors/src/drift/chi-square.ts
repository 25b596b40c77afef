import { regularizedGammaQ } from './incomplete-gamma';

export interface ChiSquareResult {
  readonly statistic: number;
  readonly pValue: number;
  readonly dof: number;
}

/** P(X > x) for X ~ chi-square with `dof` degrees of freedom (scipy.stats.chi2.sf). */
export function chiSquareSf(x: number, dof: number): number {
  if (!(dof > 0)) return Number.NaN;
  if (x <= 0) return 1;
  return regularizedGammaQ(dof / 2, x / 2);
}

/**
 * Pearson's goodness-of-fit test of observed counts against expected ones (uniform over the
 * categories by default), as scipy.stats.chisquare: dof = k - 1, and both must sum to the same total.
 */
export function chiSquareGoodnessOfFit(observed: readonly number[], expected?: readonly number[]): ChiSquareResult {
  const k = observed.length;
  if (k === 0) throw new RangeError('chi-square: no categories to test');
  const total = observed.reduce((s, o) => s + o, 0);
  const exp = expected ?? observed.map(() => total / k);
  if (exp.length !== k) throw new RangeError(`chi-square: ${k} observed counts but ${exp.length} expected ones`);
  const expectedTotal = exp.reduce((s, e) => s + e, 0);
  // scipy's check: the totals must agree to sqrt(eps) relative.
  if (Math.abs(total - expectedTotal) / Math.min(total, expectedTotal) > Math.sqrt(Number.EPSILON)) {
    throw new RangeError(`chi-square: observed counts sum to ${total}, expected ones to ${expectedTotal}; they must agree`);
  }
  let statistic = 0;
  for (let i = 0; i < k; i++) {
    const e = exp[i] ?? 0;
    const o = observed[i] ?? 0;
    statistic += ((o - e) * (o - e)) / e;
  }
  const dof = k - 1;
  return { statistic, pValue: dof > 0 ? chiSquareSf(statistic, dof) : Number.NaN, dof };
}

/**
 * Pearson's test of independence on an r x c contingency table, as scipy.stats.chi2_contingency:
 * expected = row sum * column sum / total, dof = (r - 1)(c - 1); with `yates` and dof = 1 each
 * observed count moves up to 0.5 towards its expected count. dof = 0 gives statistic 0, p = 1.
 */
export function chiSquareContingency(table: readonly (readonly number[])[], yates = true): ChiSquareResult {
  const rows = table.length;
  const cols = table[0]?.length ?? 0;
  if (rows === 0 || cols === 0) throw new RangeError('chi-square: the contingency table is empty');
  const rowSums = new Array<number>(rows).fill(0);
  const colSums = new Array<number>(cols).fill(0);
  let total = 0;
  table.forEach((row, r) => {
    if (row.length !== cols) throw new RangeError(`chi-square: row ${r} has ${row.length} cells, row 0 has ${cols}`);
    row.forEach((v, c) => {
      if (!(v >= 0)) throw new RangeError(`chi-square: cell [${r}][${c}] is ${v}; counts must be non-negative`);
      rowSums[r] = (rowSums[r] ?? 0) + v;
      colSums[c] = (colSums[c] ?? 0) + v;
      total += v;
    });
  });
  const dof = rows * cols - rows - cols + 1;
  if (dof === 0) return { statistic: 0, pValue: 1, dof };
  let statistic = 0;
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const expected = ((rowSums[r] ?? 0) * (colSums[c] ?? 0)) / total;
      if (expected === 0) throw new RangeError(`chi-square: expected count of cell [${r}][${c}] is 0 (a row or column sums to 0)`);
      let observed = table[r]?.[c] ?? 0;
      if (yates && dof === 1) {
        const diff = expected - observed;
        observed += Math.sign(diff) * Math.min(0.5, Math.abs(diff));
      }
      statistic += ((observed - expected) * (observed - expected)) / expected;
    }
  }
  return { statistic, pValue: chiSquareSf(statistic, dof), dof };
}

/** Continuity correction of a 2 x 2 table: Yates' (scipy's chi2_contingency default) or none. */
export type ChiSquareCorrection = 'yates' | 'none';

/**
 * Chi-square drift test on categorical values (compared by exact equality): a 2 x K table of
 * reference and window counts over the K categories seen in either, tested for independence as
 * chi2_contingency does, dof = K - 1. `correction` applies to K = 2 (dof 1) only: 'yates' (default,
 * as scipy and alibi-detect's ChiSquareDrift) moves each count up to 0.5 towards its expected count.
 * One category only gives statistic 0, p = 1, dof 0.
 */
export function chiSquareDrift(reference: ArrayLike<number>, window: ArrayLike<number>, correction: ChiSquareCorrection = 'yates'): ChiSquareResult {
  if (reference.length === 0 || window.length === 0) throw new RangeError('chi-square: reference and window each need at least one value');
  const counts = new Map<number, [number, number]>();
  const tally = (values: ArrayLike<number>, row: 0 | 1): void => {
    for (let i = 0; i < values.length; i++) {
      const v = values[i] ?? Number.NaN;
      if (Number.isNaN(v)) throw new RangeError(`chi-square: ${row === 0 ? 'reference' : 'window'} has NaN at index ${i}`);
      const key = v === 0 ? 0 : v; // -0 and 0 are one category
      const cell = counts.get(key) ?? [0, 0];
      cell[row] += 1;
      counts.set(key, cell);
    }
  };
  tally(reference, 0);
  tally(window, 1);
  if (counts.size < 2) return { statistic: 0, pValue: 1, dof: 0 };
  const categories = [...counts.keys()].sort((a, b) => a - b);
  const table = [0, 1].map((row) => categories.map((c) => counts.get(c)?.[row] ?? 0));
  return chiSquareContingency(table, correction === 'yates');
}
