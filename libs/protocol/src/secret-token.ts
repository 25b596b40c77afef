import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * One accepted shared secret (an admin API token, a cluster join token), kept as its SHA-256 digest only:
 * the secret itself is never held or logged.
 */
export interface SecretDigest {
  /** Who holds it: the identity a caller presenting it gets (e.g. `workers`, `gateway-eu`). */
  readonly name: string;
  readonly digest: Buffer;
  /** Where it was configured (`CLUSTER_TOKEN`, `CLUSTER_TOKENS_FILE line 3`), for messages; never the secret. */
  readonly origin: string;
}

/** Shorter secrets are refused at start-up: a guessable secret on an open port is no protection. */
export const MIN_SECRET_LENGTH = 16;

const sha256 = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();

/** A secret as configured, or the problem with it (which names the origin, never the secret). */
export function secretDigestOf(secret: string, name: string, origin: string): SecretDigest | { problem: string } {
  if (/\s/.test(secret)) return { problem: `${origin}: a token cannot contain whitespace` };
  if (secret.length < MIN_SECRET_LENGTH) return { problem: `${origin}: a token must be at least ${MIN_SECRET_LENGTH} characters (e.g. \`openssl rand -hex 32\`)` };
  return { name, digest: sha256(secret), origin };
}

/**
 * Every configured secret that equals the presented one, compared in constant time: both sides are
 * hashed (so lengths do not leak) and every digest is compared, whichever matches.
 */
export function matchingSecrets<T extends { readonly digest: Buffer }>(presented: string, secrets: readonly T[]): T[] {
  const digest = sha256(presented);
  const matches: T[] = [];
  for (const secret of secrets) if (timingSafeEqual(digest, secret.digest)) matches.push(secret);
  return matches;
}

const NAMED = /^([A-Za-z0-9][A-Za-z0-9._-]*):(.*)$/;

/**
 * A file of named secrets, one per line as `<name>:<secret>` (the name is the identity of whoever holds
 * it); a line without a name is named after its line number. Blank lines and `#` comments are skipped;
 * every bad line is reported by number, without its secret.
 */
export function parseNamedSecrets(text: string, origin: string): { secrets: SecretDigest[]; problems: string[] } {
  const secrets: SecretDigest[] = [];
  const problems: string[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const where = `${origin} line ${i + 1}`;
    const named = NAMED.exec(line);
    const secret = secretDigestOf(named?.[2] ?? line, named?.[1] ?? `line-${i + 1}`, where);
    if ('problem' in secret) problems.push(secret.problem);
    else secrets.push(secret);
  });
  if (secrets.length === 0 && problems.length === 0) problems.push(`${origin}: the file lists no token`);
  return { secrets, problems };
}

/** The token of an `Authorization: Bearer <token>` header, or undefined. */
export function bearerTokenOf(authorization: string | undefined): string | undefined {
  const match = /^Bearer[ ]+(\S+)\s*$/i.exec(authorization ?? '');
  return match?.[1];
}

/**
 * Request headers the gateway sets after authenticating a predict call (and strips from what a client
 * sends, so they cannot be forged): the subject and how it was proven (`api-key` or `jwt`). Router
 * conditions read them as `auth.subject` and `auth.method`; request logs carry the subject.
 */
export const SUBJECT_HEADER = 'x-infergraph-subject';
export const AUTH_METHOD_HEADER = 'x-infergraph-auth';
