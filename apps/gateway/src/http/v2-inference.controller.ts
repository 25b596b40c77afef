import { Controller, Get, Header, HttpCode, Param, Post, Req, Res } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { decodeInferRequest, encodeInferResponse, invalidArgument } from '@infergraph/protocol';
import { GraphInferenceService } from '@infergraph/engine';

/** Open Inference Protocol V2 endpoints for graphs; each graph is a V2 "model". */
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

  @Post(':graph/infer')
  @HttpCode(200)
  @Header('cache-control', 'no-store')
  infer(@Param('graph') graph: string, @Req() req: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply): Promise<Buffer> {
    return this.handleInfer(graph, undefined, req, reply);
  }

  @Post(':graph/versions/:version/infer')
  @HttpCode(200)
  @Header('cache-control', 'no-store')
  inferVersion(
    @Param('graph') graph: string,
    @Param('version') version: string,
    @Req() req: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<Buffer> {
    return this.handleInfer(graph, version, req, reply);
  }

  private readiness(graph: string, version: string | undefined, reply: FastifyReply): unknown {
    const entry = this.inference.entry(graph);
    try {
      this.inference.ready(graph, version);
      return { name: entry.name, ready: true };
    } catch (err) {
      void reply.status(503);
      return { name: entry.name, ready: false, error: err instanceof Error ? err.message : String(err) };
    }
  }

  private async handleInfer(
    graph: string,
    version: string | undefined,
    req: FastifyRequest,
    reply: FastifyReply,
  ): Promise<Buffer> {
    this.inference.ready(graph, version); // 404 / 503 before reading the body
    const headerRequestId = headerValue(req.headers['x-request-id']);
    if (headerRequestId !== undefined) void reply.header('x-request-id', headerRequestId);
    const body = req.body;
    if (!Buffer.isBuffer(body) || body.byteLength === 0) throw invalidArgument('request body is empty; expected an inference request in JSON');
    const jsonLengthHeader = headerValue(req.headers['inference-header-content-length']);
    const request = decodeInferRequest(body, jsonLengthHeader === undefined ? undefined : Number(jsonLengthHeader));
    if (request.id !== undefined) void reply.header('x-request-id', request.id);
    const response = await this.inference.infer({
      graph,
      version,
      request,
      requestId: headerRequestId,
      headers: flatHeaders(req.headers),
    });
    const encoded = encodeInferResponse(response, request.outputs, request.binaryOutput);
    void reply.header('x-request-id', response.id).header('content-type', encoded.contentType);
    if (encoded.jsonLength !== undefined) void reply.header('inference-header-content-length', String(encoded.jsonLength));
    if (response.route !== undefined) void reply.header('x-infergraph-route', response.route);
    return encoded.body;
  }
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function flatHeaders(headers: FastifyRequest['headers']): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) if (v !== undefined) out[k] = Array.isArray(v) ? v.join(', ') : v;
  return out;
}
