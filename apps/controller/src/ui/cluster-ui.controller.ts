import { Body, Controller, Get, Inject, NotFoundException, Param, Post, Req, Res } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import path from 'node:path';
import { browserSessionClearCookie, DASHBOARD_SECURITY_HEADERS, DashboardAssets, signInPage } from '@infergraph/dashboard';
import { bearerMatches } from '@infergraph/protocol';
import { CONTROLLER_CONFIG, type ControllerConfig } from '../controller.config';
import { CLUSTER_SESSION_COOKIE, sessionCookieFor, sessionScopeOf } from './cluster-session';

const PUBLIC_ASSETS = new Set(['app.css']);
const TITLE = 'infergraph controller';
const TOKEN_NAME = 'Admin token (ADMIN_TOKEN, ADMIN_READ_TOKEN or ADMIN_TOKENS_FILE)';

/**
 * The cluster dashboard at `/ui` on the admin port. AdminAuthGuard leaves these routes to this controller
 * (a page redirects to the sign-in form rather than answering 401); the data it reads, `/v1/cluster`, stays
 * behind the guard, which accepts the session cookie for reads.
 */
@Controller('ui')
export class ClusterUiController {
  private readonly assets = new DashboardAssets(path.resolve(__dirname, '..', '..', 'ui'));

  constructor(@Inject(CONTROLLER_CONFIG) private readonly config: ControllerConfig) {}

  @Get()
  async index(@Req() req: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    if (!this.signedIn(req)) return void (await secure(reply).redirect('/ui/login', 303));
    await this.send(reply, 'index.html');
  }

  @Get('login')
  async login(@Res() reply: FastifyReply): Promise<void> {
    if (this.config.adminTokens.length === 0) return void (await secure(reply).redirect('/ui', 303));
    await secure(reply).type('text/html; charset=utf-8').send(signInPage(TITLE, TOKEN_NAME, undefined));
  }

  @Post('login')
  async signIn(@Body() body: unknown, @Res() reply: FastifyReply): Promise<void> {
    if (this.config.adminTokens.length === 0) return void (await secure(reply).redirect('/ui', 303));
    const presented = Buffer.isBuffer(body) ? (new URLSearchParams(body.toString('utf8')).get('token') ?? '') : '';
    const cookie = sessionCookieFor(presented, this.config.adminTokens, false);
    if (cookie === undefined) {
      await secure(reply).status(401).type('text/html; charset=utf-8').send(signInPage(TITLE, TOKEN_NAME, 'That is not one of the controller\'s admin tokens.'));
      return;
    }
    await secure(reply).header('set-cookie', cookie).redirect('/ui', 303);
  }

  @Post('logout')
  async signOut(@Res() reply: FastifyReply): Promise<void> {
    await secure(reply).header('set-cookie', browserSessionClearCookie(CLUSTER_SESSION_COOKIE, false)).redirect('/ui/login', 303);
  }

  @Get('assets/:file')
  async asset(@Param('file') file: string, @Req() req: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    if (!PUBLIC_ASSETS.has(file) && !this.signedIn(req)) {
      await secure(reply).status(401).type('text/plain; charset=utf-8').send('sign in at /ui/login first');
      return;
    }
    await this.send(reply, file);
  }

  private async send(reply: FastifyReply, name: string): Promise<void> {
    const asset = this.assets.get(name);
    if (asset === undefined) throw new NotFoundException(`no dashboard file "${name}"`);
    await secure(reply).type(asset.type).send(asset.body);
  }

  private signedIn(req: FastifyRequest): boolean {
    const tokens = this.config.adminTokens;
    if (tokens.length === 0) return true;
    return bearerMatches(req.headers.authorization, tokens) || sessionScopeOf(req.headers.cookie, tokens) !== undefined;
  }
}

function secure(reply: FastifyReply): FastifyReply {
  return reply.headers(DASHBOARD_SECURITY_HEADERS);
}
