import {
  InferenceError,
  SUBJECT_HEADER,
  echoText,
  invalidArgument,
  type InferRequest,
  type InferResponse,
  type Tensor,
  type TensorSpec,
} from '@infergraph/protocol';
import { RequestLifetime, type GraphResult, type NodeTiming } from '@infergraph/executor';
import type { GraphEntry, GraphRegistry } from './graph.registry';
import type { LoadedGraph } from './graph-file.loader';
import { runRequest } from './request.runner';
import type { RolloutManager } from './rollout.manager';
import { SERVER_VERSION, type ServerMetadata } from './server.metadata';

export interface ModelMetadata {
  readonly name: string;
  readonly versions: readonly string[];
  readonly platform: string;
  readonly inputs: readonly TensorSpec[];
  readonly outputs: readonly TensorSpec[];
}

export interface GraphInferResponse extends InferResponse {
  /** Routes taken (`router=route,...`), for the x-infergraph-route header; undefined without routers. */
  readonly route: string | undefined;
}

export interface InferCall {
  readonly graph: string;
  readonly version: string | undefined;
  readonly request: InferRequest;
  /** Request id from the transport (e.g. x-request-id) when the body has none. */
  readonly requestId: string | undefined;
  readonly headers: Readonly<Record<string, string>>;
}

export interface GraphInferenceOptions {
  /** Put input and output tensors (up to 16 values each) on the `request` event, for logs. Off by default. */
  readonly logPayloads?: boolean;
  /**
   * Rows (the first dimension of each input) one request may carry unless its graph sets `spec.maxRows`:
   * a bound on what one request can make the process allocate. Default DEFAULT_MAX_ROWS.
   */
  readonly maxRows?: number;
  /** Canary rollouts: picks the version of unversioned requests while one runs, and runs shadow copies. */
  readonly rollouts?: RolloutManager;
}

export const DEFAULT_MAX_ROWS = 8192;

/** Values of a tensor kept in a payload log line. */
const PAYLOAD_VALUES = 16;

/** Transport-independent graph inference: REST, gRPC and Kafka front ends all call this. */
export class GraphInferenceService {
  /** Why this process no longer reports ready, once it has begun to stop. */
  private stoppingBecause: string | undefined;

  constructor(
    private readonly registry: GraphRegistry,
    private readonly options: GraphInferenceOptions = {},
  ) {}

  /**
   * From now on readiness is false with `why`, so that load balancers stop sending here; requests are
   * still answered until the transports close.
   */
  beginStopping(why: string): void {
    this.stoppingBecause ??= why;
  }

  serverMetadata(): ServerMetadata {
    return { name: 'infergraph', version: SERVER_VERSION };
  }

  metadata(graph: string, version: string | undefined): ModelMetadata {
    const loaded = this.ready(graph, version);
    const plan = loaded.executor.plan;
    // The unversioned path lists every version that can serve; a versioned one describes that version.
    const versions = version === undefined ? this.registry.versionsOf(graph).flatMap((e) => (e.graph === undefined || e.version === undefined ? [] : [e.version])) : [plan.version];
    return { name: plan.name, versions, platform: 'infergraph', inputs: plan.inputs, outputs: plan.outputs };
  }

  /** Throws NOT_FOUND for unknown graphs/versions and UNAVAILABLE while loading or after a failed load. */
  ready(graph: string, version: string | undefined): LoadedGraph {
    const entry = this.entry(graph, version);
    if (entry.state === 'loading' || entry.graph === undefined) {
      const why = entry.state === 'failed' ? `failed to load: ${entry.error ?? 'unknown error'}` : 'is still loading';
      throw new InferenceError('UNAVAILABLE', `graph "${graph}" ${why}`);
    }
    return entry.graph;
  }

  /**
   * Whether a graph (version) can serve now. Unknown graphs and versions throw NOT_FOUND, so every front
   * end answers them as it answers metadata and infer (404, gRPC NOT_FOUND), not as "not ready".
   */
  readiness(graph: string, version: string | undefined): { readonly name: string; readonly ready: boolean; readonly error?: string } {
    const entry = this.entry(graph, version);
    let loaded: LoadedGraph;
    try {
      loaded = this.ready(graph, version);
    } catch (err) {
      return { name: entry.name, ready: false, error: err instanceof Error ? err.message : String(err) };
    }
    // Loaded is not enough: every node the answer needs must be servable (e.g. have a READY replica).
    const missing = loaded.executor.unavailableNodes();
    return missing.length === 0 ? { name: entry.name, ready: true } : { name: entry.name, ready: false, error: `graph "${graph}" cannot serve: ${missing.join('; ')}` };
  }

