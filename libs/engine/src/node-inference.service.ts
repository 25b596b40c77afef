import { InferenceError, type InferRequest, type InferResponse, type Tensor, type TensorMap, type TensorSpec } from '@infergraph/protocol';
import { GraphExecutor, RequestLifetime, encodeGraphAnswer, isChain, wholeGraphDeclined, type GraphPlan, type NodeRuntime, type RequestContext, type RouterRuntime } from '@infergraph/executor';
import { RouterNodeRuntime } from '@infergraph/nodes';
import { NodeKey, type GraphSpec, type NodeRef } from '@infergraph/spec';
import type { GraphRegistry } from './graph.registry';
import type { ModelMetadata } from './graph-inference.service';
import type { NodeRuntimeRegistry } from './node-runtime.registry';
import { runRequest } from './request.runner';
import { SERVER_VERSION, type ServerMetadata } from './server.metadata';

/** How long a node call may run when its caller sent no deadline (a plain V2 client). */
const NODE_TIMEOUT_MS = 30_000;

/**
 * The request context of one call from a caller: its id, headers and parameters, and what is left of its time
 * (`expiresAt`, on `performance.now()`'s clock), at most the node limit.
 */
function callContext(graph: string, request: InferRequest, headers: Readonly<Record<string, string>>, expiresAt: number | undefined, lifetime: RequestLifetime) {
  return {
    requestId: request.id,
    graph,
    headers,
    parameters: request.parameters,
    timeoutMs: expiresAt === undefined ? NODE_TIMEOUT_MS : Math.max(1, Math.min(NODE_TIMEOUT_MS, expiresAt - performance.now())),
    signal: lifetime,
  };
}

/** The end of a model name that asks for the whole graph (`NodeKey.WHOLE_GRAPH`). */
const WHOLE_GRAPH_SUFFIX = `.${NodeKey.WHOLE_GRAPH}`;

/** What serves one node model now. */
interface NodeTarget {
  readonly graph: string;
  /** The version's graph id (`NodeKey.graphId`): the graph label of node metrics, keeping versions apart. */
  readonly graphId: string;
  readonly node: string;
  readonly type: string;
  readonly signature: { readonly inputs: readonly TensorSpec[]; readonly outputs: readonly TensorSpec[] } | undefined;
  readonly call: <T>(fn: (runtime: NodeRuntime) => Promise<T>) => Promise<T>;
}

/**
 * Serves single graph nodes as V2 models named "<graph>.<node>" (`NodeKey`), the worker's side of every
 * remote node call, over any wire: assigned nodes each loaded on their own (`nodes`, with a controller),
 * or the nodes of whole graphs loaded in `registry` (without one). Requests run through the same
 * lifecycle as graph requests (`runRequest`); the node events and in-flight counts are this service's.
 */
export class NodeInferenceService {
  /** Requests in flight per node key, and the most at once since the last `takeLoads()`. */
  private readonly inFlight = new Map<string, number>();
  private readonly peak = new Map<string, number>();
  /** performance.now() of the last call started (servedWithin). */
  private lastCallAt = Number.NEGATIVE_INFINITY;
  private serving = false;
  /** Executors of graphs run whole here (`"<graph>.*"` calls), one per graph version, made on first use. */
  private readonly wholeGraphs = new WeakMap<GraphPlan, GraphExecutor>();

  constructor(
    private readonly registry: GraphRegistry,
    /** The assigned nodes (controller mode); undefined when whole graphs are loaded in `registry`. */
    private readonly nodes: NodeRuntimeRegistry | undefined,
  ) {}

  /** Called once the process serves: from then on readiness follows the nodes' states. */
  markServing(): void {
    this.serving = true;
  }

  /**
   * Ready for traffic: serving and, with a controller, every assigned node READY; without one, every graph
   * has settled and at least one of them loaded.
   */
  serverReadiness(): { readonly ready: boolean } {
    if (!this.serving) return { ready: false };
    if (this.nodes !== undefined) return { ready: this.nodes.ready };
    return { ready: this.registry.settled && this.registry.list().some((e) => e.state === 'ready') };
  }

