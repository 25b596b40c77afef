import { detectDrift, type CompletedWindow } from '@infergraph/detectors';
import type { DriftConfig } from '@infergraph/spec';
import type { DriftComputer, DriftDetection } from './drift-computer.port';

/** Computes drift tests on the calling thread; for tests and tiny windows. */
export class InProcessDriftComputer implements DriftComputer {
  constructor(
    private readonly config: DriftConfig,
    private readonly reference: readonly Float64Array[],
  ) {}

  compute(window: CompletedWindow): Promise<DriftDetection> {
    return Promise.resolve(detectDriftFor(this.config, this.reference, window.columns));
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** The drift test a config asks for, with every option of the config, on reference and window columns. */
export function detectDriftFor(config: DriftConfig, reference: readonly Float64Array[], window: readonly Float64Array[]): DriftDetection {
  return detectDrift(config.method, reference, window, {
    pValue: config.pValue,
    correction: config.correction,
    ksMode: config.ksMode,
    permutations: config.permutations,
    seed: config.seed,
    mmd: config.mmd,
    chi2: config.chi2,
  });
}
