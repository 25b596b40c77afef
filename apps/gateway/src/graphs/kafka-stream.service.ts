import { Inject, Injectable, Logger, type BeforeApplicationShutdown, type OnApplicationShutdown } from '@nestjs/common';
import { GraphInferenceService, GraphRegistry } from '@infergraph/engine';
import { kafkaSettingsOf } from '@infergraph/spec';
import { KafkaClient, KafkaGraphStream, type NodeTransportStats, type PipelineStats } from '@infergraph/transport-kafka';
import { withPrincipal } from '../auth/predict-authenticator';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config/gateway.config';
import type { GatewayNodeBuses } from './node-bus.factory';

export const KAFKA_CLIENT = Symbol('KAFKA_CLIENT');
/** The gateway's node buses (`createNodeBus`). */
export const NODE_BUSES = Symbol('NODE_BUSES');

/**
 * Kafka in the gateway: streams the graphs that declare spec.kafka through their topics, and owns the
 * client the Kafka node bus shares. Shutdown drains in order: the streams stop reading and finish what
 * they hold before the servers close; the node buses (pending node calls) and the producer end after them.
 */
@Injectable()
export class KafkaStreamService implements BeforeApplicationShutdown, OnApplicationShutdown {
  private readonly logger = new Logger('kafka');
  private stream: KafkaGraphStream | undefined;

  constructor(
    private readonly registry: GraphRegistry,
    private readonly inference: GraphInferenceService,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
    @Inject(KAFKA_CLIENT) private readonly client: KafkaClient | null,
    @Inject(NODE_BUSES) private readonly buses: GatewayNodeBuses,
  ) {}

  async start(): Promise<void> {
    if (this.client === null) return;
    // One stream per graph, set by its default version (the topics carry unversioned requests).
    const names = [...new Set(this.registry.list().map((e) => e.name))];
    const graphs = names.flatMap((name) => {
      const e = this.registry.get(name);
      if (e?.graph === undefined) return [];
      const k = kafkaSettingsOf(e.graph.spec, this.config.kafka.topicPrefix);
      return k.streaming ? [{ name: e.name, prefix: k.prefix, partitions: k.partitions }] : [];
    });
    if (graphs.length === 0) return;
    this.stream = new KafkaGraphStream(
      this.client,
      { groupId: this.config.kafka.groupId, maxInFlight: this.config.kafka.maxInFlight, sessionTimeoutMs: this.config.kafka.sessionTimeoutMs },
      // A record cannot claim an authenticated subject: the gateway's auth headers are stripped from it.
      (graph, request, requestId, headers) => this.inference.infer({ graph, version: undefined, request, requestId, headers: withPrincipal(headers, undefined) }),
      this.logger,
    );
    await this.stream.start(graphs);
  }

  status(): { brokers: readonly string[]; stream: PipelineStats | null; nodeCalls: NodeTransportStats | null } {
    return { brokers: this.config.kafka.brokers, stream: this.stream?.stats() ?? null, nodeCalls: this.buses.kafka?.topicStats() ?? null };
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.stream?.stop();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.buses.graphs.close();
    await this.client?.close();
  }
}