  /**
   * Server readiness: every graph settled and at least one graph able to serve (loaded, and each node it
   * needs servable). One graph waiting for a replica does not take the others out of a load balancer, but
   * `missing` names every graph that cannot serve and why. Graphs that failed to load answer 503 themselves.
   */
  serverReadiness(): { readonly ready: boolean; readonly missing: readonly string[] } {
    if (this.stoppingBecause !== undefined) return { ready: false, missing: [this.stoppingBecause] };
    if (!this.registry.settled) return { ready: false, missing: ['graphs are still loading'] };
    const entries = this.registry.list();
    if (entries.length === 0) return { ready: false, missing: ['no graphs'] };
    const missing: string[] = [];
    let serving = 0;
    for (const e of entries) {
      if (e.graph === undefined) continue;
      const why = e.graph.executor.unavailableNodes();
      if (why.length > 0) missing.push(`graph "${e.name}"${this.registry.versionsOf(e.name).length > 1 ? ` version ${e.version ?? '?'}` : ''}: ${why.join('; ')}`);
      else serving++;
    }
    return { ready: serving > 0, missing };
  }

  /**
   * A graph's entry: the version asked for, or the one the unversioned path serves now (the default, or
   * the version a running rollout picks for this request when `headers` are given).
   */
  entry(graph: string, version?: string): GraphEntry {
    const entry = this.registry.get(graph);
    if (entry === undefined) {
      const known = [...new Set(this.registry.list().map((e) => e.name))];
      throw new InferenceError('NOT_FOUND', `unknown graph "${graph}" (served: ${known.join(', ') || 'none'})`);
    }
    if (version === undefined) return entry;
    const exact = this.registry.get(graph, version);
    if (exact !== undefined) return exact;
    // A graph still loading (or failed before its spec was read) has no known version yet: it answers by state.
    if (entry.version === undefined) return entry;
    const versions = this.registry.versionsOf(graph).flatMap((e) => (e.version === undefined ? [] : [e.version]));
    throw new InferenceError('NOT_FOUND', `graph "${graph}" has no version "${echoText(version)}" (available: ${versions.join(', ')})`);
  }

  async infer(call: InferCall): Promise<GraphInferResponse> {
    const rollouts = this.options.rollouts;
    // A running canary picks the version of an unversioned request (sticky callers keep theirs).
    const version = call.version ?? rollouts?.versionFor(call.graph, call.headers);
    const loaded = this.ready(call.graph, version);
    const plan = loaded.executor.plan;
    const maxRows = loaded.spec.spec.maxRows ?? this.options.maxRows ?? DEFAULT_MAX_ROWS;
    for (const [i, t] of call.request.inputs.entries()) {
      const rows = t.shape.length === 0 ? 1 : (t.shape[0] as number);
      if (rows > maxRows) {
        throw new InferenceError(
          'PAYLOAD_TOO_LARGE',
          `inputs[${i}] ("${echoText(t.name)}"): ${rows} rows exceed the ${maxRows} rows one request of graph "${plan.name}" may carry (${loaded.spec.spec.maxRows === undefined ? 'MAX_ROWS' : 'spec.maxRows'}); split the request`,
        );
      }
    }
    if (call.request.outputs !== undefined) {
      for (const o of call.request.outputs) {
        if (!plan.outputs.some((p) => p.name === o.name)) {
          throw invalidArgument(
            `outputs: unknown output "${echoText(o.name)}"; graph "${plan.name}" returns ${plan.outputs.map((p) => p.name).join(', ')}`,
          );
        }
      }
    }
    // Counted until it ends: a replaced version closes once its last request is done.
    const leave = this.registry.enter(loaded);
    let response: GraphInferResponse;
    try {
      response = await this.run(call, loaded);
    } finally {
      leave();
    }
    const shadow = call.version === undefined ? rollouts?.shadowOf(call.graph) : undefined;
    if (shadow !== undefined && rollouts !== undefined && shadow !== plan.version) this.shadow(call, shadow, response, rollouts);
    return response;
  }

