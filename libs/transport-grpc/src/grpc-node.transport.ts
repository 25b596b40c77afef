import { status, type ServiceError } from '@grpc/grpc-js';
import { InferenceError, decodeNodeOutputs, encodeNodeCall, parametersOf, type TensorMap } from '@infergraph/protocol';
import { decodeGraphAnswer, isWholeGraphDeclined, type GraphAnswer, type NodeInvocation, type NodeTransport, type RequestContext, type WholeGraphCall } from '@infergraph/executor';
import { NodeKey } from '@infergraph/spec';
import { NodeStreamClient, type NodeStreamOptions } from './node-stream.client';

interface Replica {
  readonly client: NodeStreamClient;
  outstanding: number;
  /** No longer routed: closed once its last call in flight ends, unless it is routed again first. */
  retiring: boolean;
}

/** A worker to call and how many routing entries (replicas of the node) it has: its share of the calls. */
interface Candidate {
  readonly replica: Replica;
  readonly entries: number;
}

/** Which worker addresses hold a ready replica of a node, by its key (`NodeKey`, with the graph's version). */
export type ReplicaResolver = (key: string) => readonly string[];

const RETRYABLE = new Set<number>([status.UNAVAILABLE, status.CANCELLED, status.UNKNOWN, status.RESOURCE_EXHAUSTED]);

/**
 * Calls graph nodes on worker replicas over V2 gRPC, as messages on long-lived ModelStreamInfer streams
 * (`NodeStreamClient`, one per worker): least outstanding requests first, one retry on another replica
 * when the call failed for a transport reason (never for an error the node answered), the request
 * deadline as the call's deadline. A worker whose connection was lost (a frozen process found by pings,
 * a reset) gets no calls while another replica's worker is connected. Each graph version calls through its own view (`forVersion`), which
 * names its nodes with the version, so versions side by side reach their own replicas.
 */
export class GrpcNodeTransport implements NodeTransport {
  private readonly stubs = new Map<string, Replica>();
  private readonly resolve: ReplicaResolver;
  private calls = 0;

  /** A fixed list of workers that all hold every node, or a resolver fed by the controller's routes. */
  constructor(
    workers: readonly string[] | ReplicaResolver,
    private readonly streamOptions: NodeStreamOptions = {},
  ) {
    if (typeof workers === 'function') this.resolve = workers;
    else {
      if (workers.length === 0) throw new Error('GrpcNodeTransport needs at least one worker address');
      this.resolve = () => workers;
    }
  }

  /** The transport of one version of a graph (`spec.version`): its calls name `NodeKey.format(graph, node, version)`. */
  forVersion(version: string | undefined): NodeTransport {
    return {
      invoke: (call) => this.invokeAs(NodeKey.format(call.graph, call.node, version), call),
      unavailable: (graph, node) => this.unavailableAs(NodeKey.format(graph, node, version), node),
      wholeGraph: (graph, nodes) => this.wholeGraphAs(graph, version, nodes),
    };
  }

  unavailable(graph: string, node: string): string | undefined {
    return this.unavailableAs(NodeKey.format(graph, node), node);
  }

  invoke(call: NodeInvocation): Promise<TensorMap> {
    return this.invokeAs(NodeKey.format(call.graph, call.node), call);
  }

  wholeGraph(graph: string, nodes: readonly string[]): WholeGraphCall | undefined {
    return this.wholeGraphAs(graph, undefined, nodes);
  }

  private unavailableAs(key: string, node: string): string | undefined {
    return this.resolve(key).length > 0 ? undefined : `node "${node}" has no READY replica in the routing table${versioned(key)}`;
  }

  private invokeAs(key: string, call: NodeInvocation): Promise<TensorMap> {
    const replicas = this.candidates(this.resolve(key));
    if (replicas.length === 0) {
      return Promise.reject(new InferenceError('UNAVAILABLE', `node "${call.node}" of graph "${call.graph}" has no ready replica${versioned(key)}`));
    }
    return this.attempt(replicas, call.ctx, call.idempotent, `node "${call.node}"`, async (replica) => {
      const message = encodeNodeCall(key, call.ctx.requestId, call.ctx.parameters, call.inputs.values());
      const response = await replica.client.call(message, call.ctx.headers, call.ctx.expiresAt, call.ctx.end);
      return decodeNodeOutputs(response, `worker ${replica.client.address}`, true);
    });
  }

  /**
   * The whole graph as one call (`"<graph>.*"`, with the version) to a worker that holds every one of
   * `nodes`; undefined when no worker holds them all. A worker that declines (it no longer holds one of
   * them) resolves undefined.
   */
  private wholeGraphAs(graph: string, version: string | undefined, nodes: readonly string[]): WholeGraphCall | undefined {
    const holders = this.commonReplicas(nodes.map((node) => NodeKey.format(graph, node, version)));
    if (holders.length === 0) return undefined;
    const key = NodeKey.format(graph, NodeKey.WHOLE_GRAPH, version);
    return (call) => {
      const ran = this.attempt(this.candidates(holders), call.ctx, call.idempotent, `graph "${graph}"`, async (replica): Promise<GraphAnswer> => {
        const where = `worker ${replica.client.address}`;
        const message = encodeNodeCall(key, call.ctx.requestId, call.ctx.parameters, call.inputs);
        const response = await replica.client.call(message, call.ctx.headers, call.ctx.expiresAt, call.ctx.end);
        const outputs = decodeNodeOutputs(response, where, true);
        return { outputs: [...outputs.values()], ...decodeGraphAnswer(parametersOf(response.parameters), where) };
      });
      return ran.catch((err: unknown) => (isWholeGraphDeclined(err) ? undefined : Promise.reject(err instanceof Error ? err : new Error(String(err)))));
    };
  }

