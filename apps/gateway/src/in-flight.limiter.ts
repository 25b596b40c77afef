import { Inject, Injectable } from '@nestjs/common';
import { InferenceError } from '@infergraph/protocol';
import { GATEWAY_CONFIG, type GatewayConfig } from './config/gateway.config';

/**
 * Inference requests of this process in flight, REST and V2 gRPC together, against MAX_IN_FLIGHT: above it
 * a request is refused at once (503 / UNAVAILABLE, retry later) instead of queueing until every client
 * times out.
 */
@Injectable()
export class InFlightLimiter {
  private inFlight = 0;

  constructor(@Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig) {}

  /** Counts one more request, or throws UNAVAILABLE when the process is full. Pair with `leave()`. */
  enter(): void {
    const max = this.config.http.maxInFlight;
    if (this.inFlight >= max) throw new InferenceError('UNAVAILABLE', `the gateway has ${this.inFlight} requests in flight (MAX_IN_FLIGHT ${max}); retry later`);
    this.inFlight++;
  }

  leave(): void {
    this.inFlight--;
  }

  get current(): number {
    return this.inFlight;
  }
}
