import { z } from 'zod';

/** Reference sample a detector is fitted on: CSV with a header row, or JSON (array of rows or of objects). */
export const referenceSchema = z.strictObject({
  path: z.string().min(1, 'must be a path relative to the graph file'),
  /** Columns to use, by header name; default: every column, in file order. */
  columns: z.array(z.string().min(1)).min(1).optional(),
});

export const OUTLIER_METHODS = ['mahalanobis', 'zscore', 'mad', 'isolation-forest'] as const;
export type OutlierMethod = (typeof OUTLIER_METHODS)[number];

export const outlierConfigSchema = z
  .strictObject({
    method: z.enum(OUTLIER_METHODS, { error: `must be one of ${OUTLIER_METHODS.join(', ')}` }),
    reference: referenceSchema,
    /** The [N, F] tensor to score; default: the node's only input tensor. */
    tensor: z.string().min(1).optional(),
    /** A score above the threshold is an outlier: a value, or a quantile of the reference's own scores. */
    threshold: z
      .strictObject({ value: z.number().optional(), quantile: z.number().gt(0).lt(1).optional() })
      .refine((t) => (t.value === undefined) !== (t.quantile === undefined), 'give exactly one of value or quantile')
      .default({ quantile: 0.99 }),
    /** mahalanobis: added to the covariance diagonal so it stays invertible. */
    ridge: z.number().min(0).default(1e-6),
    /** isolation-forest settings; `seed` makes the forest (and so the scores) reproducible. */
    trees: z.int().min(1).max(10_000).default(100),
    sampleSize: z.int().min(2).max(100_000).default(256),
    seed: z.int().min(0).default(42),
    /** flag: add is_outlier/outlier_score; reject: answer 422 with the scores when any row is an outlier. */
    action: z.enum(['flag', 'reject'], { error: 'must be flag or reject' }).default('flag'),
  });

export type OutlierConfig = z.infer<typeof outlierConfigSchema>;

export const DRIFT_METHODS = ['ks', 'chi2', 'mmd', 'cvm'] as const;
export type DriftMethod = (typeof DRIFT_METHODS)[number];

export const driftWindowSchema = z
  .strictObject({
    /** Rows per window (tumbling when `slide` is absent). */
    size: z.int().min(2).max(1_000_000).optional(),
    /** Sliding windows: a new window every `slide` rows, over the last `size` rows. */
    slide: z.int().min(1).optional(),
    /** Time windows: every `durationMs`, over the rows received in that time. */
    durationMs: z.int().min(10).optional(),
  })
  .refine((w) => (w.size === undefined) !== (w.durationMs === undefined), 'give exactly one of size or durationMs')
  .refine((w) => w.slide === undefined || (w.size !== undefined && w.slide <= w.size), 'slide needs size, and must be <= size');

export const MMD_ESTIMATORS = ['biased', 'unbiased'] as const;
export type MmdEstimatorName = (typeof MMD_ESTIMATORS)[number];

/** Options of method mmd; every field has a default, so `mmd:` may be left out. */
export const mmdOptionsSchema = z.strictObject({
  /** MMD^2 estimator: biased V-statistic (diagonal kernel terms included) or unbiased U-statistic (excluded). */
  estimator: z.enum(MMD_ESTIMATORS, { error: `must be one of ${MMD_ESTIMATORS.join(', ')}` }).default('biased'),
  /** RBF sigma: median (the median heuristic), one positive number, or one positive number per feature. */
  sigma: z
    .union(
      [
        z.literal('median'),
        z.number().positive('must be a positive number').finite('must be a positive number'),
        z.array(z.number().positive('must be a positive number').finite('must be a positive number')).min(1, 'needs one positive number per feature'),
      ],
      { error: 'must be median, a positive number, or a list of positive numbers (one per feature)' },
    )
    .default('median'),
  /** Standardise both samples with the reference's per-feature mean and standard deviation first. */
  standardize: z.boolean().default(true),
});

export const CHI2_CORRECTIONS = ['yates', 'none'] as const;

/** Options of method chi2; every field has a default, so `chi2:` may be left out. */
export const chi2OptionsSchema = z.strictObject({
  /** Continuity correction of 2x2 tables (two categories): yates, as scipy.stats.chi2_contingency does by default, or none. */
  correction: z.enum(CHI2_CORRECTIONS, { error: `must be one of ${CHI2_CORRECTIONS.join(', ')}` }).default('yates'),
});

export const driftConfigSchema = z.strictObject({
  method: z.enum(DRIFT_METHODS, { error: `must be one of ${DRIFT_METHODS.join(', ')}` }),
  reference: referenceSchema,
  tensor: z.string().min(1).optional(),
  window: driftWindowSchema,
  /** Significance level before correction. */
  pValue: z.number().gt(0).lt(1).default(0.05),
  /** Multiple-testing correction across features (ks, chi2, cvm). */
  correction: z
    .enum(['bonferroni', 'fdr', 'none'], { error: "must be bonferroni, fdr or none (chi2's Yates correction is chi2.correction)" })
    .default('bonferroni'),
  /** ks p-values: exact distribution, the asymptotic one (as scipy's method='asymp'), or auto by sample size. */
  ksMode: z.enum(['auto', 'exact', 'asymp']).default('auto'),
  /** mmd permutation test. */
  permutations: z.int().min(1).max(100_000).default(100),
  seed: z.int().min(0).default(0),
  /** mmd: estimator, kernel sigma, standardisation. */
  mmd: mmdOptionsSchema.prefault({}),
  /** chi2: continuity correction of 2x2 tables. */
  chi2: chi2OptionsSchema.prefault({}),
  /** How many past window results GET .../drift keeps. */
  history: z.int().min(1).max(10_000).default(100),
});

export type DriftConfig = z.infer<typeof driftConfigSchema>;
export type DriftWindowConfig = z.infer<typeof driftWindowSchema>;
