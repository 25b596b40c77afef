import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { GraphInferenceService, GraphRegistry } from '@infergraph/engine';
import { KafkaGraphStream } from '@infergraph/transport-kafka';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config/gateway.config';

/** Streams the graphs that declare spec.kafka through their Kafka topics (when KAFKA_BROKERS is set). */
@Injectable()
export class KafkaStreamService implements OnApplicationShutdown {
  private readonly logger = new Logger('kafka');
  private stream: KafkaGraphStream | undefined;

  constructor(
    private readonly registry: GraphRegistry,
    private readonly inference: GraphInferenceService,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
  ) {}

  async start(): Promise<void> {
    const { brokers, topicPrefix, groupId } = this.config.kafka;
    if (brokers.length === 0) return;
    const graphs = this.registry.list().flatMap((e) => {
      const kafka = e.graph?.spec.spec.kafka;
      return kafka?.enabled === true ? [{ name: e.name, prefix: topicPrefix ?? kafka.prefix, partitions: kafka.partitions }] : [];
    });
    if (graphs.length === 0) return;
    this.stream = new KafkaGraphStream(brokers, groupId, (graph, request, requestId, headers) => this.inference.infer({ graph, version: undefined, request, requestId, headers }), this.logger);
    await this.stream.start(graphs);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.stream?.stop();
  }
}
