import { Logger, Module, type DynamicModule } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { GraphInferenceService, GraphRegistry, PathPolicy, RolloutManager, stopOnModelThreadExit } from '@infergraph/engine';
import { KafkaClient, lagSamples } from '@infergraph/transport-kafka';
import { OnnxModelLoader } from '@infergraph/runtime-onnx';
import { ModelStore } from '@infergraph/model-store';
import { AUTO_MODEL_THREADS, GATEWAY_CONFIG, type GatewayConfig } from './config/gateway.config';
import { CatalogueFollowerService } from './graphs/catalogue-follower.service';
import { GraphLoadingService } from './graphs/graph-loading.service';
import { KAFKA_CLIENT, KafkaStreamService, NODE_BUSES } from './graphs/kafka-stream.service';
import { createNodeBus, type GatewayNodeBuses } from './graphs/node-bus.factory';
import { KafkaController } from './http/kafka.controller';
import { MetricsController } from './http/metrics.controller';
import { EngineMetrics, OtelGraphTracer, logRequests, type StructuredLogger, type TracingSdk } from '@infergraph/telemetry';
import { GraphsController } from './http/graphs.controller';
import { RolloutsController } from './http/rollouts.controller';
import { HealthController } from './http/health.controller';
import { OipErrorFilter } from './http/oip-error.filter';
import { V2InferenceController } from './http/v2-inference.controller';
import { InferRoute } from './http/infer.route';
import { InFlightLimiter } from './in-flight.limiter';
import { StoppingService } from './stopping.service';
import { PredictAuthenticator } from './auth/predict-authenticator';
import { RawHttpRoutes } from './http/raw-routes';
import { LiveController } from './ui/live.controller';
import { LiveStatsService } from './ui/live-stats.service';
import { UiController } from './ui/ui.controller';
import { ServingPool } from './serving/serving-pool';

@Module({})
export class AppModule {
  static forConfig(config: GatewayConfig, logger: StructuredLogger, tracing: TracingSdk | undefined, rawRoutes: RawHttpRoutes = new RawHttpRoutes()): DynamicModule {
    const engineLogger = new Logger('engine');
    return {
      module: AppModule,
      controllers: [HealthController, GraphsController, RolloutsController, KafkaController, MetricsController, V2InferenceController, LiveController, UiController],
      providers: [
        { provide: GATEWAY_CONFIG, useValue: config },
        { provide: RawHttpRoutes, useValue: rawRoutes },
        // Sessions in model threads (MODEL_THREADS): by default (`auto`) those of large models, whose runs then
        // overlap the reading and answering of other requests; small models run on the event loop, where a run
        // costs less than the hop to a thread.
        {
          provide: OnnxModelLoader,
          useFactory: () =>
            new OnnxModelLoader({
              modelThreads: config.modelThreads === 'auto' ? AUTO_MODEL_THREADS : config.modelThreads,
              threadsFor: config.modelThreads === 'auto' ? 'large' : 'all',
              largeModelBytes: config.modelThreadMinBytes,
              onThreadExit: stopOnModelThreadExit(new Logger('models')),
            }),
        },
        { provide: ModelStore, useFactory: () => new ModelStore({ settings: config.modelStore, logger: new Logger('models') }) },
        {
          provide: KAFKA_CLIENT,
          useFactory: () => (config.kafka.brokers.length === 0 ? null : new KafkaClient(config.kafka.brokers, `infergraph-gateway-${process.pid}`, new Logger('kafka'), { lingerMs: config.kafka.lingerMs })),
        },
        {
          provide: NODE_BUSES,
          useFactory: (client: KafkaClient | null) => createNodeBus(config, client),
          inject: [KAFKA_CLIENT],
        },
        {
          provide: GraphRegistry,
          useFactory: (loader: OnnxModelLoader, buses: GatewayNodeBuses, models: ModelStore) => {
            const registry = new GraphRegistry(loader, engineLogger, {
              bus: buses.graphs,
              paths: new PathPolicy(config.modelRoots),
              models,
              defaultVersions: config.defaultVersions,
              ...(tracing === undefined ? {} : { tracer: new OtelGraphTracer() }),
            });
            logRequests(registry.events, logger);
            return registry;
          },
          inject: [OnnxModelLoader, NODE_BUSES, ModelStore],
        },
        { provide: RolloutManager, useFactory: (registry: GraphRegistry) => new RolloutManager(registry, new Logger('rollout')), inject: [GraphRegistry] },
        {
          provide: GraphInferenceService,
          useFactory: (registry: GraphRegistry, rollouts: RolloutManager) => new GraphInferenceService(registry, { logPayloads: config.telemetry.logPayloads, maxRows: config.maxRows, rollouts }),
          inject: [GraphRegistry, RolloutManager],
        },
        KafkaStreamService,
        {
          provide: EngineMetrics,
          useFactory: (registry: GraphRegistry, kafka: KafkaStreamService, buses: GatewayNodeBuses, loader: OnnxModelLoader) => {
            const metrics = new EngineMetrics('gateway').observe(registry.events);
            metrics.modelThreadSessionsFrom(() => loader.threadStats());
            // One whole-graph call counts once: calls per request show how often the graph crossed to workers.
            metrics.counterFrom('infergraph_node_bus_calls_total', 'Calls sent to workers over the node bus (node calls, and whole-graph calls of chain graphs).', () => buses.graphs.stats().calls);
            metrics.gaugeFrom('infergraph_node_bus_calls_pending', 'Calls over the node bus waiting for their answer.', () => buses.graphs.stats().pending);
            metrics.gaugeFrom('infergraph_kafka_stream_in_flight', 'Streamed Kafka requests being handled.', () => kafka.status().stream?.inFlight ?? 0);
            metrics.counterFrom('infergraph_kafka_stream_pauses_total', 'Times reading the graph topics paused at the in-flight limit.', () => kafka.status().stream?.pauses ?? 0);
            metrics.counterFrom('infergraph_kafka_stream_thread_restarts_total', 'Times the graph streams\' Kafka thread ended unexpectedly and was started again.', () => kafka.status().streamThreadRestarts);
            metrics.consumerLagFrom(() => {
              const stream = kafka.status().stream;
              return lagSamples(stream === null ? [] : [stream]);
            });
            metrics.gaugeFrom('infergraph_kafka_node_calls_pending', 'Node calls over Kafka waiting for their answer.', () => kafka.status().nodeCalls?.pending ?? 0);
            return metrics;
          },
          inject: [GraphRegistry, KafkaStreamService, NODE_BUSES, OnnxModelLoader],
        },
        GraphLoadingService,
        LiveStatsService,
        CatalogueFollowerService,
        InferRoute,
        InFlightLimiter,
        StoppingService,
        ServingPool,
        { provide: PredictAuthenticator, useFactory: () => new PredictAuthenticator(config.predictAuth) },
        { provide: APP_FILTER, useClass: OipErrorFilter },
        ...(tracing === undefined ? [] : [{ provide: 'TRACING_SDK', useValue: tracing }]),
      ],
    };
  }
}