  serverMetadata(): ServerMetadata {
    return { name: 'infergraph-worker', version: SERVER_VERSION };
  }

  /** Whether `model` can be called now; unknown models are simply not ready. */
  readiness(model: string): { readonly name: string; readonly ready: boolean } {
    try {
      this.targetOf(model);
      return { name: model, ready: true };
    } catch {
      return { name: model, ready: false };
    }
  }

  /** V2 model metadata of one served node. */
  metadata(model: string): ModelMetadata {
    const { signature } = this.targetOf(model);
    return { name: model, versions: ['1'], platform: 'infergraph-node', inputs: signature?.inputs ?? [], outputs: signature?.outputs ?? [] };
  }

  /**
   * One node call. `expiresAt`: when the caller's time runs out, on `performance.now()`'s clock (the node limit
   * when undefined or later); `lifetime`, when given, is the caller's (ended when it cancels the call).
   */
  async infer(model: string, request: InferRequest, headers: Readonly<Record<string, string>>, expiresAt?: number, lifetime = new RequestLifetime()): Promise<InferResponse> {
    if (model.endsWith(WHOLE_GRAPH_SUFFIX)) return this.inferWholeGraph(model, request, headers, expiresAt, lifetime);
    const { graph, graphId, node, type, call } = this.targetOf(model);
    const events = this.registry.events;
    const tracer = this.registry.tracer;
    // Set when the caller had ended the call (a cancel: its answer was no longer needed) before it failed.
    let cancelled = false;
    return await runRequest<InferResponse>({
      context: callContext(graph, request, headers, expiresAt, lifetime),
      started: () => this.enter(model),
      trace: tracer === undefined ? undefined : (ctx, run) => tracer.node({ graph, node, type, served: true }, ctx, run),
      work: async (ctx) => {
        const inputs = new Map(request.inputs.map((t): [string, Tensor] => [t.name, t]));
        try {
          const outputs = await call((runtime) => runtime.infer(inputs, ctx));
          return { modelName: model, modelVersion: '1', id: ctx.requestId, parameters: undefined, outputs: [...outputs.values()] };
        } catch (err) {
          cancelled = lifetime.aborted;
          throw err;
        }
      },
      ended: (ctx, failure, seconds) => {
        this.leave(model);
        const status = failure === undefined ? 'ok' : cancelled ? 'cancelled' : 'error';
        events.emit('node', { graph: graphId, node, requestId: ctx.requestId, type, status, seconds });
      },
    });
  }

  /**
   * A whole graph in one call (`"<graph>.*"`, see NodeTransport.invokeGraph): its nodes run here one after
   * another, each counted in flight under its own key as a node call would be, and the answer carries the
   * graph's outputs with each node's timing and the routes taken. Declined (NOT_FOUND, nothing run) unless
   * this worker serves every node of the graph and the graph is a chain.
   */
  private async inferWholeGraph(model: string, request: InferRequest, headers: Readonly<Record<string, string>>, expiresAt: number | undefined, lifetime: RequestLifetime): Promise<InferResponse> {
    const graph = model.slice(0, -WHOLE_GRAPH_SUFFIX.length);
    const executor = this.wholeGraphExecutor(graph);
    const tracer = this.registry.tracer;
    return await runRequest<InferResponse>({
      context: callContext(graph, request, headers, expiresAt, lifetime),
      trace: tracer === undefined ? undefined : (ctx, run) => tracer.node({ graph, node: NodeKey.WHOLE_GRAPH, type: 'graph', served: true }, ctx, run),
      work: async (ctx) => {
        const result = await executor.execute(request.inputs, ctx, { timings: true });
        return { modelName: model, modelVersion: '1', id: ctx.requestId, parameters: encodeGraphAnswer(result.timings ?? [], result.routes), outputs: result.outputs };
      },
      ended: () => undefined,
    });
  }

