import { readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { isLoopbackHost } from '@infergraph/protocol';

const flag = z.enum(['true', 'false', '1', '0', '']).default('false').transform((v) => v === 'true' || v === '1');
const bytes = (fallback: number) => z.coerce.number().int().min(1024, 'must be at least 1024 bytes').default(fallback);

/** Default cache size limit: 20 GiB. */
export const DEFAULT_MODEL_CACHE_MAX_BYTES = 20 * 1024 ** 3;
/** Default limit of one download: 8 GiB (an ONNX file is at most 2 GiB without external data). */
export const DEFAULT_MODEL_DOWNLOAD_MAX_BYTES = 8 * 1024 ** 3;

/**
 * Environment variables of the processes that load models (gateway, worker): where https:// and s3://
 * models are cached and how they are reached. Apps extend their schemas with it.
 */
export const modelStoreEnvShape = {
  /** Content-addressed cache of fetched models; default .infergraph/cache/models under the working directory. */
  MODEL_CACHE_DIR: z.string().min(1).default(path.join('.infergraph', 'cache', 'models')),
  /** Least recently used entries no graph uses are evicted past this size. */
  MODEL_CACHE_MAX_BYTES: bytes(DEFAULT_MODEL_CACHE_MAX_BYTES),
  /** A larger download is refused (its declared length) or stopped (bytes counted). */
  MODEL_DOWNLOAD_MAX_BYTES: bytes(DEFAULT_MODEL_DOWNLOAD_MAX_BYTES),
  /** PEM bundle trusted for https:// models and an https S3 endpoint, besides Node's root certificates. */
  MODEL_CA_FILE: z.string().default(''),
  /** Allow plain http:// model URLs, and only to loopback hosts (tests, a local mirror). */
  MODEL_ALLOW_HTTP: flag,
  /** S3-compatible store: endpoint URL (https://, or http:// on loopback); empty: AWS. */
  S3_ENDPOINT: z.string().default(''),
  /** Bucket in the path (http://host/bucket/key), as most S3-compatible stores want. */
  S3_FORCE_PATH_STYLE: flag,
  /** Region; empty: the AWS SDK's own chain (AWS_REGION, profile). */
  S3_REGION: z.string().default(''),
};

type ModelStoreEnv = z.infer<z.ZodObject<typeof modelStoreEnvShape>>;

export interface ModelStoreSettings {
  readonly cacheDir: string;
  readonly cacheMaxBytes: number;
  readonly downloadMaxBytes: number;
  /** Extra trusted CA certificates (PEM text), from MODEL_CA_FILE. */
  readonly extraCa: string | undefined;
  readonly caFile: string | undefined;
  readonly allowHttp: boolean;
  readonly s3: { readonly endpoint: string | undefined; readonly forcePathStyle: boolean; readonly region: string | undefined };
}

/** The settings, or the problems (`NAME="value": problem`) to list at start-up with the app's own. */
export function modelStoreSettingsOf(e: ModelStoreEnv, cwd: string): { settings: ModelStoreSettings; problems: string[] } {
  const problems: string[] = [];
  let extraCa: string | undefined;
  const caFile = e.MODEL_CA_FILE === '' ? undefined : path.resolve(cwd, e.MODEL_CA_FILE);
  if (caFile !== undefined) {
    try {
      extraCa = readFileSync(caFile, 'utf8');
      if (!extraCa.includes('-----BEGIN CERTIFICATE-----')) problems.push(`MODEL_CA_FILE=${JSON.stringify(e.MODEL_CA_FILE)}: holds no PEM certificate`);
    } catch (err) {
      problems.push(`MODEL_CA_FILE=${JSON.stringify(e.MODEL_CA_FILE)}: cannot be read (${err instanceof Error ? err.message : String(err)})`);
    }
  }
  let endpoint: string | undefined;
  if (e.S3_ENDPOINT !== '') {
    const problem = endpointProblem(e.S3_ENDPOINT);
    if (problem === undefined) endpoint = e.S3_ENDPOINT;
    else problems.push(`S3_ENDPOINT=${JSON.stringify(e.S3_ENDPOINT)}: ${problem}`);
  }
  const settings: ModelStoreSettings = Object.freeze({
    cacheDir: path.resolve(cwd, e.MODEL_CACHE_DIR),
    cacheMaxBytes: e.MODEL_CACHE_MAX_BYTES,
    downloadMaxBytes: e.MODEL_DOWNLOAD_MAX_BYTES,
    extraCa,
    caFile,
    allowHttp: e.MODEL_ALLOW_HTTP,
    s3: Object.freeze({ endpoint, forcePathStyle: e.S3_FORCE_PATH_STYLE, region: e.S3_REGION === '' ? undefined : e.S3_REGION }),
  });
  return { settings, problems };
}

function endpointProblem(endpoint: string): string | undefined {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    return 'is not a URL (e.g. https://s3.example:9000)';
  }
  if (url.username !== '' || url.password !== '') return 'must not carry credentials (the AWS SDK credential chain supplies them)';
  if (url.protocol === 'https:') return undefined;
  if (url.protocol === 'http:') return isLoopbackHost(url.hostname) ? undefined : 'plain http is allowed only to a loopback host; use https';
  return 'must be an https:// (or loopback http://) URL';
}
