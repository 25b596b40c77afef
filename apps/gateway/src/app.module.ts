import { Logger, Module, type DynamicModule } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { GraphInferenceService, GraphRegistry, SplitTransport } from '@infergraph/engine';
import { GrpcNodeTransport, RoutingTableWatcher } from '@infergraph/transport-grpc';
import { OnnxModelLoader } from '@infergraph/runtime-onnx';
import { GATEWAY_CONFIG, type GatewayConfig } from './config/gateway.config';
import { GraphLoadingService } from './graphs/graph-loading.service';
import { KafkaStreamService } from './graphs/kafka-stream.service';
import { V2GrpcController } from './grpc/v2-grpc.controller';
import { GraphsController } from './http/graphs.controller';
import { HealthController } from './http/health.controller';
import { OipErrorFilter } from './http/oip-error.filter';
import { V2InferenceController } from './http/v2-inference.controller';

@Module({})
export class AppModule {
  static forConfig(config: GatewayConfig): DynamicModule {
    const engineLogger = new Logger('engine');
    return {
      module: AppModule,
      controllers: [HealthController, GraphsController, V2InferenceController, V2GrpcController],
      providers: [
        { provide: GATEWAY_CONFIG, useValue: config },
        { provide: OnnxModelLoader, useFactory: () => new OnnxModelLoader() },
        {
          provide: GraphRegistry,
          useFactory: (loader: OnnxModelLoader) => {
            if (config.nodeTransport === 'inprocess') return new GraphRegistry(loader, engineLogger);
            const workers = config.controller === undefined ? new GrpcNodeTransport(config.workers) : routedTransport(config.controller);
            return new GraphRegistry(loader, engineLogger, (graph, local) => new SplitTransport(graph, workers, local));
          },
          inject: [OnnxModelLoader],
        },
        {
          provide: GraphInferenceService,
          useFactory: (registry: GraphRegistry) => new GraphInferenceService(registry),
          inject: [GraphRegistry],
        },
        KafkaStreamService,
        GraphLoadingService,
        { provide: APP_FILTER, useClass: OipErrorFilter },
      ],
    };
  }
}

/** Node calls go where the controller's routing table says a replica is ready. */
function routedTransport(controller: string): GrpcNodeTransport {
  const logger = new Logger('routes');
  const watcher = new RoutingTableWatcher(controller, `gateway-${process.pid}`, (version, routes) =>
    logger.log(`routing table v${version}: ${routes} node(s) with ready replicas`),
  );
  watcher.start();
  return new GrpcNodeTransport((graph, node) => watcher.addressesFor(`${graph}.${node}`));
}
