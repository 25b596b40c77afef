import { createHmac, timingSafeEqual } from 'node:crypto';
import type { SecretDigest } from '@infergraph/protocol';

/** The dashboard's session cookie: a browser cannot add `Authorization` to page loads or EventSource. */
export const UI_SESSION_COOKIE = 'infergraph_ops';

/**
 * The cookie value for a signed-in browser: an HMAC keyed by OPS_TOKEN's digest, so the token itself never
 * sits in the cookie and a changed OPS_TOKEN ends every session.
 */
export function uiSessionValue(token: SecretDigest): string {
  return createHmac('sha256', token.digest).update('infergraph-ui-session-v1').digest('base64url');
}

/** Whether a `Cookie` header carries a session for this token. */
export function hasUiSession(cookieHeader: string | undefined, token: SecretDigest): boolean {
  const presented = cookieOf(cookieHeader, UI_SESSION_COOKIE);
  if (presented === undefined) return false;
  const expected = Buffer.from(uiSessionValue(token));
  const given = Buffer.from(presented);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** `Set-Cookie` for a session: HttpOnly (no script reads it), SameSite=Strict (no cross-site request carries it). */
export function uiSessionSetCookie(token: SecretDigest, secure: boolean): string {
  return `${UI_SESSION_COOKIE}=${uiSessionValue(token)}; Path=/; HttpOnly; SameSite=Strict${secure ? '; Secure' : ''}`;
}

export function uiSessionClearCookie(secure: boolean): string {
  return `${UI_SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0${secure ? '; Secure' : ''}`;
}

function cookieOf(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}
