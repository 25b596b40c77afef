import { status, type ServiceError } from '@grpc/grpc-js';
import { InferenceError, decodeNodeOutputs, encodeNodeCall, type TensorMap } from '@infergraph/protocol';
import type { NodeInvocation, NodeTransport } from '@infergraph/executor';
import { NodeKey } from '@infergraph/spec';
import { NodeStreamClient, type NodeStreamOptions } from './node-stream.client';

interface Replica {
  readonly client: NodeStreamClient;
  outstanding: number;
}

/** Which worker addresses hold a ready replica of a node. */
export type ReplicaResolver = (graph: string, node: string) => readonly string[];

const RETRYABLE = new Set<number>([status.UNAVAILABLE, status.CANCELLED, status.UNKNOWN, status.RESOURCE_EXHAUSTED]);

/**
 * Calls graph nodes on worker replicas over V2 gRPC, as messages on long-lived ModelStreamInfer streams
 * (`NodeStreamClient`, one per worker): least outstanding requests first, one retry on another replica
 * when the call failed for a transport reason (never for an error the node answered), the request
 * deadline as the call's deadline.
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

  unavailable(graph: string, node: string): string | undefined {
    return this.resolve(graph, node).length > 0 ? undefined : `node "${node}" has no READY replica in the routing table`;
  }

  async invoke(call: NodeInvocation): Promise<TensorMap> {
    const replicas = this.resolve(call.graph, call.node).map((a) => this.replicaAt(a));
    if (replicas.length === 0) {
      throw new InferenceError('UNAVAILABLE', `node "${call.node}" of graph "${call.graph}" has no ready replica`);
    }
    this.calls++;
    const tried = new Set<Replica>();
    let lastError: unknown;
    const attempts = call.idempotent === false ? 1 : Math.min(2, replicas.length);
    for (let attempt = 0; attempt < attempts; attempt++) {
      const replica = pick(replicas, tried);
      tried.add(replica);
      replica.outstanding++;
      try {
        return await this.callReplica(replica, call);
      } catch (err) {
        lastError = err;
        const code = (err as ServiceError).code;
        // A call cut short because the request ended is not retried: nobody waits for its answer.
        if (code === undefined || !RETRYABLE.has(code) || call.ctx.end.aborted) throw toInferenceError(err, call, replica);
      } finally {
        replica.outstanding--;
      }
    }
    throw new InferenceError('UNAVAILABLE', `node "${call.node}": no worker replica answered (${describe(lastError)})`);
  }

  /** Node calls made, and those waiting for a replica's answer now. */
  stats(): { calls: number; pending: number } {
    let pending = 0;
    for (const r of this.stubs.values()) pending += r.outstanding;
    return { calls: this.calls, pending };
  }

  close(): void {
    for (const r of this.stubs.values()) r.client.close();
    this.stubs.clear();
  }

  private replicaAt(address: string): Replica {
    let replica = this.stubs.get(address);
    if (replica === undefined) {
      replica = { client: new NodeStreamClient(address, this.streamOptions), outstanding: 0 };
      this.stubs.set(address, replica);
    }
    return replica;
  }

  private async callReplica(replica: Replica, call: NodeInvocation): Promise<TensorMap> {
    const message = encodeNodeCall(NodeKey.format(call.graph, call.node), call.ctx.requestId, call.ctx.parameters, call.inputs.values());
    const response = await replica.client.call(message, call.ctx.headers, call.ctx.deadline, call.ctx.end);
    return decodeNodeOutputs(response, `worker ${replica.client.address}`, true);
  }
}

/** Least outstanding requests first (ties: list order), skipping replicas already tried. */
function pick(replicas: readonly Replica[], exclude: ReadonlySet<Replica>): Replica {
  let best: Replica | undefined;
  for (const r of replicas) if (!exclude.has(r) && (best === undefined || r.outstanding < best.outstanding)) best = r;
  return best as Replica;
}

const CODE_OF: Readonly<Record<number, InferenceError['code']>> = {
  [status.INVALID_ARGUMENT]: 'INVALID_ARGUMENT',
  [status.NOT_FOUND]: 'NOT_FOUND',
  [status.FAILED_PRECONDITION]: 'UNPROCESSABLE',
  [status.DEADLINE_EXCEEDED]: 'DEADLINE_EXCEEDED',
  [status.UNAVAILABLE]: 'UNAVAILABLE',
  [status.RESOURCE_EXHAUSTED]: 'PAYLOAD_TOO_LARGE',
};

function toInferenceError(err: unknown, call: NodeInvocation, replica: Replica): InferenceError {
  if (err instanceof InferenceError) return err;
  const e = err as ServiceError;
  const code = CODE_OF[e.code] ?? 'INTERNAL';
  // The worker already names the node; keep its message, add where it ran for server faults.
  const message = code === 'INTERNAL' ? `${e.details} (worker ${replica.client.address})` : e.details;
  return new InferenceError(code, message || `node "${call.node}" failed on worker ${replica.client.address}`, { cause: err });
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
