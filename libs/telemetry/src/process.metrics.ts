import { AggregatorRegistry, Counter, Gauge, Registry, collectDefaultMetrics, type MetricObjectWithValues, type MetricValue } from 'prom-client';

/** One process's series as prom-client's JSON: what a serving process sends its gateway to be summed. */
export type MetricsJson = MetricObjectWithValues<MetricValue<string>>[];

/** Label values of one sample of a gauge read at scrape time. */
export type LabelValues = Readonly<Record<string, string>>;

/**
 * The Prometheus registry of one process: default process metrics with the `infergraph_` prefix, every
 * series labelled with the component (gateway, worker, controller), and gauges read at scrape time.
 */
export class ProcessMetrics {
  readonly registry = new Registry();

  constructor(component: string) {
    this.registry.setDefaultLabels({ component });
    collectDefaultMetrics({ register: this.registry, prefix: 'infergraph_' });
    // prom-client adds totals of three gauges with a counter's _total suffix (promtool rejects that); the
    // same gauges by type stay (infergraph_nodejs_active_handles...).
    for (const what of ['handles', 'requests', 'resources']) this.registry.removeSingleMetric(`infergraph_nodejs_active_${what}_total`);
  }

  /** A gauge read at scrape time (e.g. Kafka records in flight). */
  gaugeFrom(name: string, help: string, read: () => number): void {
    new Gauge({
      name,
      help,
      registers: [this.registry],
      collect() {
        this.set(read());
      },
    });
  }

  /** A labelled gauge read at scrape time: every sample `read` returns, nothing else (stale series go). */
  gaugesFrom(name: string, help: string, labelNames: readonly string[], read: () => Iterable<readonly [LabelValues, number]>): void {
    new Gauge({
      name,
      help,
      labelNames,
      registers: [this.registry],
      collect() {
        this.reset();
        for (const [labels, value] of read()) this.set(labels, value);
      },
    });
  }

  /** `infergraph_kafka_consumer_lag{group,topic,partition}`, read at scrape time. */
  consumerLagFrom(read: () => Iterable<readonly [LabelValues, number]>): void {
    this.gaugesFrom('infergraph_kafka_consumer_lag', 'Records behind the end of each consumed partition, as of the latest fetch.', ['group', 'topic', 'partition'], read);
  }

  /** `infergraph_model_thread_sessions{thread}`: the sessions each model thread holds, read at scrape time. */
  modelThreadSessionsFrom(read: () => Iterable<{ readonly threadId: number; readonly sessions: number }>): void {
    this.gaugesFrom('infergraph_model_thread_sessions', 'Model sessions each model thread holds (MODEL_THREADS); sessions on the event loop are not counted.', ['thread'], () =>
      [...read()].map((t) => [{ thread: String(t.threadId) }, t.sessions] as const),
    );
  }

  /** A labelled counter read at scrape time from monotonic sources: every sample `read` returns. */
  countersFrom(name: string, help: string, labelNames: readonly string[], read: () => Iterable<readonly [LabelValues, number]>): void {
    new Counter({
      name,
      help,
      labelNames,
      registers: [this.registry],
      collect() {
        this.reset();
        for (const [labels, value] of read()) this.inc(labels, value);
      },
    });
  }

  /** A counter read at scrape time from a monotonic source. */
  counterFrom(name: string, help: string, read: () => number): void {
    new Counter({
      name,
      help,
      registers: [this.registry],
      collect() {
        this.reset();
        this.inc(read());
      },
    });
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }

  json(): Promise<MetricsJson> {
    return this.registry.getMetricsAsJSON();
  }

  /**
   * This process's exposition with other processes' series summed in (prom-client's cluster aggregation:
   * counters and histograms add up; series a metric marks otherwise, such as the start time, are not summed).
   */
  async textWith(others: readonly MetricsJson[]): Promise<string> {
    if (others.length === 0) return this.text();
    return AggregatorRegistry.aggregate([await this.json(), ...others]).metrics();
  }
}

