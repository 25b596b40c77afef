import { Controller, Get, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { GraphRegistry } from '@infergraph/engine';

export const SERVER_VERSION = '0.1.0';

/** Server-level V2 endpoints and a read-only listing of graph load states. */
@Controller()
export class HealthController {
  constructor(private readonly registry: GraphRegistry) {}

  @Get('v2')
  server(): unknown {
    return { name: 'infergraph', version: SERVER_VERSION, extensions: ['binary_tensor_data'] };
  }

  @Get('v2/health/live')
  live(): unknown {
    return { live: true };
  }

  /** Ready once every graph file has been loaded or has failed (failed graphs answer 503 themselves). */
  @Get('v2/health/ready')
  ready(@Res({ passthrough: true }) reply: FastifyReply): unknown {
    const ready = this.registry.settled && this.registry.list().length > 0;
    if (!ready) void reply.status(503);
    return { ready };
  }
}
