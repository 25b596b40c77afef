import { Inject, Injectable, UnauthorizedException, type CanActivate, type ExecutionContext } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { bearerMatches, bearerTokenOf } from '@infergraph/protocol';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config/gateway.config';
import { hasUiSession } from '../ui/ui-session';

/**
 * The operator endpoints (`/metrics`, `/v1/graphs`, `/v1/kafka`) need `Authorization: Bearer <OPS_TOKEN>`
 * when OPS_TOKEN is set; without it they are open like the rest of a loopback-bound gateway. Probes
 * (`/v2/health/*`) and the V2 API stay outside this guard: predict has its own (`spec.auth`). A browser signed
 * in at `/ui/login` passes GET and HEAD with its session cookie instead (ui/ui-session.ts).
 */
@Injectable()
export class OpsAuthGuard implements CanActivate {
  constructor(@Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig) {}

  canActivate(context: ExecutionContext): boolean {
    const token = this.config.opsToken;
    if (token === undefined || context.getType() !== 'http') return true;
    const http = context.switchToHttp();
    const request = http.getRequest<FastifyRequest>();
    const { authorization, cookie } = request.headers;
    if (bearerMatches(authorization, [token])) return true;
    // The dashboard only reads: a session cookie never authorizes a change (reloads, rollouts).
    if ((request.method === 'GET' || request.method === 'HEAD') && hasUiSession(cookie, token)) return true;
    void http.getResponse<FastifyReply>().header('www-authenticate', 'Bearer realm="infergraph-ops"');
    throw new UnauthorizedException(bearerTokenOf(authorization) === undefined ? 'this operator endpoint needs "Authorization: Bearer <OPS_TOKEN>"' : 'the bearer token is not OPS_TOKEN');
  }
}
