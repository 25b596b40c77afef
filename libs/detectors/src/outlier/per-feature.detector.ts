import { checkScoreRows } from './detector-input';
import type { OutlierDetector, OutlierScores } from './outlier-detector';

/**
 * Scores each feature as |x - center| / scale and a row as its largest feature score. A feature
 * with zero scale scores 0 at its center and Infinity anywhere else. Shared by zscore and mad.
 */
export class PerFeatureDetector implements OutlierDetector {
  readonly features: number;

  constructor(
    private readonly center: Float64Array,
    private readonly scale: Float64Array,
  ) {
    this.features = center.length;
  }

  score(rows: readonly ArrayLike<number>[]): OutlierScores {
    const f = this.features;
    checkScoreRows(rows, f);
    const scores = new Float64Array(rows.length);
    const featureScores = new Float64Array(rows.length * f);
    rows.forEach((row, r) => {
      let max = 0;
      for (let i = 0; i < f; i++) {
        const distance = Math.abs((row[i] as number) - (this.center[i] as number));
        const scale = this.scale[i] as number;
        const s = scale > 0 ? distance / scale : distance === 0 ? 0 : distance > 0 ? Infinity : NaN;
        featureScores[r * f + i] = s;
        // Math.max propagates NaN: an unreadable row is not silently an inlier.
        max = Math.max(max, s);
      }
      scores[r] = max;
    });
    return { scores, featureScores };
  }
}
