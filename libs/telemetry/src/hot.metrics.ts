import type { Registry } from 'prom-client';

/**
 * Counters, gauges and histograms for the per-request path, exported through a prom-client Registry in
 * its text format. prom-client hashes a series' label values on every inc() and observe(), its labelled
 * children included; these resolve a series once (`child(...)`) and then only add to numbers, so a
 * request's metrics cost a few additions instead of several microseconds.
 */
abstract class HotMetric<S> {
  readonly aggregator = 'sum';
  private readonly series = new Map<string, { readonly labels: Record<string, string>; readonly state: S }>();

  protected constructor(
    readonly name: string,
    readonly help: string,
    readonly type: 'counter' | 'gauge' | 'histogram',
    private readonly labelNames: readonly string[],
    registry: Registry,
  ) {
    registry.registerMetric(this as unknown as Parameters<Registry['registerMetric']>[0]);
  }

  /** The state of the series with these label values (in labelNames order), made on first use. */
  protected seriesOf(values: readonly string[]): S {
    if (values.length !== this.labelNames.length) throw new Error(`${this.name}: expected labels ${this.labelNames.join(', ')}, got ${values.length} values`);
    const key = values.join('\u0000');
    let s = this.series.get(key);
    if (s === undefined) {
      const labels: Record<string, string> = {};
      this.labelNames.forEach((n, i) => (labels[n] = values[i] as string));
      this.series.set(key, (s = { labels, state: this.create() }));
    }
    return s.state;
  }

  protected abstract create(): S;
  protected abstract lines(labels: Record<string, string>, state: S): MetricLine[];

  /** prom-client's metric interface: the current values, read when the registry renders. */
  get(): Promise<{ name: string; help: string; type: string; aggregator: string; values: MetricLine[] }> {
    const values: MetricLine[] = [];
    for (const { labels, state } of this.series.values()) values.push(...this.lines(labels, state));
    return Promise.resolve({ name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values });
  }

  reset(): void {
    this.series.clear();
  }
}

interface MetricLine {
  readonly value: number;
  readonly labels: Record<string, string | number>;
  readonly metricName?: string;
}

export interface HotCounterChild {
  inc(by?: number): void;
}

export class HotCounter extends HotMetric<{ value: number }> {
  constructor(name: string, help: string, labelNames: readonly string[], registry: Registry) {
    super(name, help, 'counter', labelNames, registry);
  }

  child(...values: string[]): HotCounterChild {
    const s = this.seriesOf(values);
    return {
      inc: (by = 1) => {
        if (by >= 0 && Number.isFinite(by)) s.value += by;
      },
    };
  }

  protected create(): { value: number } {
    return { value: 0 };
  }

  protected lines(labels: Record<string, string>, s: { value: number }): MetricLine[] {
    return [{ value: s.value, labels }];
  }
}

export interface HotGaugeChild {
  inc(): void;
  dec(): void;
}

export class HotGauge extends HotMetric<{ value: number }> {
  constructor(name: string, help: string, labelNames: readonly string[], registry: Registry) {
    super(name, help, 'gauge', labelNames, registry);
  }

  child(...values: string[]): HotGaugeChild {
    const s = this.seriesOf(values);
    return { inc: () => void s.value++, dec: () => void s.value-- };
  }

  protected create(): { value: number } {
    return { value: 0 };
  }

  protected lines(labels: Record<string, string>, s: { value: number }): MetricLine[] {
    return [{ value: s.value, labels }];
  }
}

interface HistogramState {
  /** Observations per bucket (not cumulative); the last slot is above every bound. */
  readonly counts: Float64Array;
  sum: number;
  count: number;
}

export interface HotHistogramChild {
  observe(value: number): void;
}

export class HotHistogram extends HotMetric<HistogramState> {
  constructor(
    name: string,
    help: string,
    labelNames: readonly string[],
    private readonly bounds: readonly number[],
    registry: Registry,
  ) {
    super(name, help, 'histogram', labelNames, registry);
  }

  child(...values: string[]): HotHistogramChild {
    const s = this.seriesOf(values);
    const bounds = this.bounds;
    return {
      observe: (value: number) => {
        if (!Number.isFinite(value)) return;
        let i = 0;
        while (i < bounds.length && value > (bounds[i] as number)) i++;
        s.counts[i] = (s.counts[i] as number) + 1;
        s.sum += value;
        s.count++;
      },
    };
  }

  protected create(): HistogramState {
    return { counts: new Float64Array(this.bounds.length + 1), sum: 0, count: 0 };
  }

  protected lines(labels: Record<string, string>, s: HistogramState): MetricLine[] {
    const out: MetricLine[] = [];
    let cumulative = 0;
    this.bounds.forEach((le, i) => {
      cumulative += s.counts[i] as number;
      out.push({ value: cumulative, labels: { ...labels, le }, metricName: `${this.name}_bucket` });
    });
    out.push({ value: s.count, labels: { ...labels, le: '+Inf' }, metricName: `${this.name}_bucket` });
    out.push({ value: s.sum, labels, metricName: `${this.name}_sum` });
    out.push({ value: s.count, labels, metricName: `${this.name}_count` });
    return out;
  }
}
