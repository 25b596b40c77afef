import { Logger, Module, type DynamicModule } from '@nestjs/common';
import { GraphRegistry, PathPolicy, stopOnModelThreadExit } from '@infergraph/engine';
import { OnnxModelLoader } from '@infergraph/runtime-onnx';
import { ModelStore } from '@infergraph/model-store';
import { KafkaClient } from '@infergraph/transport-kafka';
import { EngineMetrics, OtelGraphTracer, logRequests, type StructuredLogger, type TracingSdk } from '@infergraph/telemetry';
import { ControllerLinkService } from './controller-link.service';
import { DrainGate } from './drain.gate';
import { MetricsEndpointService } from './metrics-endpoint.service';
import { KAFKA_CLIENT, NodeServingService } from './node-serving.service';
import { AUTO_MODEL_THREADS, WORKER_CONFIG, type WorkerConfig } from './worker.config';
import { WorkerGrpcServer } from './worker-grpc.server';

@Module({})
export class WorkerModule {
  static forConfig(config: WorkerConfig, logger: StructuredLogger, tracing: TracingSdk | undefined): DynamicModule {
    const engineLogger = new Logger('engine');
    return {
      module: WorkerModule,
      providers: [
        { provide: WORKER_CONFIG, useValue: config },
        // The default applies to whole graphs (no controller): every model tries CUDA on a GPU worker. Assigned
        // nodes choose per node instead: CUDA only for a model node with resources.gpuMemory (NodeServingService).
        // Sessions in model threads (MODEL_THREADS): opening a model never stalls serving or heartbeats. With
        // `auto`, only the sessions opened while the worker serves calls (NodeServingService says when); those
        // opened before (start-up) run on the event loop, without the hop to a thread.
        {
          provide: OnnxModelLoader,
          useFactory: () =>
            new OnnxModelLoader({
              preferGpu: config.controller === undefined && config.capacity.gpuCount > 0,
              modelThreads: config.modelThreads === 'auto' ? AUTO_MODEL_THREADS : config.modelThreads,
              threadsFor: config.modelThreads === 'auto' ? 'while-serving' : 'all',
              onThreadExit: stopOnModelThreadExit(new Logger('models')),
            }),
        },
        // Each worker fetches its own https:// and s3:// models (a shared MODEL_CACHE_DIR downloads once).
        { provide: ModelStore, useFactory: () => new ModelStore({ settings: config.modelStore, logger: new Logger('models') }) },
        {
          provide: GraphRegistry,
          useFactory: (loader: OnnxModelLoader, models: ModelStore) => {
            const registry = new GraphRegistry(loader, engineLogger, { paths: new PathPolicy(config.modelRoots), models, ...(tracing === undefined ? {} : { tracer: new OtelGraphTracer() }) });
            logRequests(registry.events, logger);
            return registry;
          },
          inject: [OnnxModelLoader, ModelStore],
        },
        {
          provide: KAFKA_CLIENT,
          useFactory: () => (config.kafka.brokers.length === 0 ? null : new KafkaClient(config.kafka.brokers, `infergraph-worker-${config.id}`, new Logger('kafka'), { lingerMs: config.kafka.lingerMs })),
        },
        DrainGate,
        NodeServingService,
        WorkerGrpcServer,
        ControllerLinkService,
        {
          provide: EngineMetrics,
          useFactory: (registry: GraphRegistry, serving: NodeServingService, loader: OnnxModelLoader) => {
            const metrics = new EngineMetrics('worker').observe(registry.events);
            metrics.gaugesFrom('infergraph_node_requests_in_flight', 'Node calls this worker is serving now.', ['graph', 'node'], () => serving.inference.inFlightByNode());
            metrics.modelThreadSessionsFrom(() => loader.threadStats());
            metrics.consumerLagFrom(() => serving.kafkaLag());
            return metrics;
          },
          inject: [GraphRegistry, NodeServingService, OnnxModelLoader],
        },
        MetricsEndpointService,
        ...(tracing === undefined ? [] : [{ provide: 'TRACING_SDK', useValue: tracing }]),
      ],
    };
  }
}
