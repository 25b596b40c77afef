import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

/**
 * A dashboard's static files, as the build copied them next to the compiled app (dist/apps/<app>/ui):
 * only names listed when the process started can be served, so no request path reaches the file system.
 */
export class DashboardAssets {
  private readonly files = new Map<string, { readonly file: string; readonly type: string; body?: Buffer }>();

  constructor(readonly dir: string) {
    if (!existsSync(dir)) return;
    const walk = (sub: string): void => {
      for (const name of readdirSync(path.join(dir, sub))) {
        const rel = sub === '' ? name : `${sub}/${name}`;
        if (statSync(path.join(dir, rel)).isDirectory()) walk(rel);
        else {
          const type = CONTENT_TYPES[path.extname(name)];
          if (type !== undefined) this.files.set(rel, { file: path.join(dir, rel), type });
        }
      }
    };
    walk('');
  }

  /** The file's bytes (read on first use, then kept: dist does not change under a running process) and content type, or undefined for a name not shipped. */
  get(name: string): { readonly body: Buffer; readonly type: string } | undefined {
    const entry = this.files.get(name);
    if (entry === undefined) return undefined;
    entry.body ??= readFileSync(entry.file);
    return { body: entry.body, type: entry.type };
  }

  names(): string[] {
    return [...this.files.keys()];
  }
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

/**
 * Headers of every dashboard response: scripts and styles only from this origin (no inline script, no
 * eval), no framing, no MIME sniffing, no referrer leaving the page.
 */
export const DASHBOARD_SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cache-control': 'no-store',
};

/** The sign-in page (no script): a form posting the token to /ui/login; `failed` adds the reason. */
export function signInPage(title: string, tokenName: string, failed: string | undefined): string {
  const message = failed === undefined ? '' : `<p class="error" role="alert">${escapeHtml(failed)}</p>`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}: sign in</title><link rel="icon" href="data:,"><link rel="stylesheet" href="/ui/assets/app.css"></head>
<body><main class="login"><h1>${escapeHtml(title)}</h1>${message}
<form method="post" action="/ui/login"><label for="token">${escapeHtml(tokenName)}</label>
<input id="token" name="token" type="password" autocomplete="current-password" required>
<button type="submit">Sign in</button></form></main></body></html>`;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
