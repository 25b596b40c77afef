import { Catch, Inject, Logger, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config/gateway.config';
import { errorResponse, isServerFault } from './error-response';

/** Every error leaves as `{"error": "<message>"}` with the status the protocol expects. */
@Catch()
export class OipErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('http');

  constructor(@Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const reply = http.getResponse<FastifyReply>();
    const request = http.getRequest<FastifyRequest>();
    const { status, message, body, retryAfterSeconds } = errorResponse(exception, request.method, request.url, this.config.bodyLimitBytes);
    if (isServerFault(status)) {
      this.logger.error(`${request.method} ${request.url} -> ${status}: ${message}`, exception instanceof Error ? exception.stack : undefined);
    }
    if (retryAfterSeconds !== undefined) void reply.header('retry-after', String(retryAfterSeconds));
    void reply.status(status).header('content-type', 'application/json').send(body);
  }
}
