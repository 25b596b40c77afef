import { Body, Controller, Get, Inject, Param, Post, Req, Res } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import path from 'node:path';
import { bearerMatches } from '@infergraph/protocol';
import { browserSessionClearCookie, DashboardAssets, DashboardPages, type DashboardReply } from '@infergraph/dashboard';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config/gateway.config';
import { UI_SESSION_COOKIE, hasUiSession, uiSessionSetCookie } from './ui-session';

/**
 * The web dashboard at `/ui`: static pages and browser modules (built into dist/apps/gateway/ui), behind
 * the operator endpoints' authentication. With OPS_TOKEN set, a browser signs in once at `/ui/login` and
 * carries an HttpOnly session cookie, which OpsAuthGuard accepts for the data endpoints too.
 */
@Controller('ui')
export class UiController {
  private readonly pages: DashboardPages;

  constructor(@Inject(GATEWAY_CONFIG) config: GatewayConfig) {
    const token = config.opsToken;
    const secure = config.tls !== undefined;
    this.pages = new DashboardPages(
      new DashboardAssets(path.resolve(__dirname, '..', '..', 'ui')),
      {
        open: token === undefined,
        signedIn: (authorization, cookie) => token === undefined || bearerMatches(authorization, [token]) || hasUiSession(cookie, token),
        sessionFor: (presented) => (token !== undefined && bearerMatches(`Bearer ${presented}`, [token]) ? uiSessionSetCookie(token, secure) : undefined),
        clearSession: () => browserSessionClearCookie(UI_SESSION_COOKIE, secure),
      },
      { title: 'infergraph gateway', tokenName: 'Operator token (OPS_TOKEN)', refused: 'That is not the operator token (OPS_TOKEN).' },
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
