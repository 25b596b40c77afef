import { Inject, Injectable, Logger, type BeforeApplicationShutdown } from '@nestjs/common';
import { GraphInferenceService } from '@infergraph/engine';
import { GATEWAY_CONFIG, type GatewayConfig } from './config/gateway.config';

/**
 * The first step of a gateway's stop: readiness turns false at once (REST and gRPC health alike), and with
 * SHUTDOWN_DELAY_MS the ports stay open and answering for that long, so that a load balancer or Kubernetes'
 * endpoints stop sending new connections here before they would be refused. NestJS runs this beside the
 * other `beforeApplicationShutdown` steps (the Kafka streams' drain), then closes the servers.
 */
@Injectable()
export class StoppingService implements BeforeApplicationShutdown {
  private readonly logger = new Logger('gateway');

  constructor(
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
    private readonly inference: GraphInferenceService,
  ) {}

  async beforeApplicationShutdown(signal?: string): Promise<void> {
    const cause = signal ?? 'shutdown';
    this.inference.beginStopping(`stopping (${cause})`);
    const delayMs = this.config.http.shutdownDelayMs;
    if (delayMs === 0) return;
    this.logger.log(`${cause}: not ready from now on; still serving for ${delayMs} ms (SHUTDOWN_DELAY_MS) before the ports close`);
    await new Promise((resolve) => setTimeout(resolve, delayMs));
    this.logger.log('closing the ports; requests in flight are finished first');
  }
}
