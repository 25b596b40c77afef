import { Counter, Gauge, Histogram } from 'prom-client';
import type { EventEmitter } from 'node:events';
import type { EngineEvents } from '@infergraph/engine';
import { HotCounter, HotGauge, HotHistogram, type HotCounterChild, type HotGaugeChild, type HotHistogramChild } from './hot.metrics';
import { ProcessMetrics } from './process.metrics';

/** What the metrics and request logs read from the engine: its event stream (`GraphRegistry.events`). */
export type EngineEventSource = Pick<EventEmitter<EngineEvents>, 'on'>;

/** Rows per batch: powers of two up to 1024. */
const BATCH_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024];

/** Latency buckets from 0.5 ms to 10 s (seconds, Prometheus base unit). */
const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * Prometheus metrics of one process, named by Prometheus conventions with the `infergraph_` prefix and
 * base units. Labels are graph, node, type, route, code and feature index only: their values come from
 * graph files, never from requests, so cardinality stays bounded.
 */
export class EngineMetrics extends ProcessMetrics {
  // Per request: HotMetrics (see hot.metrics.ts); the rest change rarely and stay prom-client's.
  private readonly requests: HotCounter;
  private readonly requestSeconds: HotHistogram;
  private readonly inFlight: HotGauge;
  private readonly outlierRows: Counter<'graph' | 'node' | 'outcome'>;
  private readonly modelLoadSeconds: Gauge<'graph' | 'node'>;
  private readonly batchSize: Histogram<'graph' | 'node'>;
  private readonly batchQueueSeconds: Histogram<'graph' | 'node'>;
  private readonly batchComputeSeconds: Histogram<'graph' | 'node'>;
  private readonly nodeCalls: HotCounter;
  private readonly nodeSeconds: HotHistogram;
  private readonly routes: HotCounter;
  private readonly driftPValue: Gauge<'graph' | 'node' | 'feature'>;
  private readonly isDrift: Gauge<'graph' | 'node'>;
  private readonly driftWindows: Counter<'graph' | 'node'>;
  private readonly loadSeconds: Gauge<'graph'>;
  private readonly graphReady: Gauge<'graph'>;
  private readonly rolloutTransitions: Counter<'graph' | 'version' | 'phase'>;
  private readonly rolloutWeight: Gauge<'graph' | 'version'>;

  constructor(component: string) {
    super(component);
    const r = [this.registry];
    this.requests = new HotCounter('infergraph_graph_requests_total', 'Graph requests by outcome ("OK" or the error class).', ['graph', 'code'], this.registry);
    this.requestSeconds = new HotHistogram('infergraph_graph_request_duration_seconds', 'Graph request duration, from validated request to response.', ['graph'], LATENCY_BUCKETS, this.registry);
    this.rolloutTransitions = new Counter({ name: 'infergraph_rollout_transitions_total', help: 'Rollout transitions, by the new version and the phase entered (shadow, canary, promoted, rolled-back, aborted).', labelNames: ['graph', 'version', 'phase'], registers: r });
    this.rolloutWeight = new Gauge({ name: 'infergraph_rollout_weight_percent', help: "Share (percent) of the graph's unversioned requests a rollout gives its new version now.", labelNames: ['graph', 'version'], registers: r });
    this.inFlight = new HotGauge('infergraph_graph_requests_in_flight', 'Graph requests being handled.', ['graph'], this.registry);
    this.outlierRows = new Counter({ name: 'infergraph_outlier_rows_total', help: 'Rows scored by outlier nodes, by outcome (outlier or normal).', labelNames: ['graph', 'node', 'outcome'], registers: r });
    this.modelLoadSeconds = new Gauge({ name: 'infergraph_model_load_duration_seconds', help: "Time the latest load of a model node's session took.", labelNames: ['graph', 'node'], registers: r });
    this.batchSize = new Histogram({ name: 'infergraph_batch_size', help: 'Rows per batch a batched model node ran.', labelNames: ['graph', 'node'], buckets: BATCH_BUCKETS, registers: r });
    this.batchQueueSeconds = new Histogram({ name: 'infergraph_batch_queue_duration_seconds', help: "Time the oldest request of each batch waited in the node's queue.", labelNames: ['graph', 'node'], buckets: LATENCY_BUCKETS, registers: r });
    this.batchComputeSeconds = new Histogram({ name: 'infergraph_batch_compute_duration_seconds', help: 'Model run time of each batch, stacking and splitting included.', labelNames: ['graph', 'node'], buckets: LATENCY_BUCKETS, registers: r });
    this.nodeCalls = new HotCounter('infergraph_node_calls_total', 'Node executions by status (ok, skipped by routing, error; cancelled: failed after the request had its answer, or on a worker after its caller cancelled the call).', ['graph', 'node', 'type', 'status'], this.registry);
    this.nodeSeconds = new HotHistogram('infergraph_node_duration_seconds', "Node duration from the start of the node's own work (transport included).", ['graph', 'node', 'type'], LATENCY_BUCKETS, this.registry);
    this.routes = new HotCounter('infergraph_router_decisions_total', 'Router decisions by route taken.', ['graph', 'router', 'route'], this.registry);
    this.driftPValue = new Gauge({ name: 'infergraph_drift_p_value', help: 'p-value of the latest drift test per feature.', labelNames: ['graph', 'node', 'feature'], registers: r });
    this.isDrift = new Gauge({ name: 'infergraph_drift_is_drift', help: '1 when the latest drift window was judged drifted.', labelNames: ['graph', 'node'], registers: r });
    this.driftWindows = new Counter({ name: 'infergraph_drift_windows_total', help: 'Drift windows tested.', labelNames: ['graph', 'node'], registers: r });
    this.loadSeconds = new Gauge({ name: 'infergraph_graph_load_duration_seconds', help: 'Time the latest load of the graph took (models included).', labelNames: ['graph'], registers: r });
    this.graphReady = new Gauge({ name: 'infergraph_graph_ready', help: '1 when the graph is loaded and serving.', labelNames: ['graph'], registers: r });
  }

