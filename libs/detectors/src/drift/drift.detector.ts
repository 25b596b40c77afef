import type { DriftConfig, DriftMethod } from '@infergraph/spec';
import { chiSquareDrift } from './chi-square';
import { correctPValues } from './correction';
import { cvmTwoSample } from './cramer-von-mises';
import { ksTwoSample, type TwoSampleTestResult } from './kolmogorov-smirnov';
import { mmdPermutationTest } from './mmd';

/** The config's test options; what `mmd` and `chi2` leave out defaults as in mmdPermutationTest and chiSquareDrift. */
export type DriftOptions = Pick<DriftConfig, 'pValue' | 'correction' | 'ksMode' | 'permutations' | 'seed'> & {
  readonly mmd?: Partial<DriftConfig['mmd']>;
  readonly chi2?: Partial<DriftConfig['chi2']>;
};

export interface DriftDetectionResult {
  readonly isDrift: boolean;
  /** One p-value per feature (ks, chi2, cvm), or the single multivariate one (mmd). */
  readonly pVal: number[];
  /** Per feature: KS D, the chi-square statistic or the CvM T; for mmd the one MMD^2 estimate. */
  readonly distance: number[];
  /** chi2 only: per feature, the degrees of freedom of its 2 x K table (K - 1; 0 for one category). */
  readonly dof?: number[];
  /**
   * The cut-off: pValue after correction (ks, chi2, cvm), pValue (mmd). A p-value strictly below it
   * is drift, or at or below it with correction fdr (Benjamini-Hochberg).
   */
  readonly threshold: number;
}

/**
 * Tests a window against the reference, both given as columns (one Float64Array per feature; the
 * two may have different numbers of rows). ks, chi2 and cvm test each feature on its own and
 * correct the p-values across features; mmd tests all features at once, uncorrected (standardised
 * by the reference first unless options.mmd.standardize is false).
 */
export function detectDrift(
  method: DriftMethod,
  reference: readonly Float64Array[],
  window: readonly Float64Array[],
  options: DriftOptions,
): DriftDetectionResult {
  if (reference.length === 0) throw new RangeError(`drift (${method}): the reference has no feature columns`);
  if (window.length !== reference.length) {
    throw new RangeError(`drift (${method}): the window has ${window.length} feature columns, the reference ${reference.length}`);
  }
  if (method === 'mmd') {
    const { statistic, pValue } = withContext('drift (mmd)', () =>
      mmdPermutationTest(toRows(reference, 'reference'), toRows(window, 'window'), { ...options.mmd, permutations: options.permutations, seed: options.seed }),
    );
    return { isDrift: pValue < options.pValue, pVal: [pValue], distance: [statistic], threshold: options.pValue };
  }
  const results = reference.map((ref, f) => testFeature(method, ref, window[f] ?? new Float64Array(0), f, options));
  const pVal = results.map((r) => r.pValue);
  const { rejected, threshold } = correctPValues(pVal, options.correction, options.pValue);
  const distance = results.map((r) => r.statistic);
  const isDrift = rejected.some(Boolean);
  if (method === 'chi2') return { isDrift, pVal, distance, dof: results.map((r) => r.dof ?? 0), threshold };
  return { isDrift, pVal, distance, threshold };
}

function testFeature(
  method: Exclude<DriftMethod, 'mmd'>,
  reference: Float64Array,
  window: Float64Array,
  feature: number,
  options: DriftOptions,
): TwoSampleTestResult & { readonly dof?: number } {
  const needed = method === 'cvm' ? 2 : 1;
  if (reference.length < needed || window.length < needed) {
    throw new RangeError(
      `drift (${method}) feature ${feature}: needs at least ${needed} value(s) in reference and window, got ${reference.length} and ${window.length}`,
    );
  }
  return withContext(`drift (${method}) feature ${feature}`, () => {
    switch (method) {
      case 'ks':
        return ksTwoSample(reference, window, options.ksMode);
      case 'chi2':
        return chiSquareDrift(reference, window, options.chi2?.correction);
      case 'cvm':
        return cvmTwoSample(reference, window);
    }
  });
}

/** Runs `test`, prefixing the message of a RangeError (bad input) with where it happened. */
function withContext<T>(where: string, test: () => T): T {
  try {
    return test();
  } catch (err) {
    if (err instanceof RangeError && !err.message.startsWith('drift (')) throw new RangeError(`${where}: ${err.message}`, { cause: err });
    throw err;
  }
}

/** Columns (one per feature) to rows; every column must have the same length. */
function toRows(columns: readonly Float64Array[], name: string): Float64Array[] {
  const n = columns[0]?.length ?? 0;
  columns.forEach((c, f) => {
    if (c.length !== n) throw new RangeError(`drift (mmd): ${name} column ${f} has ${c.length} rows, column 0 has ${n}`);
  });
  return Array.from({ length: n }, (_, i) =>
    Float64Array.from(columns, (c, f) => {
      const v = c[i] ?? Number.NaN;
      if (Number.isNaN(v)) throw new RangeError(`drift (mmd): ${name} column ${f} has NaN at row ${i}`);
      return v;
    }),
  );
}
