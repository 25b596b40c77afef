import type { NodeInvocation, NodeTransport } from '@infergraph/executor';
import { GATEWAY_POOL, type GraphSpec, type NodeType } from '@infergraph/spec';

/** Node types that run on workers in distributed mode; drift stays beside its window in the gateway. */
export const REMOTE_NODE_TYPES: readonly NodeType[] = ['model', 'transformer', 'outlier'];

/**
 * Sends remote node types to one transport and the rest (drift, and nodes in the "gateway" pool) to
 * another; tells the remote side which nodes must not be retried.
 */
export class SplitTransport implements NodeTransport {
  private readonly remoteNodes: ReadonlySet<string>;
  private readonly notIdempotent: ReadonlySet<string>;

  constructor(
    graph: GraphSpec,
    private readonly remote: NodeTransport,
    private readonly local: NodeTransport,
  ) {
    this.remoteNodes = new Set(
      graph.spec.nodes.filter((n) => REMOTE_NODE_TYPES.includes(n.type) && n.resources?.pool !== GATEWAY_POOL).map((n) => n.name),
    );
    this.notIdempotent = new Set(graph.spec.nodes.filter((n) => !n.idempotent).map((n) => n.name));
  }

  invoke(call: NodeInvocation): ReturnType<NodeTransport['invoke']> {
    if (!this.remoteNodes.has(call.node)) return this.local.invoke(call);
    return this.remote.invoke(this.notIdempotent.has(call.node) ? { ...call, idempotent: false } : call);
  }
}
