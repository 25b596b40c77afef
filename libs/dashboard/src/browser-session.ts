import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Sign-in sessions of the web dashboards: a browser cannot add `Authorization` to page loads or to an
 * EventSource, so after it posts a token once it carries a cookie instead. The value is an HMAC keyed by
 * the token's digest (the token never sits in the cookie; a changed token ends every session), over a
 * label naming what the session grants.
 */
export function browserSessionValue(secret: { readonly digest: Buffer }, label: string): string {
  return createHmac('sha256', secret.digest).update(`infergraph-browser-session-v1:${label}`).digest('base64url');
}

/** The secrets whose session for `label` the `Cookie` header carries under `cookie`. */
export function browserSessionMatches<T extends { readonly digest: Buffer }>(cookieHeader: string | undefined, cookie: string, secrets: readonly T[], label: string): T[] {
  const presented = cookieValueOf(cookieHeader, cookie);
  if (presented === undefined) return [];
  const given = Buffer.from(presented);
  return secrets.filter((s) => {
    const expected = Buffer.from(browserSessionValue(s, label));
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
}

/** `Set-Cookie` for a session: HttpOnly (no script reads it), SameSite=Strict (no cross-site request carries it). */
export function browserSessionSetCookie(cookie: string, value: string, secure: boolean): string {
  return `${cookie}=${value}; Path=/; HttpOnly; SameSite=Strict${secure ? '; Secure' : ''}`;
}

export function browserSessionClearCookie(cookie: string, secure: boolean): string {
  return browserSessionSetCookie(cookie, '', secure) + '; Max-Age=0';
}

function cookieValueOf(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}
