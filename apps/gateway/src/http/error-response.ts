import { HttpException } from '@nestjs/common';
import { InferenceError } from '@infergraph/protocol';

/** What an error becomes on the wire: its status and the `{"error": ..., ...details}` body. */
export interface ErrorResponse {
  readonly status: number;
  readonly message: string;
  readonly body: string;
  /** Seconds a client should wait before trying again (503s: a node being re-placed, overload). */
  readonly retryAfterSeconds: number | undefined;
}

/** A 503 lasts about as long as re-placing a node or a queue draining: a second, not minutes. */
const RETRY_AFTER_SECONDS = 1;

/** The message of a 413, naming the limit and how to raise it. */
export function bodyTooLargeMessage(bodyLimitBytes: number): string {
  return `request body exceeds the ${bodyLimitBytes}-byte limit (set BODY_LIMIT_BYTES to raise it)`;
}

/**
 * Maps anything thrown while serving an HTTP request to the status the protocol expects and a JSON body:
 * InferenceErrors by their code (details merged in), NestJS and Fastify errors by their status, the rest 500.
 */
export function errorResponse(exception: unknown, method: string, url: string, bodyLimitBytes: number): ErrorResponse {
  const { status, message } = describe(exception, method, url, bodyLimitBytes);
  const details = exception instanceof InferenceError ? exception.details : undefined;
  return { status, message, body: JSON.stringify({ error: message, ...details }), retryAfterSeconds: status === 503 ? RETRY_AFTER_SECONDS : undefined };
}

function describe(exception: unknown, method: string, url: string, bodyLimitBytes: number): { status: number; message: string } {
  const tooLarge = { status: 413, message: bodyTooLargeMessage(bodyLimitBytes) };
  if (exception instanceof InferenceError) return { status: exception.httpStatus, message: exception.message };
  if (exception instanceof HttpException) {
    const status = exception.getStatus();
    if (status === 404) return { status, message: `no route ${method} ${url.split('?')[0] ?? ''}` };
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

/** Whether an error of this status is logged as the server's fault (not the caller's, not overload). */
export function isServerFault(status: number): boolean {
  return status >= 500 && status !== 503 && status !== 504;
}
