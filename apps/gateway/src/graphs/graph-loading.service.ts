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
    if (this.watcher === undefined) return this.logger.log('SIGHUP ignored: graphs come from the controller (CONTROLLER) or are still loading');
    this.logger.log('SIGHUP: rescanning the graph files');
    void this.watcher.scan();
  };

  constructor(
    private readonly registry: GraphRegistry,
    private readonly loader: OnnxModelLoader,
    private readonly kafka: KafkaStreamService,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
  ) {}

  onApplicationBootstrap(): void {
    process.on('SIGHUP', this.onHangup);
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

  /** Standalone gateways: hot reload of GRAPHS_DIR (unless GRAPHS_WATCH=false), and SIGHUP in any case. */
  private startWatching(): void {
    if (this.config.controller !== undefined) return;
    const watch = this.config.watch;
    this.watcher = new GraphDirWatcher(this.registry, this.config.graphDirs, this.logger, { scanMs: watch?.scanMs ?? 2000, debounceMs: 200 });
    this.watcher.start(watch !== undefined).then(
      () => {
        this.logger.log(
          watch === undefined
            ? `hot reload: off (GRAPHS_WATCH=false); SIGHUP rescans ${this.config.graphDirs.join(', ')}`
            : `hot reload: watching ${this.config.graphDirs.join(', ')} (scan every ${watch.scanMs} ms; SIGHUP rescans)`,
        );
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