  /** Addresses that hold a ready replica of every one of `keys`, in the first key's order. */
  private commonReplicas(keys: readonly string[]): readonly string[] {
    let common: readonly string[] | undefined;
    for (const key of keys) {
      const here = this.resolve(key);
      common = common === undefined ? here : common.filter((a) => here.includes(a));
      if (common.length === 0) return common;
    }
    return common ?? [];
  }

  /**
   * One call on the least busy replica, and once more on another when it failed for a transport reason
   * (never for an error the node answered, nor when the request has ended or the call must not run twice).
   */
  private async attempt<T>(replicas: readonly Candidate[], ctx: RequestContext, idempotent: boolean | undefined, what: string, send: (replica: Replica) => Promise<T>): Promise<T> {
    this.calls++;
    const tried = new Set<Replica>();
    let lastError: unknown;
    // Another replica means another worker: a second replica on the same worker shares the first one's fate.
    const attempts = idempotent === false ? 1 : Math.min(2, replicas.length);
    for (let attempt = 0; attempt < attempts; attempt++) {
      const replica = pick(replicas, tried);
      tried.add(replica);
      replica.outstanding++;
      try {
        return await send(replica);
      } catch (err) {
        lastError = err;
        const code = (err as ServiceError).code;
        // A call cut short because the request ended is not retried: nobody waits for its answer.
        if (code === undefined || !RETRYABLE.has(code) || ctx.end.aborted) throw toInferenceError(err, what, replica);
      } finally {
        replica.outstanding--;
        if (replica.retiring && replica.outstanding === 0) this.release(replica);
      }
    }
    throw new InferenceError('UNAVAILABLE', `${what}: no worker replica answered (${describe(lastError)})`);
  }

  /** Node calls made, and those waiting for a replica's answer now. */
  stats(): { calls: number; pending: number } {
    let pending = 0;
    for (const r of this.stubs.values()) pending += r.outstanding;
    return { calls: this.calls, pending };
  }

  /**
   * Lets go of the clients of workers not in `routed` (the routing table's addresses): at once when no call
   * is in flight on them, else when the last one ends, so a draining worker's calls finish. A worker routed
   * again before that keeps its client.
   */
  retain(routed: ReadonlySet<string>): void {
    for (const [address, replica] of this.stubs) {
      if (routed.has(address)) replica.retiring = false;
      else if (replica.outstanding === 0) this.release(replica);
      else replica.retiring = true;
    }
  }

  /** Worker clients held now (routed, or retiring with calls in flight). */
  get clients(): number {
    return this.stubs.size;
  }

  close(): void {
    for (const r of this.stubs.values()) r.client.close();
    this.stubs.clear();
  }

  private release(replica: Replica): void {
    if (this.stubs.get(replica.client.address) === replica) this.stubs.delete(replica.client.address);
    replica.client.close();
  }

  /**
   * One candidate per worker address, counting its routing entries: a worker holding two replicas of a node
   * is listed twice by the routing table and takes twice the share of its calls.
   */
  private candidates(addresses: readonly string[]): Candidate[] {
    const byAddress = new Map<string, Candidate>();
    for (const a of addresses) {
      const seen = byAddress.get(a);
      byAddress.set(a, { replica: seen?.replica ?? this.replicaAt(a), entries: (seen?.entries ?? 0) + 1 });
    }
    return [...byAddress.values()];
  }

  private replicaAt(address: string): Replica {
    let replica = this.stubs.get(address);
    if (replica === undefined) {
      replica = { client: new NodeStreamClient(address, this.streamOptions), outstanding: 0, retiring: false };
      this.stubs.set(address, replica);
    }
    return replica;
  }
}

/** Names the key in messages when it carries a version (`" (key "g@2.n")"`); version "1" reads as before. */
function versioned(key: string): string {
  return NodeKey.parse(key)?.version === undefined ? '' : ` (key "${key}")`;
}

/**
 * Least outstanding requests per routing entry first (ties: list order), skipping workers already tried, and
 * workers whose connection was lost (`NodeStreamClient.healthy`) while another one is left.
 */
function pick(candidates: readonly Candidate[], exclude: ReadonlySet<Replica>): Replica {
  let best: Candidate | undefined;
  let bestHealthy = false;
  for (const c of candidates) {
    if (exclude.has(c.replica)) continue;
    const healthy = c.replica.client.healthy;
    if (bestHealthy && !healthy) continue;
    // a/b < c/d without division: a*d < c*b.
    if (best === undefined || (healthy && !bestHealthy) || c.replica.outstanding * best.entries < best.replica.outstanding * c.entries) {
      best = c;
      bestHealthy = healthy;
    }
  }
  return (best as Candidate).replica;
}

const CODE_OF: Readonly<Record<number, InferenceError['code']>> = {
  [status.INVALID_ARGUMENT]: 'INVALID_ARGUMENT',
  [status.NOT_FOUND]: 'NOT_FOUND',
  [status.FAILED_PRECONDITION]: 'UNPROCESSABLE',
  [status.DEADLINE_EXCEEDED]: 'DEADLINE_EXCEEDED',
  [status.UNAVAILABLE]: 'UNAVAILABLE',
  [status.RESOURCE_EXHAUSTED]: 'PAYLOAD_TOO_LARGE',
};

function toInferenceError(err: unknown, what: string, replica: Replica): InferenceError {
  if (err instanceof InferenceError) return err;
  const e = err as ServiceError;
  const code = CODE_OF[e.code] ?? 'INTERNAL';
  // The worker already names the node; keep its message, add where it ran for server faults.
  const message = code === 'INTERNAL' ? `${e.details} (worker ${replica.client.address})` : e.details;
  return new InferenceError(code, message || `${what} failed on worker ${replica.client.address}`, { cause: err });
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
