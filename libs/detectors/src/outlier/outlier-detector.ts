import type { OutlierMethod } from '@infergraph/spec';
import { fitIsolationForest } from './isolation-forest.detector';
import { fitMadDetector } from './mad.detector';
import { fitMahalanobisDetector } from './mahalanobis.detector';
import { fitZScoreDetector } from './zscore.detector';

/** Per-row outlier scores; the higher, the more unusual. */
export interface OutlierScores {
  scores: Float64Array;
  /** zscore and mad only: row-major [rows, features], the score of each feature of each row. */
  featureScores?: Float64Array;
}

/** A detector fitted once on a reference sample; scoring is pure and allocation-light. */
export interface OutlierDetector {
  /** How many values each scored row must have (the reference's column count). */
  readonly features: number;
  /**
   * Scores a batch given as one array per row, each of length `features`. Throws when a row has
   * another length. A NaN value gives a NaN score.
   */
  score(rows: readonly ArrayLike<number>[]): OutlierScores;
}

export interface OutlierFitOptions {
  /** mahalanobis: added to the covariance diagonal. */
  ridge: number;
  /** isolation-forest: number of trees, subsample size per tree, PRNG seed. */
  trees: number;
  sampleSize: number;
  seed: number;
}

/** Fits the detector of `method` on reference rows (row-major, all of one length, at least 2). */
export function fitOutlierDetector(method: OutlierMethod, referenceRows: readonly Float64Array[], options: OutlierFitOptions): OutlierDetector {
  switch (method) {
    case 'mahalanobis':
      return fitMahalanobisDetector(referenceRows, options.ridge);
    case 'zscore':
      return fitZScoreDetector(referenceRows);
    case 'mad':
      return fitMadDetector(referenceRows);
    case 'isolation-forest':
      return fitIsolationForest(referenceRows, {
        trees: options.trees,
        sampleSize: options.sampleSize,
        seed: options.seed,
      });
  }
}
