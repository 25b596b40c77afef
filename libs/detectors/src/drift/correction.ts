export type PValueCorrection = 'bonferroni' | 'fdr' | 'none';

export interface CorrectedTests {
  /** none, bonferroni: pValues[i] < threshold; fdr: pValues[i] <= threshold. */
  readonly rejected: boolean[];
  /**
   * The effective per-feature cut-off. none and bonferroni reject a p-value strictly below it
   * (alibi-detect's `p < p_val / n_features`); fdr rejects one at or below it (Benjamini-Hochberg).
   */
  readonly threshold: number;
}

/**
 * Multiple-testing correction of m p-values at level alpha, as a single per-feature cut-off
 * (the convention of alibi-detect's drift detectors):
 * - none: alpha.
 * - bonferroni: alpha / m (family-wise error rate).
 * - fdr: Benjamini-Hochberg step-up (false discovery rate), the textbook rule. With
 *   p(1) <= ... <= p(m) sorted (NaN left out) and k the largest rank with p(k) <= k alpha / m, the
 *   cut-off is k alpha / m and every p-value at or below it, p(1)..p(k), is rejected; when no rank
 *   qualifies it is alpha / m, which then rejects nothing (p(1) > alpha / m).
 * No p-values (m = 0) gives the threshold alpha and nothing rejected.
 */
export function correctPValues(pValues: readonly number[], method: PValueCorrection, alpha: number): CorrectedTests {
  const m = pValues.length;
  const threshold = m === 0 ? alpha : cutOff(pValues, method, alpha);
  const rejects = method === 'fdr' ? (p: number): boolean => p <= threshold : (p: number): boolean => p < threshold;
  return { rejected: pValues.map(rejects), threshold };
}

function cutOff(pValues: readonly number[], method: PValueCorrection, alpha: number): number {
  const m = pValues.length;
  switch (method) {
    case 'none':
      return alpha;
    case 'bonferroni':
      return alpha / m;
    case 'fdr': {
      const sorted = pValues.filter((p) => !Number.isNaN(p)).sort((a, b) => a - b);
      for (let k = sorted.length; k >= 1; k--) {
        const bound = (k * alpha) / m;
        if ((sorted[k - 1] ?? Infinity) <= bound) return bound;
      }
      return alpha / m;
    }
  }
}
