import { GATEWAY_POOL, type GraphSpec, type NodeType } from './graph-spec.schema';

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
