import { Controller, Get, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { GraphInferenceService } from '@infergraph/engine';

/** Server-level V2 endpoints and a read-only listing of graph load states. */
@Controller()
export class HealthController {
  constructor(private readonly inference: GraphInferenceService) {}

  @Get('v2')
  server(): unknown {
    return { ...this.inference.serverMetadata(), extensions: ['binary_tensor_data'] };
  }

  @Get('v2/health/live')
  live(): unknown {
    return { live: true };
  }

  /**
   * Ready once every graph has loaded or failed and at least one can serve (each node it needs has a place
   * to run); `missing` names the graphs that cannot serve and why (503 when none can).
   */
  @Get('v2/health/ready')
  ready(@Res({ passthrough: true }) reply: FastifyReply): unknown {
    const { ready, missing } = this.inference.serverReadiness();
    if (!ready) void reply.status(503);
    return missing.length === 0 ? { ready } : { ready, missing };
  }
}
