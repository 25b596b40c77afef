import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Metadata, ServerCredentials, credentials, status, type ChannelCredentials } from '@grpc/grpc-js';
import { bearerTokenOf, matchingSecrets, parseNamedSecrets, secretDigestOf, secretFromEnv, type SecretDigest } from '@infergraph/protocol';

/** PEM files of mutual TLS on the control plane: the cluster CA, and this component's certificate and key. */
export interface ControlTls {
  readonly ca: Buffer;
  readonly cert: Buffer;
  readonly key: Buffer;
}

/**
 * How the controller checks who calls its control plane. Join tokens and client certificates may be used
 * alone or together (then both are required). With neither, every caller is `anonymous`, which the
 * controller allows on a loopback address only.
 */
export interface ControlServerSecurity {
  readonly tokens: readonly SecretDigest[];
  readonly tls: ControlTls | undefined;
}

/** What a worker or gateway presents to the controller. */
export interface ControlClientSecurity {
  readonly token: string | undefined;
  readonly tls: ControlTls | undefined;
}

export const OPEN_CONTROL_SERVER: ControlServerSecurity = Object.freeze({ tokens: Object.freeze([]), tls: undefined });
export const OPEN_CONTROL_CLIENT: ControlClientSecurity = Object.freeze({ token: undefined, tls: undefined });

/** Who a control-plane caller is, or why it is refused (a gRPC status and a message for it and the log). */
/** What grpc-js tells a server call about its TLS peer (`call.getAuthContext()`). */
export interface ControlPeer {
  readonly sslPeerCertificate?: { readonly subject?: { readonly CN?: string | string[] } };
}

export type ControlCaller = { readonly identity: string } | { readonly refused: { readonly code: number; readonly details: string } };

/**
 * The identity of a caller: `cert:<subject CN>` with mutual TLS (the handshake already proved the
 * certificate is signed by the cluster CA), `token:<name>` with a join token, both joined with `+` when
 * both are configured, `anonymous` when neither is.
 */
export function identifyControlCaller(security: ControlServerSecurity, metadata: Metadata, auth: ControlPeer): ControlCaller {
  const parts: string[] = [];
  if (security.tls !== undefined) {
    const cn = auth.sslPeerCertificate?.subject?.CN;
    const name = Array.isArray(cn) ? cn[0] : cn;
    if (name === undefined || name === '') return refuse(status.UNAUTHENTICATED, 'the control plane needs a client certificate with a subject CN, signed by the cluster CA');
    parts.push(`cert:${name}`);
  }
  if (security.tokens.length > 0) {
    const header = metadata.get('authorization')[0];
    const presented = bearerTokenOf(typeof header === 'string' ? header : undefined);
    if (presented === undefined) return refuse(status.UNAUTHENTICATED, 'the control plane needs a join token (authorization: Bearer <CLUSTER_TOKEN>)');
    const matched = matchingSecrets(presented, security.tokens)[0];
    if (matched === undefined) return refuse(status.UNAUTHENTICATED, 'the join token is not one the controller accepts');
    parts.push(`token:${matched.name}`);
  }
  return { identity: parts.length === 0 ? 'anonymous' : parts.join('+') };
}

function refuse(code: number, details: string): ControlCaller {
  return { refused: { code, details } };
}

export function controlServerCredentials(security: ControlServerSecurity): ServerCredentials {
  const tls = security.tls;
  if (tls === undefined) return ServerCredentials.createInsecure();
  return ServerCredentials.createSsl(tls.ca, [{ cert_chain: tls.cert, private_key: tls.key }], true);
}

export function controlChannelCredentials(security: ControlClientSecurity): ChannelCredentials {
  return mutualTlsChannelCredentials(security.tls);
}

/** A client channel presenting `tls.cert` and trusting only `tls.ca`; plain text without `tls`. */
export function mutualTlsChannelCredentials(tls: ControlTls | undefined): ChannelCredentials {
  return tls === undefined ? credentials.createInsecure() : credentials.createSsl(tls.ca, tls.key, tls.cert);
}

/** The metadata every control-plane call carries: the join token, if any. */
export function controlCallMetadata(security: ControlClientSecurity): Metadata {
  const metadata = new Metadata();
  if (security.token !== undefined) metadata.set('authorization', `Bearer ${security.token}`);
  return metadata;
}

/**
 * The controller's side from its environment: CLUSTER_TOKEN (one accepted token, named `cluster`),
 * CLUSTER_TOKENS_FILE (`<name>:<token>` per line, for several holders and rotation) and CONTROL_TLS_CA,
 * CONTROL_TLS_CERT, CONTROL_TLS_KEY. Every problem is returned, none quotes a secret.
 */
