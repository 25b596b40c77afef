import type { NodeInvocation, NodeTransport } from '@infergraph/executor';
import { GATEWAY_POOL, type GraphSpec, type NodeType } from '@infergraph/spec';

/** Node types that run on workers in distributed mode; drift stays beside its window in the gateway. */
export const REMOTE_NODE_TYPES: readonly NodeType[] = ['model', 'transformer', 'outlier'];

/** The nodes of a graph that run on workers (remote types outside the "gateway" pool). */
export function remoteNodesOf(graph: GraphSpec): string[] {
  return graph.spec.nodes.filter((n) => REMOTE_NODE_TYPES.includes(n.type) && n.resources?.pool !== GATEWAY_POOL).map((n) => n.name);
}

/** Where a graph's Kafka topics live: the prefix (an override wins), the partition count, and whether its request topics stream. */
export function kafkaSettingsOf(graph: GraphSpec, prefixOverride: string | undefined): { prefix: string; partitions: number; streaming: boolean } {
  const k = graph.spec.kafka;
  return { prefix: prefixOverride ?? k?.prefix ?? 'infergraph', partitions: k?.partitions ?? 3, streaming: k?.enabled === true };
}

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
