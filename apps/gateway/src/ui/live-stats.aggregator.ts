import type { EventEmitter } from 'node:events';
import type { BatchResult, EngineEvents } from '@infergraph/engine';

/** What the dashboard shows per node, over the last `windowMs` (rate, latency) or since start (counts). */
export interface LiveNodeStats {
  readonly graph: string;
  readonly node: string;
  readonly type: string;
  /** Calls per second over the window. */
  readonly ratePerSecond: number;
  readonly p50Ms: number | undefined;
  readonly p99Ms: number | undefined;
  readonly calls: number;
  readonly errors: number;
  readonly skipped: number;
  /** Routers: requests per route since start. */
  readonly routes?: Record<string, number>;
  /** Batched models: batches and mean rows per batch since start, and the last batch's rows. */
  readonly batches?: { readonly count: number; readonly meanSize: number; readonly lastSize: number };
  /** Outlier nodes: rows scored and rows flagged since start. */
  readonly outliers?: { readonly rows: number; readonly flagged: number };
}

export interface LiveSnapshot {
  readonly at: string;
  readonly windowMs: number;
  readonly nodes: readonly LiveNodeStats[];
}

interface NodeTally {
  readonly graph: string;
  readonly node: string;
  type: string;
  /** The newest MAX_SAMPLES calls as a ring: when each ended (epoch ms) and how long it took (ms). */
  readonly at: Float64Array;
  readonly ms: Float64Array;
  /** Next slot to write; samples written so far (at most MAX_SAMPLES count). */
  next: number;
  written: number;
  calls: number;
  errors: number;
  skipped: number;
  routes?: Map<string, number>;
  batches?: { count: number; rows: number; last: number };
  outliers?: { rows: number; flagged: number };
}

/** At most this many samples per node are kept for the percentiles (the newest ones). */
const MAX_SAMPLES = 4096;

/**
 * Per-node live figures for the dashboard, fed only by the engine's events (as the metrics are). The node
 * listener runs inside every request (see ARCHITECTURE, "Telemetry on the request path"), so it only
 * writes two numbers into a ring; sorting for percentiles happens once per snapshot, off the request path.
 */
export class LiveStatsAggregator {
  private readonly tallies = new Map<string, Map<string, NodeTally>>();
  private readonly detach: () => void;

  constructor(
    events: EventEmitter<EngineEvents>,
    private readonly windowMs = 10_000,
    private readonly now: () => number = Date.now,
  ) {
    const onNode = (r: EngineEvents['node'][0]): void => {
      const t = this.tally(r.graph, r.node, r.type);
      if (r.status === 'skipped') {
        t.skipped++;
        return;
      }
      t.calls++;
      if (r.status === 'error') t.errors++;
      t.at[t.next] = this.now();
      t.ms[t.next] = r.seconds * 1000;
      t.next = (t.next + 1) % MAX_SAMPLES;
      t.written++;
      if (r.route !== undefined) {
        const routes = (t.routes ??= new Map());
        routes.set(r.route, (routes.get(r.route) ?? 0) + 1);
      }
    };
    const onBatch = (r: BatchResult): void => {
      const b = (this.tally(r.graph, r.node, 'model').batches ??= { count: 0, rows: 0, last: 0 });
      b.count++;
      b.rows += r.size;
      b.last = r.size;
    };
    const onOutlier = (r: EngineEvents['outlier'][0]): void => {
      const o = (this.tally(r.graph, r.node, 'outlier').outliers ??= { rows: 0, flagged: 0 });
      o.rows += r.rows;
      o.flagged += r.outliers;
    };
    const onLoaded = (r: EngineEvents['loaded'][0]): void => {
      // A reloaded graph starts its figures afresh.
      this.tallies.delete(r.graph);
    };
    events.on('node', onNode);
    events.on('batch', onBatch);
    events.on('outlier', onOutlier);
    events.on('loaded', onLoaded);
    this.detach = () => {
      events.off('node', onNode);
      events.off('batch', onBatch);
      events.off('outlier', onOutlier);
      events.off('loaded', onLoaded);
    };
  }

  snapshot(): LiveSnapshot {
    const now = this.now();
    const since = now - this.windowMs;
    const nodes: LiveNodeStats[] = [];
    for (const t of this.allTallies()) {
      const recent: number[] = [];
      for (let i = 0; i < Math.min(t.written, MAX_SAMPLES); i++) if ((t.at[i] as number) >= since) recent.push(t.ms[i] as number);
      const sorted = recent.sort((a, b) => a - b);
      // A busy node fills the ring within the window: then the ring's own span gives the rate.
      const full = t.written >= MAX_SAMPLES && recent.length === MAX_SAMPLES;
      const spanSeconds = full ? Math.max(1e-3, (now - (t.at[t.next] as number)) / 1000) : this.windowMs / 1000;
      nodes.push({
        graph: t.graph,
        node: t.node,
        type: t.type,
        ratePerSecond: sorted.length / spanSeconds,
        p50Ms: quantile(sorted, 0.5),
        p99Ms: quantile(sorted, 0.99),
        calls: t.calls,
        errors: t.errors,
        skipped: t.skipped,
        ...(t.routes === undefined ? {} : { routes: Object.fromEntries(t.routes) }),
        ...(t.batches === undefined ? {} : { batches: { count: t.batches.count, meanSize: t.batches.rows / t.batches.count, lastSize: t.batches.last } }),
        ...(t.outliers === undefined ? {} : { outliers: { ...t.outliers } }),
      });
    }
    return { at: new Date(now).toISOString(), windowMs: this.windowMs, nodes };
  }

  close(): void {
    this.detach();
  }

  private *allTallies(): Generator<NodeTally> {
    for (const ofGraph of this.tallies.values()) yield* ofGraph.values();
  }

  private tally(graph: string, node: string, type: string): NodeTally {
    // graph -> node: two lookups, no key string built on every node call.
    let ofGraph = this.tallies.get(graph);
    if (ofGraph === undefined) this.tallies.set(graph, (ofGraph = new Map<string, NodeTally>()));
    let t = ofGraph.get(node);
    if (t === undefined) {
      t = { graph, node, type, at: new Float64Array(MAX_SAMPLES), ms: new Float64Array(MAX_SAMPLES), next: 0, written: 0, calls: 0, errors: 0, skipped: 0 };
      ofGraph.set(node, t);
    }
    return t;
  }
}

/** Nearest-rank quantile of an ascending array. */
function quantile(sorted: readonly number[], q: number): number | undefined {
  if (sorted.length === 0) return undefined;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}