  private wholeGraphExecutor(graph: string): GraphExecutor {
    const parts = this.wholeGraphParts(graph);
    if (typeof parts === 'string') {
      throw wholeGraphDeclined(`this worker cannot run graph "${graph}" whole: ${parts}`);
    }
    let executor = this.wholeGraphs.get(parts.plan);
    if (executor === undefined) {
      const routers = new Map<string, RouterRuntime>();
      for (const n of parts.spec.spec.nodes) if (n.type === 'router') routers.set(n.name, new RouterNodeRuntime(n.router));
      const events = this.registry.events;
      // Each node's key made once, not per call: the in-flight counts are maps keyed by it.
      const keys = new Map<string, string>();
      const keyOf = (node: string): string => {
        let k = keys.get(node);
        if (k === undefined) keys.set(node, (k = NodeKey.format(graph, node)));
        return k;
      };
      executor = new GraphExecutor(
        parts.plan,
        { invoke: (call) => this.countedCall(keyOf(call.node), () => parts.call(call.node, call.inputs, call.ctx)) },
        { routers, combiners: new Map() },
        {
          tracer: this.registry.tracer,
          onNodeResult: (r) => {
            if (r.type !== 'router' && r.status !== 'skipped') events.emit('node', { ...r, graph, status: r.status === 'ok' ? 'ok' : 'error' });
          },
        },
      );
      this.wholeGraphs.set(parts.plan, executor);
    }
    return executor;
  }

  /** What running `graph` whole here needs, or why it cannot run here. */
  private wholeGraphParts(graph: string): { plan: GraphPlan; spec: GraphSpec; call: (node: string, inputs: TensorMap, ctx: RequestContext) => Promise<TensorMap> } | string {
    let plan: GraphPlan;
    let spec: GraphSpec;
    let call: (node: string, inputs: TensorMap, ctx: RequestContext) => Promise<TensorMap>;
    if (this.nodes !== undefined) {
      const nodes = this.nodes;
      // `graph` is a graph id: one version's nodes.
      const first = nodes.served().find((s) => NodeKey.graphId(s.spec.metadata.name, s.spec.spec.version) === graph);
      if (first === undefined) return 'it holds none of its nodes';
      plan = first.loaded.plan;
      spec = first.spec;
      for (const n of plan.nodes) {
        if (n.type === 'router') continue;
        const serving = nodes.serving(NodeKey.format(graph, n.name));
        if (serving === undefined) return `it holds no ready replica of node "${n.name}"`;
        if (serving.loaded.plan !== plan) return `its nodes come from different versions of the graph`;
      }
      call = (node, inputs, ctx) =>
        nodes.call(NodeKey.format(graph, node), (loaded) => loaded.runtime.infer(inputs, ctx)) ?? Promise.reject(new InferenceError('UNAVAILABLE', `node "${NodeKey.format(graph, node)}" stopped serving`));
    } else {
      const id = NodeKey.parseGraphId(graph);
      const loaded = id === undefined ? undefined : this.registry.get(id.graph, id.version ?? NodeKey.UNVERSIONED)?.graph;
      if (loaded === undefined) return 'it serves no such graph';
      plan = loaded.executor.plan;
      spec = loaded.spec;
      const runtimes = loaded.runtimes;
      call = (node, inputs, ctx) => (runtimes.get(node) as NodeRuntime).infer(inputs, ctx);
    }
    if (!isChain(plan)) return 'it is not a chain of nodes';
    const other = spec.spec.nodes.find((n) => n.type === 'router' && (n.router.strategy !== 'weighted' || (n.router.shadow ?? []).length > 0));
    if (other !== undefined) return `router "${other.name}" reads the request`;
    return { plan, spec, call };
  }

  /** A node call of a whole-graph run, counted in flight under the node's key as a node call would be. */
  private async countedCall(key: string, run: () => Promise<TensorMap>): Promise<TensorMap> {
    this.enter(key);
    try {
      return await run();
    } finally {
      this.leave(key);
    }
  }

  /** A call of `key` starts: counted in flight, and in the peak since the last heartbeat. */
  private enter(key: string): void {
    this.lastCallAt = performance.now();
    const now = (this.inFlight.get(key) ?? 0) + 1;
    this.inFlight.set(key, now);
    this.peak.set(key, Math.max(this.peak.get(key) ?? 0, now));
  }

