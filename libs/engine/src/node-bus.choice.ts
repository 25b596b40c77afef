import { sendsNodesAway, type NodeBus, type NodeBusStats, type NodeTransport } from '@infergraph/executor';
import type { GraphSpec } from '@infergraph/spec';

/** The configuration a process's node bus is chosen from. */
export interface NodeBusSettings {
  /** NODE_TRANSPORT: where nodes that run on workers go for every graph. */
  readonly nodeTransport: 'inprocess' | 'grpc' | 'kafka';
  /** WORKERS: a static list of workers that each hold every node. */
  readonly workers: readonly string[];
  /** CONTROLLER: whose routing table names the workers with a ready replica of each node. */
  readonly controller: string | undefined;
  /** KAFKA_BROKERS: with any, graphs that ask for `spec.transport: kafka` can have it. */
  readonly kafkaBrokers: readonly string[];
}

/** One bus, as configuration names it. */
export type NodeBusChoice =
  | { readonly kind: 'inprocess' }
  | { readonly kind: 'grpc'; readonly workers: readonly string[] }
  | { readonly kind: 'grpc'; readonly controller: string }
  | { readonly kind: 'kafka' };

/** The buses of a process: the one its graphs use, and whether a Kafka bus is there for graphs that ask for it. */
export interface NodeBusPlan {
  readonly graphs: NodeBusChoice;
  readonly kafka: boolean;
}

/** Which node bus configuration asks for. A controller's routing table wins over a static worker list. */
export function chooseNodeBus(settings: NodeBusSettings): NodeBusPlan {
  const kafka = settings.kafkaBrokers.length > 0;
  switch (settings.nodeTransport) {
    case 'inprocess':
      return { graphs: { kind: 'inprocess' }, kafka };
    case 'kafka':
      return { graphs: { kind: 'kafka' }, kafka };
    case 'grpc':
      return { graphs: settings.controller === undefined ? { kind: 'grpc', workers: settings.workers } : { kind: 'grpc', controller: settings.controller }, kafka };
  }
}

/**
 * The bus of a process that serves whole graphs: each graph on the configured bus, except that a graph
 * with `spec.transport: kafka` goes through Kafka whatever the configuration says.
 */
export class GraphNodeBus implements NodeBus {
  constructor(
    private readonly byDefault: NodeBus,
    private readonly kafka: NodeBus | undefined,
  ) {}

  get kind(): NodeBus['kind'] {
    return this.byDefault.kind;
  }

  forGraph(graph: GraphSpec, local: NodeTransport): NodeTransport {
    return this.busOf(graph).forGraph(graph, local);
  }

  private busOf(graph: GraphSpec): NodeBus {
    if (graph.spec.transport !== 'kafka' || this.byDefault.kind === 'kafka') return this.byDefault;
    if (this.kafka === undefined) throw new Error('spec.transport: kafka: this gateway has no KAFKA_BROKERS; set it to the brokers the node workers consume from');
    return this.kafka;
  }

  stacksBatches(graph: GraphSpec): boolean {
    return this.busOf(graph).stacksBatches?.(graph) === true;
  }

  sendsAway(graph: GraphSpec): boolean {
    try {
      return sendsNodesAway(this.busOf(graph), graph);
    } catch {
      return false; // no bus for it: forGraph says why when the graph is served
    }
  }

  /** The configured bus's counts, with the Kafka bus's added when it is another one. */
  stats(): NodeBusStats {
    const own = this.byDefault.stats();
    if (this.kafka === undefined || this.kafka === this.byDefault) return own;
    const kafka = this.kafka.stats();
    return { kind: own.kind, calls: own.calls + kafka.calls, pending: own.pending + kafka.pending };
  }

  async close(): Promise<void> {
    await this.byDefault.close();
    if (this.kafka !== undefined && this.kafka !== this.byDefault) await this.kafka.close();
  }
}
