import { SplitTransport, type NodeBus, type NodeBusStats, type NodeTransport } from '@infergraph/executor';
import { kafkaSettingsOf, remoteNodesOf, type GraphSpec } from '@infergraph/spec';
import type { KafkaNodeTransport, NodeTransportStats } from './kafka-node.transport';

/**
 * Node calls over Kafka topics: each graph is registered with the one `KafkaNodeTransport` as it loads
 * (its node topics created, their outputs subscribed), and its worker nodes go there.
 */
export class KafkaNodeBus implements NodeBus {
  readonly kind = 'kafka';

  constructor(
    private readonly transport: KafkaNodeTransport,
    /** KAFKA_TOPIC_PREFIX: wins over each graph's spec.kafka.prefix. */
    private readonly topicPrefix: string | undefined,
    private readonly logger: { error(message: string): void },
  ) {}

  forGraph(graph: GraphSpec, local: NodeTransport): NodeTransport {
    const { prefix, partitions } = kafkaSettingsOf(graph, this.topicPrefix);
    this.transport
      .register({ name: graph.metadata.name, version: graph.spec.version, prefix, partitions, nodes: remoteNodesOf(graph) })
      .catch((err: unknown) => this.logger.error(`graph "${graph.metadata.name}": Kafka node topics: ${err instanceof Error ? err.message : String(err)}`));
    return new SplitTransport(graph, this.transport.forVersion(graph.spec.version), local);
  }

  stats(): NodeBusStats {
    const { calls, pending } = this.transport.stats();
    return { kind: this.kind, calls, pending };
  }

  /** The Kafka side in full: late or duplicate answers and the outputs topics subscribed too. */
  topicStats(): NodeTransportStats {
    return this.transport.stats();
  }

  close(): Promise<void> {
    return this.transport.close();
  }
}
