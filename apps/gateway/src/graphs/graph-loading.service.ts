import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { GraphDirWatcher, GraphRegistry } from '@infergraph/engine';
import { OnnxModelLoader } from '@infergraph/runtime-onnx';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config/gateway.config';
import { KafkaStreamService } from './kafka-stream.service';

/** Starts loading the configured graphs once the server is up; readiness follows the registry. */
@Injectable()
export class GraphLoadingService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('graphs');
  private watcher: GraphDirWatcher | undefined;
  /** SIGHUP: look at every graph file now, as the watcher does on a change. */
  private readonly onHangup = (): void => {
    this.logger.log('SIGHUP: rescanning the graph files');
    void this.watcher?.scan();
  };

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
        this.startWatching();
      },
      (err: unknown) => this.logger.error(err instanceof Error ? err.message : String(err)),
    );
  }

  private startWatching(): void {
    const watch = this.config.watch;
    if (watch === undefined) return;
    this.watcher = new GraphDirWatcher(this.registry, this.config.graphDirs, this.logger, { scanMs: watch.scanMs, debounceMs: 200 });
    this.watcher.start().then(
      () => {
        process.on('SIGHUP', this.onHangup);
        this.logger.log(`hot reload: watching ${this.config.graphDirs.join(', ')} (scan every ${watch.scanMs} ms; SIGHUP rescans)`);
      },
      (err: unknown) => this.logger.error(`hot reload could not start: ${err instanceof Error ? err.message : String(err)}`),
    );
  }

  async onApplicationShutdown(): Promise<void> {
    process.off('SIGHUP', this.onHangup);
    this.watcher?.stop();
    await this.registry.close();
    await this.loader.close();
  }
}
