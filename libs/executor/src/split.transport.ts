import { remoteNodesOf, type GraphSpec } from '@infergraph/spec';
import type { NodeInvocation, NodeTransport } from './node-transport';

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
    this.remoteNodes = new Set(remoteNodesOf(graph));
    this.notIdempotent = new Set(graph.spec.nodes.filter((n) => !n.idempotent).map((n) => n.name));
  }

  describeWait(graph: string, node: string): string | undefined {
    return (this.remoteNodes.has(node) ? this.remote : this.local).describeWait?.(graph, node);
  }

  unavailable(graph: string, node: string): string | undefined {
    return (this.remoteNodes.has(node) ? this.remote : this.local).unavailable?.(graph, node);
  }

  invoke(call: NodeInvocation): ReturnType<NodeTransport['invoke']> {
    if (!this.remoteNodes.has(call.node)) return this.local.invoke(call);
    return this.remote.invoke(this.notIdempotent.has(call.node) ? { ...call, idempotent: false } : call);
  }
}
