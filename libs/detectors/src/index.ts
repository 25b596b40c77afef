// Outlier and drift detectors: pure statistics, no I/O.
export { parseReferenceData, toColumns, type ReferenceTable } from './reference/reference-data.parser';
export { fitOutlierDetector, type OutlierDetector, type OutlierScores, type OutlierFitOptions } from './outlier/outlier-detector';
export { resolveThreshold, quantile } from './outlier/threshold';
export { DriftWindow, type CompletedWindow, type FlatRows, type WindowRows } from './window/drift-window';

export { detectDrift, type DriftOptions, type DriftDetectionResult } from './drift/drift.detector';
