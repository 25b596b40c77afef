import { Controller, Get, Param, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { GraphInferenceService } from '@infergraph/engine';

/** Open Inference Protocol V2 metadata and readiness of graphs; each graph is a V2 "model" (infer: InferRoute). */
@Controller('v2/models')
export class V2InferenceController {
  constructor(private readonly inference: GraphInferenceService) {}

  @Get(':graph')
  metadata(@Param('graph') graph: string): unknown {
    return this.inference.metadata(graph, undefined);
  }

  @Get(':graph/versions/:version')
  versionMetadata(@Param('graph') graph: string, @Param('version') version: string): unknown {
    return this.inference.metadata(graph, version);
  }

  @Get(':graph/ready')
  ready(@Param('graph') graph: string, @Res({ passthrough: true }) reply: FastifyReply): unknown {
    return this.readiness(graph, undefined, reply);
  }

  @Get(':graph/versions/:version/ready')
  versionReady(
    @Param('graph') graph: string,
    @Param('version') version: string,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): unknown {
    return this.readiness(graph, version, reply);
  }

  private readiness(graph: string, version: string | undefined, reply: FastifyReply): unknown {
    const readiness = this.inference.readiness(graph, version);
    if (!readiness.ready) void reply.status(503);
    return readiness;
  }
}
