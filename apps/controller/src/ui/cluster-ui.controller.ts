import { Body, Controller, Get, Inject, Param, Post, Req, Res } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import path from 'node:path';
import { browserSessionClearCookie, DashboardAssets, DashboardPages, type DashboardReply } from '@infergraph/dashboard';
import { bearerMatches } from '@infergraph/protocol';
import { CONTROLLER_CONFIG, type ControllerConfig } from '../controller.config';
import { CLUSTER_SESSION_COOKIE, sessionCookieFor, sessionScopeOf } from './cluster-session';

/**
 * The cluster dashboard at `/ui` on the admin port. AdminAuthGuard leaves these routes to this controller
 * (a page redirects to the sign-in form rather than answering 401); the data it reads, `/v1/cluster`, stays
 * behind the guard, which accepts the session cookie for reads.
 */
@Controller('ui')
export class ClusterUiController {
  private readonly pages: DashboardPages;

  constructor(@Inject(CONTROLLER_CONFIG) config: ControllerConfig) {
    const tokens = config.adminTokens;
    this.pages = new DashboardPages(
      new DashboardAssets(path.resolve(__dirname, '..', '..', 'ui')),
      {
        open: tokens.length === 0,
        signedIn: (authorization, cookie) => tokens.length === 0 || bearerMatches(authorization, tokens) || sessionScopeOf(cookie, tokens) !== undefined,
        sessionFor: (presented) => sessionCookieFor(presented, tokens, false),
        clearSession: () => browserSessionClearCookie(CLUSTER_SESSION_COOKIE, false),
      },
      {
        title: 'infergraph controller',
        tokenName: 'Admin token (ADMIN_TOKEN, ADMIN_READ_TOKEN or ADMIN_TOKENS_FILE)',
        refused: 'That is not one of the controller\'s admin tokens.',
      },
    );
  }

  @Get()
  async index(@Req() req: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    await send(reply, this.pages.index(req.headers.authorization, req.headers.cookie));
  }

  @Get('login')
  async login(@Res() reply: FastifyReply): Promise<void> {
    await send(reply, this.pages.loginPage());
  }

  @Post('login')
  async signIn(@Body() body: unknown, @Res() reply: FastifyReply): Promise<void> {
    await send(reply, this.pages.signIn(body));
  }

  @Post('logout')
  async signOut(@Res() reply: FastifyReply): Promise<void> {
    await send(reply, this.pages.signOut());
  }

  @Get('assets/:file')
  async asset(@Param('file') file: string, @Req() req: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    await send(reply, this.pages.file(file, req.headers.authorization, req.headers.cookie));
  }
}

async function send(reply: FastifyReply, r: DashboardReply): Promise<void> {
  await reply.status(r.status).headers(r.headers).send(r.body);
}
