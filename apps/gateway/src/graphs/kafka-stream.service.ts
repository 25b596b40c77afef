import { Inject, Injectable, Logger, type BeforeApplicationShutdown, type OnApplicationShutdown } from '@nestjs/common';
import { GraphInferenceService, GraphRegistry } from '@infergraph/engine';
import { kafkaSettingsOf, remoteNodesOf, type GraphSpec } from '@infergraph/spec';
import { KafkaClient, KafkaGraphStream, ThreadedGraphStream, type GraphInfer, type GraphStream, type NodeTransportStats, type PipelineStats } from '@infergraph/transport-kafka';
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
  private stream: GraphStream | undefined;
  /** Whether the stream's Kafka client runs on a thread of its own (undefined: no stream). */
  private streamThread: boolean | undefined;

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
    const streamed = names.flatMap((name) => {
      const e = this.registry.get(name);
      if (e?.graph === undefined) return [];
      const k = kafkaSettingsOf(e.graph.spec, this.config.kafka.topicPrefix);
      return k.streaming ? [{ graph: { name: e.name, prefix: k.prefix, partitions: k.partitions }, spec: e.graph.spec }] : [];
    });
    if (streamed.length === 0) return;
    // A record cannot claim an authenticated subject: the gateway's auth headers are stripped from it.
    const infer: GraphInfer = (graph, request, requestId, headers) => this.inference.infer({ graph, version: undefined, request, requestId, headers: withPrincipal(headers, undefined) });
    const options = { groupId: this.config.kafka.groupId, maxInFlight: this.config.kafka.maxInFlight, sessionTimeoutMs: this.config.kafka.sessionTimeoutMs };
    this.streamThread = this.streamsOnThread(streamed.map((g) => g.spec));
    this.logger.log(`graph streams: Kafka client ${this.streamThread ? 'on a thread of its own' : 'on the event loop'} (KAFKA_STREAM_THREAD=${String(this.config.kafka.streamThread)})`);
    this.stream = this.streamThread
      ? new ThreadedGraphStream({ brokers: this.config.kafka.brokers, clientId: `infergraph-gateway-${process.pid}-stream`, lingerMs: this.config.kafka.lingerMs }, options, infer, this.logger)
      : new KafkaGraphStream(this.client, options, infer, this.logger);
    await this.stream.start(streamed.map((g) => g.graph));
  }

  /**
   * KAFKA_STREAM_THREAD=auto: a thread, unless a streamed graph calls its nodes over Kafka. Such a gateway runs
   * two Kafka clients per request (the stream's and the node calls'); on one loop they measured 10-20 % more
   * requests per second than split across threads, where graphs run in-process gained 10-35 % (docs/decisions.md).
   */
  private streamsOnThread(specs: readonly GraphSpec[]): boolean {
    const setting = this.config.kafka.streamThread;
    if (setting !== 'auto') return setting;
    return !specs.some((g) => (g.spec.transport === 'kafka' || this.config.nodeTransport === 'kafka') && remoteNodesOf(g).length > 0);
  }

  status(): { brokers: readonly string[]; streamThread: boolean | null; streamThreadRestarts: number; stream: PipelineStats | null; nodeCalls: NodeTransportStats | null } {
    return {
      brokers: this.config.kafka.brokers,
      streamThread: this.streamThread ?? null,
      streamThreadRestarts: this.stream?.restarts() ?? 0,
      stream: this.stream?.stats() ?? null,
      nodeCalls: this.buses.kafka?.topicStats() ?? null,
    };
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.stream?.stop();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.buses.graphs.close();
    await this.client?.close();
  }
}
