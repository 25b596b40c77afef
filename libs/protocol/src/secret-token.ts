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

/**
 * The entries of a secrets file, one per line (`#` comments and blank lines skipped), each read by `parse`
 * or reported by `origin line N`; a file with no entry at all is a problem too (`noun`: what it should list).
 */
export function parseSecretLines<T>(text: string, origin: string, noun: string, parse: (line: string, where: string, index: number) => T | { problem: string }): { entries: T[]; problems: string[] } {
  const entries: T[] = [];
  const problems: string[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const entry = parse(line, `${origin} line ${i + 1}`, i);
    if (typeof entry === 'object' && entry !== null && 'problem' in entry) problems.push(entry.problem);
    else entries.push(entry);
  });
  if (entries.length === 0 && problems.length === 0) problems.push(`${origin}: the file lists no ${noun}`);
  return { entries, problems };
}

const NAMED = /^([A-Za-z0-9][A-Za-z0-9._-]*):(.*)$/;

/**
 * A file of named secrets, one per line as `<name>:<secret>` (the name is the identity of whoever holds
 * it); a line without a name is named after its line number. Every bad line is reported by number,
 * without its secret.
 */
export function parseNamedSecrets(text: string, origin: string): { secrets: SecretDigest[]; problems: string[] } {
  const { entries, problems } = parseSecretLines(text, origin, 'token', (line, where, i) => {
    const named = NAMED.exec(line);
    return secretDigestOf(named?.[2] ?? line, named?.[1] ?? `line-${i + 1}`, where);
  });
  return { secrets: entries, problems };
}

/** One secret from an environment variable (trimmed; unset or empty: none), or the problem with it. */
export function secretFromEnv(env: NodeJS.ProcessEnv, variable: string, name: string): { secret: SecretDigest | undefined } | { problem: string } {
  const value = env[variable]?.trim() ?? '';
  if (value === '') return { secret: undefined };
  const secret = secretDigestOf(value, name, variable);
  return 'problem' in secret ? secret : { secret };
}

/** Whether an `Authorization: Bearer <token>` header carries one of `secrets` (constant time). */
export function bearerMatches(authorization: string | undefined, secrets: readonly { readonly digest: Buffer }[]): boolean {
  const presented = bearerTokenOf(authorization);
  return presented !== undefined && matchingSecrets(presented, secrets).length > 0;
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