export function controlServerSecurityFrom(env: NodeJS.ProcessEnv, cwd: string): { security: ControlServerSecurity; problems: string[] } {
  const problems: string[] = [];
  const tokens: SecretDigest[] = [];
  const single = secretFromEnv(env, 'CLUSTER_TOKEN', 'cluster');
  if ('problem' in single) problems.push(single.problem);
  else if (single.secret !== undefined) tokens.push(single.secret);
  const file = env['CLUSTER_TOKENS_FILE']?.trim() ?? '';
  if (file !== '') {
    const origin = `CLUSTER_TOKENS_FILE=${JSON.stringify(file)}`;
    const text = readText(file, cwd, origin, problems);
    if (text !== undefined) {
      const parsed = parseNamedSecrets(text, origin);
      tokens.push(...parsed.secrets);
      problems.push(...parsed.problems);
    }
  }
  const tls = controlTlsFrom(env, cwd, problems);
  return { security: Object.freeze({ tokens: Object.freeze(tokens), tls }), problems };
}

/** A worker's or gateway's side: CLUSTER_TOKEN or CLUSTER_TOKEN_FILE, and the same CONTROL_TLS_* files. */
export function controlClientSecurityFrom(env: NodeJS.ProcessEnv, cwd: string): { security: ControlClientSecurity; problems: string[] } {
  const problems: string[] = [];
  let token = env['CLUSTER_TOKEN']?.trim() ?? '';
  const file = env['CLUSTER_TOKEN_FILE']?.trim() ?? '';
  if (token !== '' && file !== '') problems.push('CLUSTER_TOKEN and CLUSTER_TOKEN_FILE are both set: choose one');
  else if (file !== '') token = readText(file, cwd, `CLUSTER_TOKEN_FILE=${JSON.stringify(file)}`, problems)?.trim() ?? '';
  if (token !== '') {
    const checked = secretDigestOf(token, 'cluster', file !== '' ? 'CLUSTER_TOKEN_FILE' : 'CLUSTER_TOKEN');
    if ('problem' in checked) problems.push(checked.problem);
  }
  const tls = controlTlsFrom(env, cwd, problems);
  return { security: Object.freeze({ token: token === '' ? undefined : token, tls }), problems };
}

function controlTlsFrom(env: NodeJS.ProcessEnv, cwd: string, problems: string[]): ControlTls | undefined {
  return tlsFilesFrom(env, cwd, 'CONTROL_TLS', problems)?.pem;
}

/** PEM files of mutual TLS, as paths (for reloading) and contents. */
export interface TlsFileSet {
  readonly files: { readonly caFile: string; readonly certFile: string; readonly keyFile: string };
  readonly pem: ControlTls;
}

/**
 * `<prefix>_CA`, `<prefix>_CERT` and `<prefix>_KEY` (all three or none), read and checked to be PEM; every
 * problem is pushed to `problems`. Undefined when none is set.
 */
export function tlsFilesFrom(env: NodeJS.ProcessEnv, cwd: string, prefix: 'CONTROL_TLS' | 'NODE_TLS', problems: string[]): TlsFileSet | undefined {
  const names = [`${prefix}_CA`, `${prefix}_CERT`, `${prefix}_KEY`] as const;
  const set = names.filter((n) => (env[n]?.trim() ?? '') !== '');
  if (set.length === 0) return undefined;
  if (set.length < names.length) {
    problems.push(`${set.join(', ')} set without ${names.filter((n) => !set.includes(n)).join(', ')}: mutual TLS needs all three`);
    return undefined;
  }
  const paths = names.map((n) => path.resolve(cwd, env[n]?.trim() ?? ''));
  const before = problems.length;
  const [ca, cert, key] = names.map((n, i) => {
    const file = env[n]?.trim() ?? '';
    const text = readText(paths[i] as string, cwd, `${n}=${JSON.stringify(file)}`, problems);
    if (text !== undefined && !text.includes('-----BEGIN ')) problems.push(`${n}=${JSON.stringify(file)}: not a PEM file`);
    return Buffer.from(text ?? '', 'utf8');
  });
  if (problems.length > before || ca === undefined || cert === undefined || key === undefined) return undefined;
  return Object.freeze({
    files: Object.freeze({ caFile: paths[0] as string, certFile: paths[1] as string, keyFile: paths[2] as string }),
    pem: Object.freeze({ ca, cert, key }),
  });
}

function readText(file: string, cwd: string, origin: string, problems: string[]): string | undefined {
  try {
    return readFileSync(path.resolve(cwd, file), 'utf8');
  } catch (err) {
    problems.push(`${origin}: cannot read it: ${err instanceof Error ? err.message : String(err)}`);
    return undefined;
  }
}
