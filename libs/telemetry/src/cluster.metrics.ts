import { NodeKey, type NodeRef } from '@infergraph/spec';
import { ProcessMetrics } from './process.metrics';

/** What the controller knows, read at scrape time. */
export interface ClusterView {
  readonly workers: readonly {
    readonly id: string;
    readonly pool: string;
    readonly cpu: number;
    readonly memoryBytes: number;
    readonly gpus: number;
    readonly gpuMemoryBytes: number;
    /** Replicas placed on the worker. */
    readonly replicas: number;
  }[];
  /** Per node key ("<graph>.<node>"): replicas wanted and placed replicas by state. */
  readonly nodes: readonly { readonly key: string; readonly wanted: number; readonly states: Readonly<Record<string, number>> }[];
  /** Replicas the planner could not place. */
  readonly pending: number;
  readonly routingVersion: number;
}

/** The controller's metrics: worker capacity, placed replicas and what is still pending. */
export class ClusterMetrics extends ProcessMetrics {
  constructor(read: () => ClusterView) {
    super('controller');
    this.gaugesFrom('infergraph_worker_capacity', 'Declared capacity of each live worker (cpu in cores, memory in bytes, gpu count, gpu memory in bytes).', ['worker', 'pool', 'resource'], () =>
      read().workers.flatMap((w) => [
        [{ worker: w.id, pool: w.pool, resource: 'cpu' }, w.cpu] as const,
        [{ worker: w.id, pool: w.pool, resource: 'memory_bytes' }, w.memoryBytes] as const,
        [{ worker: w.id, pool: w.pool, resource: 'gpu' }, w.gpus] as const,
        [{ worker: w.id, pool: w.pool, resource: 'gpu_memory_bytes' }, w.gpuMemoryBytes] as const,
      ]),
    );
    this.gaugesFrom('infergraph_worker_replicas', 'Node replicas placed on each live worker.', ['worker', 'pool'], () => read().workers.map((w) => [{ worker: w.id, pool: w.pool }, w.replicas] as const));
    this.gaugesFrom('infergraph_node_replicas', 'Placed replicas of each node by state (LOADING, READY, FAILED).', ['graph', 'node', 'state'], () =>
      read().nodes.flatMap((n) => Object.entries(n.states).map(([state, count]) => [{ ...splitKey(n.key), state }, count] as const)),
    );
    this.gaugesFrom('infergraph_node_replicas_wanted', 'Replicas wanted per node (declared or set by the autoscaler).', ['graph', 'node'], () => read().nodes.map((n) => [splitKey(n.key), n.wanted] as const));
    this.gaugeFrom('infergraph_replicas_unplaced', 'Replicas no worker has room for.', () => read().pending);
    this.gaugeFrom('infergraph_workers', 'Live workers.', () => read().workers.length);
    this.gaugeFrom('infergraph_routing_table_version', 'Version of the routing table gateways follow.', () => read().routingVersion);
  }
}

/** A node key's metric labels; a malformed key keeps its text as the graph label rather than vanish. */
function splitKey(key: string): NodeRef {
  const ref = NodeKey.parse(key);
  // The version stays in the graph label ("<graph>@<version>"): a label set has fixed names.
  return ref === undefined ? { graph: key, node: '' } : { graph: NodeKey.graphId(ref.graph, ref.version), node: ref.node };
}
