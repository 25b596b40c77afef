import { matchingSecrets } from '@infergraph/protocol';
import { browserSessionMatches, browserSessionSetCookie, browserSessionValue } from '@infergraph/dashboard';
import type { AdminTokenDigest } from '../admin-tokens';

/** The cluster dashboard's session cookie (named apart from the gateway's: cookies ignore ports). */
export const CLUSTER_SESSION_COOKIE = 'infergraph_controller_session';
/** A browser session only ever reads, whatever the token's scope: a cookie rides along with every request. */
const LABEL = 'controller-read';

/** The scope a request's session cookie grants (`read`), or undefined. */
export function sessionScopeOf(cookieHeader: string | undefined, tokens: readonly AdminTokenDigest[]): 'read' | undefined {
  return browserSessionMatches(cookieHeader, CLUSTER_SESSION_COOKIE, tokens, LABEL).length > 0 ? 'read' : undefined;
}

/** `Set-Cookie` for a presented admin token of either scope, or undefined when it is none of them. */
export function sessionCookieFor(presented: string, tokens: readonly AdminTokenDigest[], secure: boolean): string | undefined {
  // The first matching token in configuration order (one hash of the presented token, not one per token).
  const token = matchingSecrets(presented, tokens)[0];
  return token === undefined ? undefined : browserSessionSetCookie(CLUSTER_SESSION_COOKIE, browserSessionValue(token, LABEL), secure);
}
