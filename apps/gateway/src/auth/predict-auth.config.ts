import { readFileSync } from 'node:fs';
import path from 'node:path';
import { isLoopbackHost, parseSecretLines } from '@infergraph/protocol';
import type { ApiKeyEntry, JwtSettings, PredictAuthSettings } from './predict-authenticator';

const KEY_LINE = /^([A-Za-z0-9][A-Za-z0-9._@-]*):sha256:([0-9a-f]{64})$/;

/**
 * The hashed API keys of a PREDICT_API_KEYS_FILE: `<subject>:sha256:<64 hex digits>` per line (`npm run
 * apikey -- <subject>` makes a key and its line), `#` comments and blank lines skipped. The keys themselves
 * are never stored; every bad line is reported by number.
 */
export function parseApiKeysFile(text: string, origin: string): { keys: ApiKeyEntry[]; problems: string[] } {
  const { entries, problems } = parseSecretLines(text, origin, 'key', (line, where): ApiKeyEntry | { problem: string } => {
    const m = KEY_LINE.exec(line);
    if (m === null) return { problem: `${where}: expected <subject>:sha256:<64 lower-case hex digits> (the SHA-256 of the key, never the key itself)` };
    return { name: m[1] as string, digest: Buffer.from(m[2] as string, 'hex'), origin: where };
  });
  return { keys: entries, problems };
}

/** PREDICT_* variables: API keys, and a JWKS with the issuer and audience every JWT must carry. */
export function predictAuthFrom(env: NodeJS.ProcessEnv, cwd: string): { settings: PredictAuthSettings; problems: string[] } {
  const problems: string[] = [];
  const value = (name: string): string => env[name]?.trim() ?? '';
  let apiKeys: ApiKeyEntry[] = [];
  if (value('PREDICT_API_KEYS_FILE') !== '') {
    const origin = `PREDICT_API_KEYS_FILE=${JSON.stringify(value('PREDICT_API_KEYS_FILE'))}`;
    try {
      const parsed = parseApiKeysFile(readFileSync(path.resolve(cwd, value('PREDICT_API_KEYS_FILE')), 'utf8'), origin);
      apiKeys = parsed.keys;
      problems.push(...parsed.problems);
    } catch (err) {
      problems.push(`${origin}: cannot read it: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  let jwt: JwtSettings | undefined;
  const file = value('PREDICT_JWKS_FILE');
  const url = value('PREDICT_JWKS_URL');
  if (file !== '' && url !== '') problems.push('PREDICT_JWKS_FILE and PREDICT_JWKS_URL are both set: choose one');
  else if (file !== '' || url !== '') {
    let jwks: JwtSettings['jwks'] | undefined;
    if (file !== '') {
      try {
        const document: unknown = JSON.parse(readFileSync(path.resolve(cwd, file), 'utf8'));
        const keys = (document as { keys?: unknown }).keys;
        if (!Array.isArray(keys) || keys.length === 0) problems.push(`PREDICT_JWKS_FILE=${JSON.stringify(file)}: not a JWKS (expected {"keys": [...]} with at least one key)`);
        else jwks = { document };
      } catch (err) {
        problems.push(`PREDICT_JWKS_FILE=${JSON.stringify(file)}: cannot read it as JSON: ${err instanceof Error ? err.message : String(err)}`);
      }
    } else {
      const problem = jwksUrlProblem(url);
      if (problem !== undefined) problems.push(`PREDICT_JWKS_URL=${JSON.stringify(url)}: ${problem}`);
      else jwks = { url };
    }
    const issuer = value('PREDICT_JWT_ISSUER');
    const audience = value('PREDICT_JWT_AUDIENCE');
    if (issuer === '') problems.push('PREDICT_JWT_ISSUER is required with a JWKS: a JWT of any issuer trusting the same keys would pass');
    if (audience === '') problems.push('PREDICT_JWT_AUDIENCE is required with a JWKS: a JWT minted for another service would pass');
    const skew = Number(value('PREDICT_JWT_CLOCK_SKEW_S') || '30');
    if (!Number.isInteger(skew) || skew < 0 || skew > 600) problems.push('PREDICT_JWT_CLOCK_SKEW_S: expected whole seconds from 0 to 600');
    if (jwks !== undefined && issuer !== '' && audience !== '') jwt = { jwks, issuer, audience, clockSkewSeconds: skew, subjectClaim: value('PREDICT_JWT_SUBJECT_CLAIM') || 'sub' };
  }
  return { settings: Object.freeze({ apiKeys: Object.freeze(apiKeys), jwt }), problems };
}

/** A JWKS URL must be https, except on a loopback host (a local identity provider in development). */
function jwksUrlProblem(url: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'not a URL';
  }
  if (parsed.protocol === 'https:' || (parsed.protocol === 'http:' && isLoopbackHost(parsed.hostname))) return undefined;
  return 'must be https:// (plain http only on a loopback host)';
}
