import { Logger, Module, type DynamicModule } from '@nestjs/common';
import { GraphRegistry } from '@infergraph/engine';
import { OnnxModelLoader } from '@infergraph/runtime-onnx';
import { KafkaClient } from '@infergraph/transport-kafka';
import { ControllerLinkService } from './controller-link.service';
import { KAFKA_CLIENT, NodeServingService } from './node-serving.service';
import { WORKER_CONFIG, type WorkerConfig } from './worker.config';
import { WorkerGrpcController } from './worker-grpc.controller';

@Module({})
export class WorkerModule {
  static forConfig(config: WorkerConfig): DynamicModule {
    const engineLogger = new Logger('engine');
    return {
      module: WorkerModule,
      controllers: [WorkerGrpcController],
      providers: [
        { provide: WORKER_CONFIG, useValue: config },
        { provide: OnnxModelLoader, useFactory: () => new OnnxModelLoader({ preferGpu: config.capacity.gpuCount > 0 }) },
        { provide: GraphRegistry, useFactory: (loader: OnnxModelLoader) => new GraphRegistry(loader, engineLogger), inject: [OnnxModelLoader] },
        {
          provide: KAFKA_CLIENT,
          useFactory: () => (config.kafka.brokers.length === 0 ? null : new KafkaClient(config.kafka.brokers, `infergraph-worker-${config.id}`, new Logger('kafka'))),
        },
        NodeServingService,
        ControllerLinkService,
      ],
    };
  }
}
