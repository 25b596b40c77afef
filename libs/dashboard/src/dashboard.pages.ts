import { DASHBOARD_SECURITY_HEADERS, signInPage, type DashboardAssets } from './dashboard.assets';

/** One dashboard answer, for an app's HTTP layer to write as it is (security headers included). */
export interface DashboardReply {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string | Buffer;
}

/** How an app's dashboard checks and grants access; every method sees only header values. */
export interface DashboardAccess {
  /** No credential configured: everything is open and the sign-in page redirects to the dashboard. */
  readonly open: boolean;
  /** Whether a request with these headers may see the dashboard (a bearer token or a session cookie). */
  signedIn(authorization: string | undefined, cookie: string | undefined): boolean;
  /** The `Set-Cookie` of a session for a presented token, or undefined when the token is not accepted. */
  sessionFor(presented: string): string | undefined;
  /** The `Set-Cookie` that ends the session. */
  clearSession(): string;
}

export interface DashboardText {
  /** The page title ("infergraph gateway"). */
  readonly title: string;
  /** What the token field asks for, naming the setting. */
  readonly tokenName: string;
  /** Said when a presented token is refused. */
  readonly refused: string;
}

/** Files a browser may fetch before signing in (the sign-in page's stylesheet). */
const PUBLIC_ASSETS = new Set(['app.css']);
const HTML = 'text/html; charset=utf-8';

/**
 * The routes every dashboard has (`/ui`, `/ui/login` GET and POST, `/ui/logout`, `/ui/assets/:file`) as
 * framework-free answers: the gateway and the controller differ only in their `DashboardAccess` and text.
 */
export class DashboardPages {
  constructor(
    private readonly assets: DashboardAssets,
    private readonly access: DashboardAccess,
    private readonly text: DashboardText,
  ) {}

  index(authorization: string | undefined, cookie: string | undefined): DashboardReply {
    return this.access.signedIn(authorization, cookie) ? this.asset('index.html') : redirect('/ui/login');
  }

  loginPage(): DashboardReply {
    return this.access.open ? redirect('/ui') : page(200, signInPage(this.text.title, this.text.tokenName, undefined));
  }

  /** A posted sign-in form (`token=…`, URL-encoded, as raw bytes). */
  signIn(body: unknown): DashboardReply {
    if (this.access.open) return redirect('/ui');
    const presented = Buffer.isBuffer(body) ? (new URLSearchParams(body.toString('utf8')).get('token') ?? '') : '';
    const cookie = this.access.sessionFor(presented);
    if (cookie === undefined) return page(401, signInPage(this.text.title, this.text.tokenName, this.text.refused));
    return redirect('/ui', { 'set-cookie': cookie });
  }

  signOut(): DashboardReply {
    return redirect('/ui/login', { 'set-cookie': this.access.clearSession() });
  }

  file(name: string, authorization: string | undefined, cookie: string | undefined): DashboardReply {
    if (!PUBLIC_ASSETS.has(name) && !this.access.signedIn(authorization, cookie)) {
      return { status: 401, headers: { ...DASHBOARD_SECURITY_HEADERS, 'content-type': 'text/plain; charset=utf-8' }, body: 'sign in at /ui/login first' };
    }
    return this.asset(name);
  }

  private asset(name: string): DashboardReply {
    const asset = this.assets.get(name);
    if (asset === undefined) {
      const hint = this.assets.names().length === 0 ? ` (the build puts them in ${this.assets.dir})` : '';
      return { status: 404, headers: { ...DASHBOARD_SECURITY_HEADERS, 'content-type': 'application/json; charset=utf-8' }, body: JSON.stringify({ error: `no dashboard file "${name}"${hint}` }) };
    }
    return { status: 200, headers: { ...DASHBOARD_SECURITY_HEADERS, 'content-type': asset.type }, body: asset.body };
  }
}

function redirect(location: string, extra: Record<string, string> = {}): DashboardReply {
  return { status: 303, headers: { ...DASHBOARD_SECURITY_HEADERS, ...extra, location } };
}

function page(status: number, html: string): DashboardReply {
  return { status, headers: { ...DASHBOARD_SECURITY_HEADERS, 'content-type': HTML }, body: html };
}
