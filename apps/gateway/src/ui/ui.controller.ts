import { Body, Controller, Get, Inject, NotFoundException, Param, Post, Req, Res } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import path from 'node:path';
import { bearerMatches } from '@infergraph/protocol';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config/gateway.config';
import { browserSessionClearCookie, DASHBOARD_SECURITY_HEADERS, DashboardAssets, signInPage } from '@infergraph/dashboard';
import { UI_SESSION_COOKIE, hasUiSession, uiSessionSetCookie } from './ui-session';

/** Files a browser may fetch before signing in (the sign-in page's stylesheet). */
const PUBLIC_ASSETS = new Set(['app.css']);

/**
 * The web dashboard at `/ui`: static pages and browser modules (built into dist/apps/gateway/ui), behind
 * the operator endpoints' authentication. With OPS_TOKEN set, a browser signs in once at `/ui/login` and
 * carries an HttpOnly session cookie, which OpsAuthGuard accepts for the data endpoints too.
 */
@Controller('ui')
export class UiController {
  private readonly assets = new DashboardAssets(path.resolve(__dirname, '..', '..', 'ui'));

  constructor(@Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig) {}

  @Get()
  async index(@Req() req: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    if (!this.signedIn(req)) return void (await secure(reply).redirect('/ui/login', 303));
    await this.sendAsset(reply, 'index.html');
  }

  @Get('login')
  async login(@Res() reply: FastifyReply): Promise<void> {
    if (this.config.opsToken === undefined) return void (await secure(reply).redirect('/ui', 303));
    await secure(reply).type('text/html; charset=utf-8').send(signInPage('infergraph gateway', 'Operator token (OPS_TOKEN)', undefined));
  }

  @Post('login')
  async signIn(@Body() body: unknown, @Res() reply: FastifyReply): Promise<void> {
    const token = this.config.opsToken;
    if (token === undefined) return void (await secure(reply).redirect('/ui', 303));
    const presented = Buffer.isBuffer(body) ? new URLSearchParams(body.toString('utf8')).get('token') ?? '' : '';
    if (!bearerMatches(`Bearer ${presented}`, [token])) {
      await secure(reply).status(401).type('text/html; charset=utf-8').send(signInPage('infergraph gateway', 'Operator token (OPS_TOKEN)', 'That is not the operator token (OPS_TOKEN).'));
      return;
    }
    await secure(reply).header('set-cookie', uiSessionSetCookie(token, this.config.tls !== undefined)).redirect('/ui', 303);
  }

  @Post('logout')
  async signOut(@Res() reply: FastifyReply): Promise<void> {
    await secure(reply).header('set-cookie', browserSessionClearCookie(UI_SESSION_COOKIE, this.config.tls !== undefined)).redirect('/ui/login', 303);
  }

  @Get('assets/:file')
  async asset(@Param('file') file: string, @Req() req: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    if (!PUBLIC_ASSETS.has(file) && !this.signedIn(req)) {
      await secure(reply).status(401).type('text/plain; charset=utf-8').send('sign in at /ui/login first');
      return;
    }
    await this.sendAsset(reply, file);
  }

  private async sendAsset(reply: FastifyReply, name: string): Promise<void> {
    const asset = this.assets.get(name);
    if (asset === undefined) throw new NotFoundException(`no dashboard file "${name}"${this.assets.names().length === 0 ? ` (the build puts them in ${this.assets.dir})` : ''}`);
    await secure(reply).type(asset.type).send(asset.body);
  }

  private signedIn(req: FastifyRequest): boolean {
    const token = this.config.opsToken;
    return token === undefined || bearerMatches(req.headers.authorization, [token]) || hasUiSession(req.headers.cookie, token);
  }
}

function secure(reply: FastifyReply): FastifyReply {
  return reply.headers(DASHBOARD_SECURITY_HEADERS);
}
