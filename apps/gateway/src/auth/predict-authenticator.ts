import { createHash } from 'node:crypto';
import { createLocalJWKSet, createRemoteJWKSet, errors, jwtVerify, type JWTVerifyGetKey } from 'jose';
import { AUTH_METHOD_HEADER, InferenceError, SUBJECT_HEADER, bearerTokenOf, matchingSecrets } from '@infergraph/protocol';
import type { GraphSpec } from '@infergraph/spec';

/** One accepted API key: its SHA-256 digest (keys are stored hashed) and the subject it authenticates. */
export interface ApiKeyEntry {
  readonly name: string;
  readonly digest: Buffer;
  readonly origin: string;
}

export interface JwtSettings {
  /** A JWKS document (PREDICT_JWKS_FILE) or its URL (PREDICT_JWKS_URL, fetched and cached by jose). */
  readonly jwks: { readonly document: unknown } | { readonly url: string };
  readonly issuer: string;
  readonly audience: string;
  readonly clockSkewSeconds: number;
  readonly subjectClaim: string;
}

export interface PredictAuthSettings {
  readonly apiKeys: readonly ApiKeyEntry[];
  readonly jwt: JwtSettings | undefined;
}

export interface Principal {
  readonly subject: string;
  readonly method: 'api-key' | 'jwt';
}

type GraphAuth = GraphSpec['spec']['auth'];

const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;
const REALM = 'Bearer realm="infergraph"';

/**
 * Authenticates predict calls of graphs with `spec.auth`: an API key (`x-api-key`, or a bearer token that is
 * not a JWT) matched against hashed keys in constant time, or a JWT verified against the JWKS (signature,
 * issuer, audience, expiry and not-before with the configured clock skew). Graphs without `spec.auth` are
 * open and cost nothing here. Failures are InferenceErrors (401 with a WWW-Authenticate challenge, 403 for a
 * subject the graph does not list) whose messages say what was wrong, never the credential.
 */
export class PredictAuthenticator {
  private readonly keySet: JWTVerifyGetKey | undefined;

  constructor(private readonly settings: PredictAuthSettings) {
    const jwt = settings.jwt;
    if (jwt === undefined) this.keySet = undefined;
    else if ('url' in jwt.jwks) this.keySet = createRemoteJWKSet(new URL(jwt.jwks.url), { timeoutDuration: 5000, cooldownDuration: 30_000, cacheMaxAge: 600_000 });
    else this.keySet = createLocalJWKSet(jwt.jwks.document as Parameters<typeof createLocalJWKSet>[0]);
  }

  /** Whether any credential can be checked at all (a graph requiring auth on a gateway with none is closed). */
  get configured(): boolean {
    return this.settings.apiKeys.length > 0 || this.keySet !== undefined;
  }

  /**
   * The caller of a graph's predict, or undefined when the graph is open (or auth is optional and no
   * credential came). Throws UNAUTHENTICATED or PERMISSION_DENIED.
   */
  async authenticate(graph: string, auth: GraphAuth, headers: Readonly<Record<string, string | string[] | undefined>>): Promise<Principal | undefined> {
    if (auth === undefined) return undefined;
    const apiKey = single(headers['x-api-key']);
    const bearer = bearerTokenOf(single(headers['authorization']));
    let principal: Principal | undefined;
    if (apiKey !== undefined) principal = this.byApiKey(graph, apiKey);
    else if (bearer !== undefined) principal = JWT_SHAPE.test(bearer) && this.keySet !== undefined ? await this.byJwt(graph, bearer) : this.byApiKey(graph, bearer);
    else if (auth.required) {
      const how = [this.settings.apiKeys.length > 0 ? 'an API key (x-api-key header)' : '', this.keySet !== undefined ? 'a JWT (Authorization: Bearer)' : ''].filter((x) => x !== '');
      throw unauthenticated(
        how.length === 0
          ? `graph "${graph}" requires authentication, but this gateway accepts no credentials (set PREDICT_API_KEYS_FILE or PREDICT_JWKS_FILE/PREDICT_JWKS_URL)`
          : `graph "${graph}" requires ${how.join(' or ')}`,
        undefined,
      );
    }
    if (principal !== undefined && auth.subjects !== undefined && !auth.subjects.includes(principal.subject)) {
      throw new InferenceError('PERMISSION_DENIED', `subject "${principal.subject}" may not call graph "${graph}" (spec.auth.subjects)`);
    }
    return principal;
  }

