import { Logger, Module, type DynamicModule } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { GraphInferenceService, GraphRegistry, PathPolicy, SplitTransport, kafkaSettingsOf, remoteNodesOf } from '@infergraph/engine';
import { KafkaClient, KafkaNodeTransport, lagSamples } from '@infergraph/transport-kafka';
import { GrpcNodeTransport, RoutingTableWatcher, type ControlClientSecurity } from '@infergraph/transport-grpc';
import type { NodeTransport } from '@infergraph/executor';
import type { GraphSpec } from '@infergraph/spec';
import { OnnxModelLoader } from '@infergraph/runtime-onnx';
import { GATEWAY_CONFIG, type GatewayConfig } from './config/gateway.config';
import { CatalogueFollowerService } from './graphs/catalogue-follower.service';
import { GraphLoadingService } from './graphs/graph-loading.service';
import { KAFKA_CLIENT, KafkaStreamService } from './graphs/kafka-stream.service';
import { KafkaController } from './http/kafka.controller';
import { MetricsController } from './http/metrics.controller';
import { EngineMetrics, OtelGraphTracer, logRequests, type StructuredLogger, type TracingSdk } from '@infergraph/telemetry';
import { V2GrpcController } from './grpc/v2-grpc.controller';
import { GraphsController } from './http/graphs.controller';
import { HealthController } from './http/health.controller';
import { OipErrorFilter } from './http/oip-error.filter';
import { V2InferenceController } from './http/v2-inference.controller';
import { InferRoute } from './http/infer.route';
import { InFlightLimiter } from './in-flight.limiter';
import { PredictAuthenticator } from './auth/predict-authenticator';
import { RawHttpRoutes } from './http/raw-routes';

@Module({})
export class AppModule {
  static forConfig(config: GatewayConfig, logger: StructuredLogger, tracing: TracingSdk | undefined, rawRoutes: RawHttpRoutes = new RawHttpRoutes()): DynamicModule {
    const engineLogger = new Logger('engine');
    return {
      module: AppModule,
      controllers: [HealthController, GraphsController, KafkaController, MetricsController, V2InferenceController, V2GrpcController],
      providers: [
        { provide: GATEWAY_CONFIG, useValue: config },
        { provide: RawHttpRoutes, useValue: rawRoutes },
        { provide: OnnxModelLoader, useFactory: () => new OnnxModelLoader() },
        {
          provide: KAFKA_CLIENT,
          useFactory: () => (config.kafka.brokers.length === 0 ? null : new KafkaClient(config.kafka.brokers, `infergraph-gateway-${process.pid}`, new Logger('kafka'))),
        },
        {
          provide: KafkaNodeTransport,
          useFactory: (client: KafkaClient | null) => (client === null ? null : new KafkaNodeTransport(client, `${config.kafka.groupId}.answers`, new Logger('kafka'))),
          inject: [KAFKA_CLIENT],
        },
        {
          provide: GraphRegistry,
          useFactory: (loader: OnnxModelLoader, kafkaNodes: KafkaNodeTransport | null) => {
            const workers = config.nodeTransport !== 'grpc' ? undefined : config.controller === undefined ? new GrpcNodeTransport(config.workers) : routedTransport(config.controller, config.controlSecurity);
            const transport = (graph: GraphSpec, local: NodeTransport): NodeTransport => {
              if (graph.spec.transport === 'kafka' || config.nodeTransport === 'kafka') {
                if (kafkaNodes === null) throw new Error('spec.transport: kafka: this gateway has no KAFKA_BROKERS; set it to the brokers the node workers consume from');
                const { prefix, partitions } = kafkaSettingsOf(graph, config.kafka.topicPrefix);
                kafkaNodes
                  .register({ name: graph.metadata.name, prefix, partitions, nodes: remoteNodesOf(graph) })
                  .catch((err: unknown) => engineLogger.error(`graph "${graph.metadata.name}": Kafka node topics: ${err instanceof Error ? err.message : String(err)}`));
                return new SplitTransport(graph, kafkaNodes, local);
              }
              return workers === undefined ? local : new SplitTransport(graph, workers, local);
            };
            const registry = new GraphRegistry(loader, engineLogger, { transport, paths: new PathPolicy(config.modelRoots), ...(tracing === undefined ? {} : { tracer: new OtelGraphTracer() }) });
            logRequests(registry.events, logger);
            return registry;
          },
          inject: [OnnxModelLoader, KafkaNodeTransport],
        },
        {
          provide: GraphInferenceService,
          useFactory: (registry: GraphRegistry) => new GraphInferenceService(registry, { logPayloads: config.telemetry.logPayloads, maxRows: config.maxRows }),
          inject: [GraphRegistry],
        },
        KafkaStreamService,
        {
          provide: EngineMetrics,
          useFactory: (registry: GraphRegistry, kafka: KafkaStreamService) => {
            const metrics = new EngineMetrics('gateway').observe(registry.events);
            metrics.gaugeFrom('infergraph_kafka_stream_in_flight', 'Streamed Kafka requests being handled.', () => kafka.status().stream?.inFlight ?? 0);
            metrics.counterFrom('infergraph_kafka_stream_pauses_total', 'Times reading the graph topics paused at the in-flight limit.', () => kafka.status().stream?.pauses ?? 0);
            metrics.consumerLagFrom(() => {
              const stream = kafka.status().stream;
              return lagSamples(stream === null ? [] : [stream]);
            });
            metrics.gaugeFrom('infergraph_kafka_node_calls_pending', 'Node calls over Kafka waiting for their answer.', () => kafka.status().nodeCalls?.pending ?? 0);
            return metrics;
          },
          inject: [GraphRegistry, KafkaStreamService],
        },
        GraphLoadingService,
        CatalogueFollowerService,
        InferRoute,
        InFlightLimiter,
        { provide: PredictAuthenticator, useFactory: () => new PredictAuthenticator(config.predictAuth) },
        { provide: APP_FILTER, useClass: OipErrorFilter },
        ...(tracing === undefined ? [] : [{ provide: 'TRACING_SDK', useValue: tracing }]),
      ],
    };
  }
}

/** Node calls go where the controller's routing table says a replica is ready. */
function routedTransport(controller: string, security: ControlClientSecurity): GrpcNodeTransport {
  const logger = new Logger('routes');
  const watcher = new RoutingTableWatcher(
    controller,
    `gateway-${process.pid}`,
    (version, routes, epoch) => logger.log(`routing table v${version} (controller epoch ${epoch.slice(0, 8)}): ${routes} node(s) with ready replicas`),
    200,
    security,
    (details) => logger.error(`the controller at ${controller} refused this gateway: ${details}`),
  );
  watcher.start();
  return new GrpcNodeTransport((graph, node) => watcher.addressesFor(`${graph}.${node}`));
}
