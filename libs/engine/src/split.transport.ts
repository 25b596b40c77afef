import type { NodeInvocation, NodeTransport } from '@infergraph/executor';
import type { GraphSpec, NodeType } from '@infergraph/spec';

/** Node types that run on workers in distributed mode; drift stays beside its window in the gateway. */
export const REMOTE_NODE_TYPES: readonly NodeType[] = ['model', 'transformer', 'outlier'];

/** Sends remote node types to one transport and the rest to another. */
export class SplitTransport implements NodeTransport {
  private readonly remoteNodes: ReadonlySet<string>;

  constructor(
    graph: GraphSpec,
    private readonly remote: NodeTransport,
    private readonly local: NodeTransport,
  ) {
    this.remoteNodes = new Set(graph.spec.nodes.filter((n) => REMOTE_NODE_TYPES.includes(n.type)).map((n) => n.name));
  }

  invoke(call: NodeInvocation): ReturnType<NodeTransport['invoke']> {
    return (this.remoteNodes.has(call.node) ? this.remote : this.local).invoke(call);
  }
}
