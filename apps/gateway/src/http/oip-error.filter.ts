import { Catch, HttpException, Inject, Logger, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { InferenceError } from '@infergraph/protocol';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config/gateway.config';

/** Every error leaves as `{"error": "<message>"}` with the status the protocol expects. */
@Catch()
export class OipErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('http');

  constructor(@Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const reply = http.getResponse<FastifyReply>();
    const request = http.getRequest<FastifyRequest>();
    const { status, message } = describe(exception, request, this.config.bodyLimitBytes);
    const details = exception instanceof InferenceError ? exception.details : undefined;
    if (status >= 500 && status !== 503 && status !== 504) {
      this.logger.error(`${request.method} ${request.url} -> ${status}: ${message}`, exception instanceof Error ? exception.stack : undefined);
    }
    void reply.status(status).header('content-type', 'application/json').send(JSON.stringify({ error: message, ...details }));
  }
}

function describe(exception: unknown, request: FastifyRequest, bodyLimitBytes: number): { status: number; message: string } {
  const tooLarge = { status: 413, message: `request body exceeds the ${bodyLimitBytes}-byte limit (set BODY_LIMIT_BYTES to raise it)` };
  if (exception instanceof InferenceError) return { status: exception.httpStatus, message: exception.message };
  if (exception instanceof HttpException) {
    const status = exception.getStatus();
    if (status === 404) return { status, message: `no route ${request.method} ${request.url.split('?')[0] ?? ''}` };
    if (status === 413) return tooLarge;
    return { status, message: exception.message };
  }
  // Fastify's own errors (body too large, bad content length...) carry a statusCode.
  const fastifyError = exception as { statusCode?: unknown; code?: unknown; message?: unknown };
  if (typeof fastifyError.statusCode === 'number' && fastifyError.statusCode >= 400 && fastifyError.statusCode < 500) {
    if (fastifyError.statusCode === 413) return tooLarge;
    return { status: fastifyError.statusCode, message: String(fastifyError.message) };
  }
  return { status: 500, message: `internal error: ${exception instanceof Error ? exception.message : String(exception)}` };
}
