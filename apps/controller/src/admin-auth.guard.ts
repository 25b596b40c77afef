import { ForbiddenException, Inject, Injectable, Logger, UnauthorizedException, type CanActivate, type ExecutionContext } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { CONTROLLER_CONFIG, type ControllerConfig } from './controller.config';
import { allows, bearerTokenOf, matchAdminToken, requiredAdminScope } from './admin-tokens';
import { sessionScopeOf } from './ui/cluster-session';

export const ADMIN_AUTH_REALM = 'infergraph-controller';

/**
 * Bearer-token authentication of the admin API, for every route: `/healthz` is open, GET and HEAD need the
 * `read` scope, anything else `admin`; a dashboard session cookie (ui/cluster-session.ts) grants `read`. Without configured tokens (allowed on a loopback HOST only, see
 * controller.config.ts) every request passes and a warning is logged once.
 */
@Injectable()
export class AdminAuthGuard implements CanActivate {
  constructor(@Inject(CONTROLLER_CONFIG) private readonly config: ControllerConfig) {
    if (config.adminTokens.length === 0) {
      new Logger('admin-auth').warn(`admin API has no authentication; bound to loopback only (HOST=${config.host}); set ADMIN_TOKEN or ADMIN_TOKENS_FILE to require a token`);
    }
  }

  canActivate(context: ExecutionContext): boolean {
    if (context.getType() !== 'http' || this.config.adminTokens.length === 0) return true;
    const http = context.switchToHttp();
    const request = http.getRequest<FastifyRequest>();
    const needed = requiredAdminScope(request.method, request.routeOptions.url ?? request.url);
    if (needed === undefined) return true;
    const presented = bearerTokenOf(request.headers.authorization);
    // A browser signed in at /ui/login carries a session cookie instead, good for reads only.
    const granted = presented === undefined ? sessionScopeOf(request.headers.cookie, this.config.adminTokens) : matchAdminToken(presented, this.config.adminTokens);
    if (granted === undefined) {
      void http.getResponse<FastifyReply>().header('www-authenticate', `Bearer realm="${ADMIN_AUTH_REALM}"`);
      throw new UnauthorizedException(
        presented === undefined
          ? 'the controller admin API needs a bearer token: send "Authorization: Bearer <token>" with a token of ADMIN_TOKEN, ADMIN_READ_TOKEN or ADMIN_TOKENS_FILE'
          : 'the bearer token is not one of the controller\'s admin tokens',
      );
    }
    if (!allows(granted, needed)) {
      throw new ForbiddenException(`${request.method} ${request.routeOptions.url ?? request.url} needs an admin token; this token has the ${granted} scope`);
    }
    return true;
  }
}
