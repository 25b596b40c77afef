import type { CompletedWindow } from '@infergraph/detectors';

/** One window's test result, before it is labelled with graph, node and window bounds. */
export interface DriftDetection {
  readonly isDrift: boolean;
  readonly pVal: readonly number[];
  readonly distance: readonly number[];
  /** chi2 only: degrees of freedom per feature. */
  readonly dof?: readonly number[];
  readonly threshold: number;
}

/**
 * Runs the drift test of one node on a completed window. The engine provides one that computes in a
 * worker thread, so a slow test never holds up requests; tests may compute in-process.
 */
export interface DriftComputer {
  compute(window: CompletedWindow): Promise<DriftDetection>;
  close(): Promise<void>;
}
