import type { IncomingMessage, ServerResponse } from 'node:http';

/** Answers a request itself and returns true, or returns false to leave it to Fastify. */
export type RawHandler = (req: IncomingMessage, res: ServerResponse) => boolean;

/**
 * Routes served on node:http before Fastify sees the request: the inference hot path, where Fastify's
 * routing, hooks, body parsing and reply pipeline cost more than the rest of the gateway's own work for a
 * small model. The HTTP server (made in main.ts through Fastify's serverFactory) asks each handler in turn;
 * everything else, 404s included, is Fastify's.
 */
export class RawHttpRoutes {
  private readonly handlers: RawHandler[] = [];

  add(handler: RawHandler): void {
    this.handlers.push(handler);
  }

  /** True when a handler took the request. */
  dispatch(req: IncomingMessage, res: ServerResponse): boolean {
    for (const handler of this.handlers) if (handler(req, res)) return true;
    return false;
  }
}