  private byApiKey(graph: string, key: string): Principal {
    const matched = matchingSecrets(key, this.settings.apiKeys)[0];
    if (matched === undefined) throw unauthenticated(`graph "${graph}": the API key is not valid`, 'invalid_token');
    return { subject: matched.name, method: 'api-key' };
  }

  private async byJwt(graph: string, token: string): Promise<Principal> {
    const jwt = this.settings.jwt as JwtSettings;
    try {
      const { payload } = await jwtVerify(token, this.keySet as JWTVerifyGetKey, { issuer: jwt.issuer, audience: jwt.audience, clockTolerance: jwt.clockSkewSeconds, requiredClaims: ['exp'] });
      const subject = payload[jwt.subjectClaim];
      if (typeof subject !== 'string' || subject === '') throw unauthenticated(`graph "${graph}": the JWT has no "${jwt.subjectClaim}" claim naming its subject`, 'invalid_token');
      return { subject, method: 'jwt' };
    } catch (err) {
      if (err instanceof InferenceError) throw err;
      throw unauthenticated(`graph "${graph}": the JWT was refused: ${jwtProblem(err)}`, 'invalid_token');
    }
  }
}

/**
 * The headers a request is served with: the client's, minus any it sent in the gateway's own auth headers,
 * plus the authenticated subject and method. Returns `headers` itself when there is nothing to change.
 */
export function withPrincipal(headers: Readonly<Record<string, string>>, principal: Principal | undefined): Readonly<Record<string, string>> {
  if (principal === undefined && !Object.hasOwn(headers, SUBJECT_HEADER) && !Object.hasOwn(headers, AUTH_METHOD_HEADER)) return headers;
  const out: Record<string, string> = { ...headers };
  delete out[SUBJECT_HEADER];
  delete out[AUTH_METHOD_HEADER];
  if (principal !== undefined) {
    out[SUBJECT_HEADER] = principal.subject;
    out[AUTH_METHOD_HEADER] = principal.method;
  }
  return out;
}

/** The WWW-Authenticate challenge of a 401 (RFC 6750), from the error's details. */
export function challengeOf(err: unknown): string | undefined {
  if (!(err instanceof InferenceError) || err.code !== 'UNAUTHENTICATED') return undefined;
  const error = err.details?.['reason'];
  return typeof error === 'string' ? `${REALM}, error="${error}"` : REALM;
}

/** SHA-256 of an API key, as PREDICT_API_KEYS_FILE stores it. */
export function apiKeyDigest(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

function unauthenticated(message: string, error: 'invalid_token' | undefined): InferenceError {
  return new InferenceError('UNAUTHENTICATED', message, error === undefined ? undefined : { details: { reason: error } });
}

function jwtProblem(err: unknown): string {
  if (err instanceof errors.JWTExpired) return 'it has expired';
  if (err instanceof errors.JWTClaimValidationFailed) return `claim "${err.claim}" is not valid (${err.reason})`;
  if (err instanceof errors.JWSSignatureVerificationFailed) return 'its signature does not verify';
  if (err instanceof errors.JWKSNoMatchingKey) return 'no key of the JWKS matches it';
  if (err instanceof errors.JOSEAlgNotAllowed || err instanceof errors.JOSENotSupported) return 'its algorithm is not accepted';
  if (err instanceof errors.JWKSTimeout) return 'the JWKS could not be fetched in time';
  if (err instanceof errors.JOSEError) return `it is malformed (${err.code})`;
  return 'it could not be verified';
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
