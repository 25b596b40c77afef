import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { GraphRegistry } from '@infergraph/engine';
import { OnnxModelLoader } from '@infergraph/runtime-onnx';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config/gateway.config';
import { KafkaStreamService } from './kafka-stream.service';

/** Starts loading the configured graphs once the server is up; readiness follows the registry. */
@Injectable()
export class GraphLoadingService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('graphs');

  constructor(
    private readonly registry: GraphRegistry,
    private readonly loader: OnnxModelLoader,
    private readonly kafka: KafkaStreamService,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
  ) {}

  onApplicationBootstrap(): void {
    // Not awaited: the HTTP server answers health and 503s while models load.
    void this.registry.loadDirectories(this.config.graphDirs).then(
      () => {
        const entries = this.registry.list();
        const ready = entries.filter((e) => e.state === 'ready').map((e) => e.name);
        const failed = entries.filter((e) => e.state === 'failed').map((e) => e.name);
        this.logger.log(`serving ${ready.length} graph(s): ${ready.join(', ') || 'none'}${failed.length ? `; failed: ${failed.join(', ')}` : ''}`);
        this.kafka.start().catch((err: unknown) => this.logger.error(`kafka streaming failed to start: ${err instanceof Error ? err.message : String(err)}`));
      },
      (err: unknown) => this.logger.error(err instanceof Error ? err.message : String(err)),
    );
  }

  async onApplicationShutdown(): Promise<void> {
    await this.registry.close();
    await this.loader.close();
  }
}
