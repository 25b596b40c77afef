import { MIN_SECRET_LENGTH, matchingSecrets, parseSecretLines, secretDigestOf } from '@infergraph/protocol';

export { bearerTokenOf } from '@infergraph/protocol';

/** `read`: the GET endpoints (status, graphs, metrics); `admin`: everything. */
export type AdminScope = 'read' | 'admin';

/** One accepted bearer token, kept as its SHA-256 digest only: the token itself is never held or logged. */
export interface AdminTokenDigest {
  readonly scope: AdminScope;
  readonly digest: Buffer;
  /** Where it was configured (`ADMIN_TOKEN`, `ADMIN_TOKENS_FILE line 3`), for messages; never the token. */
  readonly origin: string;
}

/** Shorter tokens are refused at start-up: a guessable secret on an open port is no protection. */
export const MIN_ADMIN_TOKEN_LENGTH = MIN_SECRET_LENGTH;

const SCOPED = /^(admin|read):(.*)$/;

/** A token as configured, or the problem with it (which names the origin, never the token). */
export function adminTokenOf(token: string, scope: AdminScope, origin: string): AdminTokenDigest | { problem: string } {
  const secret = secretDigestOf(token, scope, origin);
  return 'problem' in secret ? secret : { scope, digest: secret.digest, origin };
}

/**
 * The tokens of an ADMIN_TOKENS_FILE: one per line, `admin:` or `read:` in front to choose the scope (none:
 * admin); blank lines and `#` comments are skipped. Every bad line is reported, by number.
 */
export function parseAdminTokensFile(text: string, origin = 'ADMIN_TOKENS_FILE'): { tokens: AdminTokenDigest[]; problems: string[] } {
  const { entries, problems } = parseSecretLines(text, origin, 'token', (line, where) => {
    const scoped = SCOPED.exec(line);
    if (scoped === null && /^[A-Za-z]+:/.test(line)) return { problem: `${where}: unknown scope "${line.slice(0, line.indexOf(':'))}" (expected admin: or read:)` };
    return adminTokenOf(scoped?.[2] ?? line, scoped?.[1] === 'read' ? 'read' : 'admin', where);
  });
  return { tokens: entries, problems };
}

/**
 * Matches a presented bearer token against every configured one in constant time: both sides are hashed
 * (so lengths do not leak) and every digest is compared, whichever matches. Returns the widest scope.
 */
export function matchAdminToken(presented: string, tokens: readonly AdminTokenDigest[]): AdminScope | undefined {
  const matched = matchingSecrets(presented, tokens);
  if (matched.length === 0) return undefined;
  return matched.some((t) => t.scope === 'admin') ? 'admin' : 'read';
}

/**
 * The scope a request needs: none for the liveness probe, `read` to look (GET and HEAD), `admin` to change
 * anything. `route` is the matched route pattern, not the raw URL.
 */
export function requiredAdminScope(method: string, route: string): AdminScope | undefined {
  if (route === '/healthz' || route === '/healthz/ready') return undefined;
  // The cluster dashboard's pages and sign-in check for themselves (a page redirects to /ui/login instead of a 401).
  if (route === '/ui' || route.startsWith('/ui/')) return undefined;
  return method === 'GET' || method === 'HEAD' ? 'read' : 'admin';
}

export function allows(granted: AdminScope, needed: AdminScope): boolean {
  return granted === 'admin' || needed === 'read';
}

