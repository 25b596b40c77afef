import { InferenceError, type InferRequest, type InferResponse, type Tensor, type TensorSpec } from '@infergraph/protocol';
import { RequestLifetime, type NodeRuntime } from '@infergraph/executor';
import { NodeKey, type NodeRef } from '@infergraph/spec';
import type { GraphRegistry } from './graph.registry';
import type { ModelMetadata } from './graph-inference.service';
import type { NodeRuntimeRegistry } from './node-runtime.registry';
import { runRequest } from './request.runner';
import { SERVER_VERSION, type ServerMetadata } from './server.metadata';

/** How long a node call may run when its caller sent no deadline (a plain V2 client). */
const NODE_TIMEOUT_MS = 30_000;

/** What serves one node model now. */
interface NodeTarget {
  readonly graph: string;
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
  private serving = false;

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

  /** One node call; `lifetime`, when given, is the caller's (ended when it cancels the call). */
  async infer(model: string, request: InferRequest, headers: Readonly<Record<string, string>>, deadline?: number, lifetime = new RequestLifetime()): Promise<InferResponse> {
    const { graph, node, type, call } = this.targetOf(model);
    const events = this.registry.events;
    const tracer = this.registry.tracer;
    return await runRequest<InferResponse>({
      context: {
        requestId: request.id,
        graph,
        headers,
        parameters: request.parameters,
        timeoutMs: deadline === undefined ? NODE_TIMEOUT_MS : Math.max(1, Math.min(NODE_TIMEOUT_MS, deadline - Date.now())),
        signal: lifetime,
      },
      started: () => {
        const now = (this.inFlight.get(model) ?? 0) + 1;
        this.inFlight.set(model, now);
        this.peak.set(model, Math.max(this.peak.get(model) ?? 0, now));
      },
      trace: tracer === undefined ? undefined : (ctx, run) => tracer.node({ graph, node, type, served: true }, ctx, run),
      work: async (ctx) => {
        const inputs = new Map(request.inputs.map((t): [string, Tensor] => [t.name, t]));
        const outputs = await call((runtime) => runtime.infer(inputs, ctx));
        return { modelName: model, modelVersion: '1', id: ctx.requestId, parameters: undefined, outputs: [...outputs.values()] };
      },
      ended: (ctx, failure, seconds) => {
        this.inFlight.set(model, (this.inFlight.get(model) ?? 1) - 1);
        events.emit('node', { graph, node, requestId: ctx.requestId, type, status: failure === undefined ? 'ok' : 'error', seconds });
      },
    });
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
      return ref === undefined ? [] : [[ref, n]];
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
        node: serving.loaded.node,
        type: serving.loaded.type,
        signature: serving.loaded.signature,
        call: (fn) => nodes.call(model, (loaded) => fn(loaded.runtime)) ?? Promise.reject(new InferenceError('UNAVAILABLE', `node "${model}" stopped serving`)),
      };
    }
    const ref = NodeKey.parse(model);
    if (ref === undefined) throw new InferenceError('NOT_FOUND', `worker serves no model "${model}" (model names are "<graph>.<node>")`);
    const { graph, node } = ref;
    const entry = this.registry.get(graph);
    if (entry?.graph === undefined) {
      throw new InferenceError(entry === undefined ? 'NOT_FOUND' : 'UNAVAILABLE', `worker serves no graph "${graph}" (model names are "<graph>.<node>")`);
    }
    const runtime = entry.graph.runtimes.get(node);
    if (runtime === undefined) throw new InferenceError('NOT_FOUND', `graph "${graph}" has no node "${node}" on this worker`);
    return {
      graph,
      node,
      type: entry.graph.spec.spec.nodes.find((n) => n.name === node)?.type ?? 'unknown',
      signature: entry.graph.nodeSignatures.get(node),
      call: (fn) => fn(runtime),
    };
  }
}