  /** Follows the engine's events. */
  observe(events: EngineEventSource): this {
    // Requests and node calls happen per request: their labelled children are looked up once.
    type GraphChildren = { inFlight: HotGaugeChild; seconds: HotHistogramChild; outcomes: Map<string, HotCounterChild> };
    const perGraph = new Map<string, GraphChildren>();
    const graphChildren = (graph: string): GraphChildren => {
      let c = perGraph.get(graph);
      if (c === undefined) perGraph.set(graph, (c = { inFlight: this.inFlight.child(graph), seconds: this.requestSeconds.child(graph), outcomes: new Map() }));
      return c;
    };
    // graph -> node -> status: nested lookups, no key string built per node call.
    // A router's children also count its decisions, by route.
    type NodeChildren = { type: string; calls: HotCounterChild; seconds: HotHistogramChild; routes: Map<string, HotCounterChild> | undefined };
    const nodes = new Map<string, Map<string, Map<string, NodeChildren>>>();
    events.on('started', (e) => graphChildren(e.graph).inFlight.inc());
    events.on('request', (e) => {
      const c = graphChildren(e.graph);
      c.inFlight.dec();
      c.seconds.observe(e.seconds);
      let counter = c.outcomes.get(e.code);
      if (counter === undefined) c.outcomes.set(e.code, (counter = this.requests.child(e.graph, e.code)));
      counter.inc();
    });
    events.on('node', (e) => {
      let ofGraph = nodes.get(e.graph);
      if (ofGraph === undefined) nodes.set(e.graph, (ofGraph = new Map<string, Map<string, NodeChildren>>()));
      let ofNode = ofGraph.get(e.node);
      if (ofNode === undefined) ofGraph.set(e.node, (ofNode = new Map<string, NodeChildren>()));
      // A node's type never changes within a graph version; a reload makes new children if it does.
      let c = ofNode.get(e.status);
      if (c === undefined || c.type !== e.type) ofNode.set(e.status, (c = { type: e.type, calls: this.nodeCalls.child(e.graph, e.node, e.type, e.status), seconds: this.nodeSeconds.child(e.graph, e.node, e.type), routes: undefined }));
      c.calls.inc();
      if (e.status !== 'skipped') c.seconds.observe(e.seconds);
      if (e.route !== undefined) {
        const routes = (c.routes ??= new Map<string, HotCounterChild>());
        let decisions = routes.get(e.route);
        if (decisions === undefined) routes.set(e.route, (decisions = this.routes.child(e.graph, e.node, e.route)));
        decisions.inc();
      }
    });
    events.on('drift', (e) => {
      e.p_val.forEach((p, i) => this.driftPValue.set({ graph: e.graph, node: e.node, feature: String(i) }, p));
      this.isDrift.set({ graph: e.graph, node: e.node }, e.is_drift ? 1 : 0);
      this.driftWindows.inc({ graph: e.graph, node: e.node });
    });
    events.on('batch', (e) => {
      const labels = { graph: e.graph, node: e.node };
      this.batchSize.observe(labels, e.size);
      this.batchQueueSeconds.observe(labels, e.queueSeconds);
      this.batchComputeSeconds.observe(labels, e.computeSeconds);
    });
    events.on('outlier', (e) => {
      this.outlierRows.inc({ graph: e.graph, node: e.node, outcome: 'outlier' }, e.outliers);
      this.outlierRows.inc({ graph: e.graph, node: e.node, outcome: 'normal' }, e.rows - e.outliers);
    });
    events.on('loaded', (e) => {
      this.graphReady.set({ graph: e.graph }, e.state === 'ready' ? 1 : 0);
      this.loadSeconds.set({ graph: e.graph }, e.seconds);
      for (const m of e.models) this.modelLoadSeconds.set({ graph: e.graph, node: m.node }, m.seconds);
    });
    events.on('rollout', (e) => {
      this.rolloutTransitions.inc({ graph: e.graph, version: e.to, phase: e.phase });
      this.rolloutWeight.set({ graph: e.graph, version: e.to }, e.weightPercent);
    });
    return this;
  }

}
