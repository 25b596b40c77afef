// Outlier and drift detectors: pure statistics, no I/O.
export { parseReferenceData, toColumns, type ReferenceTable } from './reference/reference-data.parser';
export { fitOutlierDetector, type OutlierDetector, type OutlierScores, type OutlierFitOptions } from './outlier/outlier-detector';
export { resolveThreshold, quantile } from './outlier/threshold';
export { DriftWindow, type CompletedWindow, type FlatRows, type WindowRows } from './window/drift-window';
export { ksTwoSample, type KsMode, type TwoSampleTestResult } from './drift/kolmogorov-smirnov';
export { kolmogorovSf } from './drift/kolmogorov.distribution';
export { kstwoSf } from './drift/kstwo.distribution';
export { chiSquareSf, chiSquareGoodnessOfFit, chiSquareContingency, chiSquareDrift, type ChiSquareCorrection, type ChiSquareResult } from './drift/chi-square';
export { cvmTwoSample } from './drift/cramer-von-mises';
export { mmdPermutationTest, MMD_MAX_POOLED_ROWS, type MmdEstimator, type MmdOptions, type MmdResult, type MmdSigma, type SampleRows } from './drift/mmd';
export { correctPValues, type PValueCorrection, type CorrectedTests } from './drift/correction';
export { detectDrift, type DriftOptions, type DriftDetectionResult } from './drift/drift.detector';
export { seededRandom } from './random/seeded-random';
