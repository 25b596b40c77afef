import type { Tensor, TensorMap } from '@infergraph/protocol';
import type { NodeTiming } from './graph.executor';
import type { RequestContext } from './request-context';

/** One call of one graph node, as the executor hands it to a transport. */
export interface NodeInvocation {
  readonly graph: string;
  readonly node: string;
  readonly inputs: TensorMap;
  readonly ctx: RequestContext;
  /** False when the node must not run twice for one request (no retry on another replica). */
  readonly idempotent?: boolean;
}

/** A whole chain graph as one call to one replica that holds its nodes (see `NodeTransport.wholeGraph`). */
export interface GraphInvocation {
  readonly graph: string;
  readonly inputs: readonly Tensor[];
  readonly ctx: RequestContext;
  /** False when some node must not run twice for one request (no retry on another replica). */
  readonly idempotent?: boolean;
}

/** What the replica that ran a whole graph answers: the graph's outputs, each node's timing and the routes taken. */
export interface GraphAnswer {
  readonly outputs: readonly Tensor[];
  readonly timings: readonly NodeTiming[];
  readonly routes: Readonly<Record<string, string>>;
}

/**
 * Where node computation happens. The executor holds exactly one and never knows which: in-process
 * runtimes today; gRPC calls to worker replicas and Kafka topics plug in behind the same method.
 */
export interface NodeTransport {
  invoke(call: NodeInvocation): Promise<TensorMap>;
  /** Where a call of this node waits, for deadline messages (e.g. the topic an answer is due on). */
  describeWait?(graph: string, node: string): string | undefined;
  /**
   * Why a call of this node cannot be served right now (e.g. no READY replica in the routing table), or
   * undefined when it can; readiness endpoints report it. Transports that are always able to try omit it.
   */
  unavailable?(graph: string, node: string): string | undefined;
  /**
   * How to run a whole chain graph in one call on a replica that holds all of `nodes` (for wires whose cost
   * is per message), or undefined when no replica can now. The call resolves undefined when the replica
   * declined without running anything. Either way the executor then runs the graph node by node.
   */
  wholeGraph?(graph: string, nodes: readonly string[]): WholeGraphCall | undefined;
}

/** One whole-graph call (see NodeTransport.wholeGraph). */
export type WholeGraphCall = (call: GraphInvocation) => Promise<GraphAnswer | undefined>;

/** The computation of one node in this process (a model session, a transformer...). */
export interface NodeRuntime {
  infer(inputs: TensorMap, ctx: RequestContext): Promise<TensorMap>;
}

/** Runs every node in this process. */
export class InProcessTransport implements NodeTransport {
  constructor(private readonly runtimes: ReadonlyMap<string, NodeRuntime>) {}

  invoke(call: NodeInvocation): Promise<TensorMap> {
    const runtime = this.runtimes.get(call.node);
    if (runtime === undefined) {
      return Promise.reject(new Error(`no runtime for node "${call.node}" of graph "${call.graph}"`));
    }
    return runtime.infer(call.inputs, call.ctx);
  }
}
