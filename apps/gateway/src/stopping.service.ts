import { Inject, Injectable, Logger, type BeforeApplicationShutdown } from '@nestjs/common';
import { GraphInferenceService } from '@infergraph/engine';
import { GATEWAY_CONFIG, type GatewayConfig } from './config/gateway.config';

/**
 * A gateway's stop, before its servers close: readiness is false (REST and gRPC health alike; main.ts turns it
 * when the signal arrives, this again for a close without one), and with SHUTDOWN_DELAY_MS the ports stay open
 * and answering for that long, so that a load balancer or Kubernetes' endpoints stop sending new connections
 * here before they would be refused. NestJS runs the `beforeApplicationShutdown` steps level by level (the live
 * feed's end and the Kafka streams' drain among them), then closes the servers.
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