  /** Runs a copy of an answered request on a rollout's new version; its answer is only compared, never sent. */
  private shadow(call: InferCall, version: string, served: GraphInferResponse, rollouts: RolloutManager): void {
    let loaded: LoadedGraph;
    try {
      loaded = this.ready(call.graph, version);
    } catch {
      return; // unloaded meanwhile: the rollout aborts on its own
    }
    const leave = this.registry.enter(loaded);
    this.run({ ...call, version, request: { ...call.request, outputs: undefined } }, loaded).then(
      (copy) => rollouts.recordAgreement(call.graph, version, pick(served.outputs, undefined), pick(copy.outputs, call.request.outputs)),
      () => undefined, // counted as the new version's error by its request event
    ).finally(leave);
  }

  private run(call: InferCall, loaded: LoadedGraph): Promise<GraphInferResponse> {
    const plan = loaded.executor.plan;
    const events = this.registry.events;
    const tracer = this.registry.tracer;
    let result: GraphResult | undefined;
    let route: string | undefined;
    return runRequest<GraphInferResponse>({
      context: { requestId: call.request.id ?? call.requestId, graph: plan.name, headers: call.headers, parameters: call.request.parameters, timeoutMs: plan.timeoutMs, signal: new RequestLifetime() },
      started: () => events.emit('started', { graph: plan.name }),
      trace: tracer === undefined ? undefined : (ctx, run) => tracer.request(ctx, run),
      work: async (ctx) => {
        result = await loaded.executor.execute(call.request.inputs, ctx);
        route = formatRoutes(result.routes);
        let parameters: Record<string, unknown> | undefined;
        if (route !== undefined) (parameters ??= {})['route'] = route;
        if (result.timings !== undefined) (parameters ??= {})['trace'] = traceOf(result.timings);
        return { modelName: plan.name, modelVersion: plan.version, id: ctx.requestId, parameters, outputs: pick(result.outputs, call.request.outputs), route };
      },
      // One fixed shape (absent parts undefined, which every listener treats as absent): no spreads per request.
      ended: (ctx, failure, seconds) =>
        events.emit('request', {
          graph: plan.name,
          version: plan.version,
          requestId: ctx.requestId,
          code: failure === undefined ? 'OK' : failure instanceof InferenceError ? failure.code : 'INTERNAL',
          error: failure === undefined ? undefined : failure instanceof Error ? failure.message : JSON.stringify(failure),
          seconds,
          route,
          subject: call.headers[SUBJECT_HEADER],
          payload: this.options.logPayloads === true ? { inputs: call.request.inputs.map(summarize), ...(result !== undefined ? { outputs: result.outputs.map(summarize) } : {}) } : undefined,
        }),
    });
  }
}

/** A tensor for a payload log line: name, type, shape and its first values. */
function summarize(t: Tensor): { name: string; datatype: string; shape: readonly number[]; data: unknown[]; truncated: boolean } {
  const data = Array.from(t.data.slice(0, PAYLOAD_VALUES) as ArrayLike<unknown>, (v) => (typeof v === 'bigint' ? v.toString() : v));
  return { name: t.name, datatype: t.datatype, shape: t.shape, data, truncated: t.data.length > PAYLOAD_VALUES };
}

/** `router=route` pairs, comma-separated: the value of x-infergraph-route and parameters.route. */
export function formatRoutes(routes: Readonly<Record<string, string>>): string | undefined {
  let text: string | undefined;
  for (const router in routes) text = `${text === undefined ? '' : `${text},`}${router}=${routes[router] as string}`;
  return text;
}

function pick(outputs: readonly Tensor[], requested: InferRequest['outputs']): readonly Tensor[] {
  if (requested === undefined) return outputs;
  return requested.map((r) => outputs.find((o) => o.name === r.name) as Tensor);
}

function traceOf(timings: readonly NodeTiming[]): { nodes: readonly NodeTiming[] } {
  return { nodes: [...timings].sort((a, b) => a.startMs - b.startMs) };
}
