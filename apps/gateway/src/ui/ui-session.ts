import type { SecretDigest } from '@infergraph/protocol';
import { browserSessionMatches, browserSessionSetCookie, browserSessionValue } from '@infergraph/dashboard';

/** The gateway dashboard's session cookie (a controller on the same host has its own name: cookies ignore ports). */
export const UI_SESSION_COOKIE = 'infergraph_gateway_session';
const LABEL = 'gateway-ops';

/** Whether a `Cookie` header carries a session for OPS_TOKEN. */
export function hasUiSession(cookieHeader: string | undefined, token: SecretDigest): boolean {
  return browserSessionMatches(cookieHeader, UI_SESSION_COOKIE, [token], LABEL).length > 0;
}

export function uiSessionSetCookie(token: SecretDigest, secure: boolean): string {
  return browserSessionSetCookie(UI_SESSION_COOKIE, browserSessionValue(token, LABEL), secure);
}
