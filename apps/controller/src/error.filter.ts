import { Catch, HttpException, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { InferenceError } from '@infergraph/protocol';

/** `{"error": "<message>"}` with the status of the failure class, as the gateway answers. */
@Catch()
export class ControllerErrorFilter implements ExceptionFilter {
  catch(exception: unknown, host: ArgumentsHost): void {
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    const status = exception instanceof InferenceError ? exception.httpStatus : exception instanceof HttpException ? exception.getStatus() : 500;
    const message = exception instanceof Error ? exception.message : String(exception);
    void reply.status(status).header('content-type', 'application/json').send(JSON.stringify({ error: message }));
  }
}
