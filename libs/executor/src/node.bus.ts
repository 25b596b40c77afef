import type { GraphSpec } from '@infergraph/spec';
import type { NodeTransport } from './node-transport';

/** Which wire a node bus carries node calls over. */
export type NodeBusKind = 'inprocess' | 'grpc' | 'kafka';

/** What every node bus can say about itself; a bus may offer more through its own methods. */
export interface NodeBusStats {
  readonly kind: NodeBusKind;
  /** Node calls sent since the bus was created. */
  readonly calls: number;
  /** Node calls waiting for their answer now. */
  readonly pending: number;
}

/**
 * Where a process sends the node calls of the graphs it serves: one per process, chosen from its
 * configuration (the gateway's `createNodeBus`). It scopes itself to each graph as the graph loads
 * (`forGraph`: the graph's `NodeTransport`, the one its executor holds), counts what it carries, and
 * ends with the process (`close`: pending calls fail, connections and consumers stop). Graphs are named
 * on every bus by the same identity, `NodeKey` ("<graph>.<node>").
 */
export interface NodeBus {
  readonly kind: NodeBusKind;
  /**
   * The transport of one graph's executor. `local` runs the graph's nodes in this process; a remote bus
   * sends the nodes that run on workers over its wire and leaves the rest (drift, the "gateway" pool) to
   * `local`. Throws when the graph cannot use this bus (e.g. a Kafka graph without brokers).
   */
  forGraph(graph: GraphSpec, local: NodeTransport): NodeTransport;
  /**
   * Whether this graph's batched model nodes on workers should gather their batches in this process and
   * send each batch as one call (a wire whose cost is per message). Absent: false.
   */
  stacksBatches?(graph: GraphSpec): boolean;
  /** Whether this graph's worker nodes leave this process on this bus. Absent: unless the bus is in-process. */
  sendsAway?(graph: GraphSpec): boolean;
  stats(): NodeBusStats;
  close(): Promise<void>;
}

/** Every node runs in this process: each graph's transport is its own in-process one. */
export class InProcessNodeBus implements NodeBus {
  readonly kind = 'inprocess';

  forGraph(_graph: GraphSpec, local: NodeTransport): NodeTransport {
    return local;
  }

  stats(): NodeBusStats {
    return { kind: this.kind, calls: 0, pending: 0 };
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** Whether `bus` runs `graph`'s worker nodes in another process (then this one only types them). */
export function sendsNodesAway(bus: NodeBus, graph: GraphSpec): boolean {
  return bus.sendsAway?.(graph) ?? bus.kind !== 'inprocess';
}
