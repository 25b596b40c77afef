import { Injectable } from '@nestjs/common';

/**
 * What shutdown waits for before a worker stops serving: the controller link's drain (replacements placed
 * and routed elsewhere). NestJS runs every provider's shutdown hooks at once, so the gRPC server and the
 * Kafka consumers wait here instead of closing while routes still point at this worker.
 */
@Injectable()
export class DrainGate {
  private drain: (() => Promise<void>) | undefined;

  /** Set by the controller link; without one, nothing is waited for. */
  register(drain: () => Promise<void>): void {
    this.drain = drain;
  }

  wait(): Promise<void> {
    return this.drain?.() ?? Promise.resolve();
  }
}
