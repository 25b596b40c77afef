import { Catch, HttpException, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { InferenceError } from '@infergraph/protocol';
import { GraphConflictError } from './graph-conflict.error';

/** `{"error": "<message>"}` with the status of the failure class, as the gateway answers. */
@Catch()
export class ControllerErrorFilter implements ExceptionFilter {
  catch(exception: unknown, host: ArgumentsHost): void {
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    const message = exception instanceof Error ? exception.message : String(exception);
    void reply.status(statusOf(exception)).header('content-type', 'application/json').send(JSON.stringify({ error: message }));
  }
}

function statusOf(exception: unknown): number {
  if (exception instanceof InferenceError) return exception.httpStatus;
  if (exception instanceof GraphConflictError) return 409;
  if (exception instanceof HttpException) return exception.getStatus();
  // Fastify's own request errors (body over the limit: 413, unsupported media type: 415) carry their status.
  const statusCode = (exception as { statusCode?: unknown } | null)?.statusCode;
  return typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500 ? statusCode : 500;
}