  private leave(key: string): void {
    this.inFlight.set(key, (this.inFlight.get(key) ?? 1) - 1);
  }

  /** Whether a node call is in flight or started within the last `ms`: this process serves traffic now. */
  servedWithin(ms: number): boolean {
    return this.inFlightTotal() > 0 || performance.now() - this.lastCallAt <= ms;
  }

  /** Node calls being served now, all nodes together (what a drain waits for). */
  inFlightTotal(): number {
    let total = 0;
    for (const n of this.inFlight.values()) total += n;
    return total;
  }

  /** Node calls being served now, per node (for the in-flight gauge). */
  inFlightByNode(): [NodeRef, number][] {
    return [...this.inFlight].flatMap(([key, n]): [NodeRef, number][] => {
      const ref = NodeKey.parse(key);
      // A metric label set: the version stays in the graph label ("<graph>@<version>").
      return ref === undefined ? [] : [[{ graph: NodeKey.graphId(ref.graph, ref.version), node: ref.node }, n]];
    });
  }

  /** Peak in-flight requests per assigned node since the last call (for heartbeats). */
  takeLoads(): { key: string; in_flight: number }[] {
    const keys = this.nodes === undefined ? [...this.peak.keys()] : this.nodes.keys();
    const loads = keys.map((key) => ({ key, in_flight: Math.max(this.peak.get(key) ?? 0, this.inFlight.get(key) ?? 0) }));
    this.peak.clear();
    return loads;
  }

  /** What serves `model` now: an assigned node's runtime (controller mode) or a loaded graph's node. */
  private targetOf(model: string): NodeTarget {
    if (this.nodes !== undefined) {
      const nodes = this.nodes;
      const state = nodes.stateOf(model);
      if (state === undefined) throw new InferenceError('NOT_FOUND', `this worker holds no replica of "${model}"`);
      const serving = nodes.serving(model);
      if (serving === undefined) {
        throw new InferenceError('UNAVAILABLE', `node "${model}" is ${state.state} on this worker${state.reason === '' ? '' : `: ${state.reason}`}`);
      }
      return {
        graph: serving.loaded.graph,
        // An assigned key is "<graph id>.<node>".
        graphId: model.slice(0, model.length - serving.loaded.node.length - 1),
        node: serving.loaded.node,
        type: serving.loaded.type,
        signature: serving.loaded.signature,
        call: (fn) => nodes.call(model, (loaded) => fn(loaded.runtime)) ?? Promise.reject(new InferenceError('UNAVAILABLE', `node "${model}" stopped serving`)),
      };
    }
    const ref = NodeKey.parse(model);
    if (ref === undefined) throw new InferenceError('NOT_FOUND', `worker serves no model "${model}" (model names are "<graph>.<node>")`);
    const { graph, node } = ref;
    // An unversioned key is version 1, else (callers from before versions) the graph's only or default version.
    const entry = ref.version !== undefined ? this.registry.get(graph, ref.version) : (this.registry.get(graph, NodeKey.UNVERSIONED) ?? this.registry.get(graph));
    if (entry?.graph === undefined) {
      const what = `graph "${graph}"${ref.version === undefined ? '' : ` version ${ref.version}`}`;
      throw new InferenceError(entry === undefined ? 'NOT_FOUND' : 'UNAVAILABLE', `worker serves no ${what} (model names are "<graph>.<node>", or "<graph>@<version>.<node>" for a version other than 1)`);
    }
    const runtime = entry.graph.runtimes.get(node);
    if (runtime === undefined) throw new InferenceError('NOT_FOUND', `graph "${graph}" has no node "${node}" on this worker`);
    return {
      graph,
      graphId: NodeKey.graphId(graph, entry.version),
      node,
      type: entry.graph.spec.spec.nodes.find((n) => n.name === node)?.type ?? 'unknown',
      signature: entry.graph.nodeSignatures.get(node),
      call: (fn) => fn(runtime),
    };
  }
}
