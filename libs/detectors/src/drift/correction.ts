export type PValueCorrection = 'bonferroni' | 'fdr' | 'none';

export interface CorrectedTests {
  /** rejected[i] is pValues[i] < threshold. */
  readonly rejected: boolean[];
  /** The effective per-feature cut-off: a test is rejected when its p-value is strictly below it. */
  readonly threshold: number;
}

/**
 * Multiple-testing correction of m p-values at level alpha, as a single per-feature cut-off
 * (the convention of alibi-detect's drift detectors):
 * - none: alpha.
 * - bonferroni: alpha / m (family-wise error rate).
 * - fdr: Benjamini-Hochberg step-up (false discovery rate). With p(1) <= ... <= p(m) sorted and
 *   k the largest rank with p(k) < k alpha / m, the cut-off is k alpha / m, which rejects exactly
 *   p(1)..p(k); when no rank qualifies it is alpha / m, which rejects nothing. The comparison is
 *   strict, so a p-value equal to its bound is not rejected (textbook BH uses <=).
 * No p-values (m = 0) gives the threshold alpha and nothing rejected.
 */
export function correctPValues(pValues: readonly number[], method: PValueCorrection, alpha: number): CorrectedTests {
  const m = pValues.length;
  const threshold = m === 0 ? alpha : cutOff(pValues, method, alpha);
  return { rejected: pValues.map((p) => p < threshold), threshold };
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
        if ((sorted[k - 1] ?? Infinity) < bound) return bound;
      }
      return alpha / m;
    }
  }
}
