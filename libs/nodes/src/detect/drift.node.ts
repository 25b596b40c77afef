import { InferenceError, invalidArgument, type TensorMap } from '@infergraph/protocol';
import type { NodeRuntime } from '@infergraph/executor';
import { DriftWindow, type CompletedWindow } from '@infergraph/detectors';
import type { DriftConfig } from '@infergraph/spec';
import type { DriftComputer, DriftDetection } from './drift-computer.port';
import { featureHistogram, type FeatureHistogram } from './feature.histogram';
import { rowsOf } from './tensor-rows';

/** A drift test result for one window, as served at GET /v1/graphs/{graph}/nodes/{node}/drift. */
export interface DriftResult {
  readonly graph: string;
  readonly node: string;
  readonly method: DriftConfig['method'];
  readonly is_drift: boolean;
  readonly features: readonly string[];
  readonly p_val: readonly number[];
  readonly distance: readonly number[];
  /** chi2 only: degrees of freedom of each feature's 2 x K table (K - 1). */
  readonly dof?: readonly number[];
  readonly threshold: number;
  readonly window: { readonly start: number; readonly end: number; readonly size: number; readonly started_at: string; readonly ended_at: string };
  readonly compute_ms: number;
}

export interface DriftStatus {
  readonly graph: string;
  readonly node: string;
  readonly method: DriftConfig['method'];
  readonly features: readonly string[];
  readonly windows_completed: number;
  readonly windows_dropped: number;
  readonly failures: number;
  readonly last_error: string | undefined;
  readonly latest: DriftResult | undefined;
  readonly history: readonly DriftResult[];
}

const MAX_BACKLOG = 4;

/**
 * A drift detector node. On the request path it only appends rows to its window (cheap, synchronous)
 * and returns no tensors; completed windows are tested in the background by the DriftComputer, one at a
 * time, with a bounded backlog. It never fails or delays the request.
 */
export class DriftNode implements NodeRuntime {
  private readonly window: DriftWindow;
  private readonly history: DriftResult[] = [];
  private readonly backlog: CompletedWindow[] = [];
  private running = false;
  private completed = 0;
  private dropped = 0;
  private failures = 0;
  private lastError: string | undefined;
  /** The latest window the detector tested (its rows, for histograms against the reference). */
  private lastWindow: CompletedWindow | undefined;
  private readonly timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly graph: string,
    private readonly name: string,
    private readonly config: DriftConfig,
    private readonly tensor: string,
    private readonly features: readonly string[],
    private readonly computer: DriftComputer,
    private readonly onResult: (result: DriftResult) => void,
    private readonly onError: (message: string) => void,
    /** The reference sample by feature (what the detector compares against), for histograms; none: no histograms. */
    private readonly referenceColumns: readonly ArrayLike<number>[] = [],
  ) {
    this.window = new DriftWindow(config.window, features.length);
    const durationMs = config.window.durationMs;
    if (durationMs !== undefined) {
      this.timer = setInterval(() => this.enqueue(this.window.tick()), Math.max(10, Math.min(durationMs / 4, 1000)));
      this.timer.unref();
    }
  }

  infer(inputs: TensorMap): Promise<TensorMap> {
    try {
      const t = inputs.get(this.tensor);
      if (t === undefined) throw invalidArgument(`drift node "${this.name}" received no tensor "${this.tensor}"`);
      this.enqueue(this.window.add(rowsOf(t, this.features.length, this.name)));
    } catch (err) {
      this.fail(err);
    }
    return Promise.resolve(new Map());
  }

  status(): DriftStatus {
    return {
      graph: this.graph,
      node: this.name,
      method: this.config.method,
      features: this.features,
      windows_completed: this.completed,
      windows_dropped: this.dropped,
      failures: this.failures,
      last_error: this.lastError,
      latest: this.history[this.history.length - 1],
      history: [...this.history],
    };
  }

  /**
   * One feature's values in the reference sample and in the latest tested window, on shared bins. NOT_FOUND
   * for a feature the detector does not watch.
   */
  histogram(feature: string, bins: number): FeatureHistogram {
    const f = this.features.indexOf(feature);
    const reference = this.referenceColumns[f];
    if (f < 0 || reference === undefined) {
      throw new InferenceError('NOT_FOUND', `drift node "${this.name}" of graph "${this.graph}" watches no feature "${feature}" (features: ${this.features.join(', ')})`);
    }
    return featureHistogram(feature, reference, this.lastWindow?.columns[f], bins);
  }

  async close(): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer);
    await this.computer.close();
  }

  private enqueue(windows: readonly CompletedWindow[]): void {
    for (const w of windows) {
      if (this.backlog.length >= MAX_BACKLOG) {
        this.backlog.shift();
        this.dropped++;
      }
      this.backlog.push(w);
    }
    void this.drain();
  }

  private async drain(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      for (let w = this.backlog.shift(); w !== undefined; w = this.backlog.shift()) {
        const started = performance.now();
        try {
          const detection = await this.computer.compute(w);
          this.record(w, detection, performance.now() - started);
        } catch (err) {
          this.fail(err);
        }
      }
    } finally {
      this.running = false;
    }
  }

  private record(w: CompletedWindow, d: DriftDetection, ms: number): void {
    const result: DriftResult = {
      graph: this.graph,
      node: this.name,
      method: this.config.method,
      is_drift: d.isDrift,
      features: this.config.method === 'mmd' ? ['(multivariate)'] : this.features,
      p_val: d.pVal,
      distance: d.distance,
      ...(d.dof === undefined ? {} : { dof: d.dof }),
      threshold: d.threshold,
      window: { start: w.start, end: w.end, size: w.size, started_at: new Date(w.startedAt).toISOString(), ended_at: new Date(w.endedAt).toISOString() },
      compute_ms: Math.round(ms * 1000) / 1000,
    };
    this.completed++;
    this.lastWindow = w;
    this.history.push(result);
    if (this.history.length > this.config.history) this.history.shift();
    this.onResult(result);
  }

  private fail(err: unknown): void {
    this.failures++;
    this.lastError = err instanceof Error ? err.message : String(err);
    this.onError(this.lastError);
  }
}
