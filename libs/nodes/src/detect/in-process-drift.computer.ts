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

/**
 * The drift test a config asks for, on reference and window columns. For the multivariate MMD test
 * both samples are first standardised with the reference's mean and standard deviation, so that one
 * RBF bandwidth suits features of any scale (per-feature tests are scale-free already).
 */
export function detectDriftFor(config: DriftConfig, reference: readonly Float64Array[], window: readonly Float64Array[]): DriftDetection {
  if (config.method === 'mmd') {
    const stats = reference.map(columnStats);
    reference = reference.map((c, i) => standardize(c, stats[i] as ColumnStats));
    window = window.map((c, i) => standardize(c, stats[i] as ColumnStats));
  }
  return detectDrift(config.method, reference, window, {
    pValue: config.pValue,
    correction: config.correction,
    ksMode: config.ksMode,
    permutations: config.permutations,
    seed: config.seed,
  });
}

interface ColumnStats {
  readonly mean: number;
  readonly std: number;
}

function columnStats(column: Float64Array): ColumnStats {
  let mean = 0;
  for (const v of column) mean += v;
  mean /= Math.max(column.length, 1);
  let ss = 0;
  for (const v of column) ss += (v - mean) ** 2;
  const std = Math.sqrt(ss / Math.max(column.length - 1, 1));
  return { mean, std: std > 0 ? std : 1 };
}

function standardize(column: Float64Array, stats: ColumnStats): Float64Array {
  return column.map((v) => (v - stats.mean) / stats.std);
}
