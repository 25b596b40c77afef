import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { bearerMatches } from '@infergraph/protocol';
import { EngineMetrics, MetricsHttpServer } from '@infergraph/telemetry';
import { WORKER_CONFIG, type WorkerConfig } from './worker.config';

/** The worker's Prometheus endpoint: GET /metrics and /healthz on METRICS_PORT (gRPC has no HTTP). */
@Injectable()
export class MetricsEndpointService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('metrics');
  private readonly server: MetricsHttpServer;

  constructor(
    metrics: EngineMetrics,
    @Inject(WORKER_CONFIG) private readonly config: WorkerConfig,
  ) {
    const token = config.opsToken;
    this.server = new MetricsHttpServer(metrics, undefined, (authorization) => token === undefined || bearerMatches(authorization, [token]));
  }

  async onApplicationBootstrap(): Promise<void> {
    const port = this.config.metricsPort;
    if (port === undefined) return;
    // Metrics are not worth a worker: a taken port is logged and the worker serves on.
    await this.server.listen(this.config.host, port).then(
      (bound) => this.logger.log(`metrics on http://${this.config.host}:${bound}/metrics`),
      (err: unknown) => this.logger.error(`cannot serve metrics on ${this.config.host}:${port} (${err instanceof Error ? err.message : String(err)}); set METRICS_PORT to a free port, 0 for any, or off`),
    );
  }

  onApplicationShutdown(): Promise<void> {
    return this.server.close();
  }
}
