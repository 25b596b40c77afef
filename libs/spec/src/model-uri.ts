/**
 * Where a model node's `model.uri` points: a local file (a path relative to the graph file, absolute, or
 * `file://`), an `https://` (or, where configuration allows it, loopback `http://`) URL, or an S3 object
 * `s3://bucket/key`. Pure parsing: whether a scheme may be used in this process is the model store's call.
 */
export type ModelUri =
  | { readonly scheme: 'file' }
  | { readonly scheme: 'https' | 'http'; readonly url: URL }
  | { readonly scheme: 's3'; readonly bucket: string; readonly key: string };

export type RemoteModelUri = Exclude<ModelUri, { scheme: 'file' }>;

/** Schemes a model can be fetched from (file paths aside). */
export const REMOTE_MODEL_SCHEMES = ['https', 'http', 's3'] as const;

const SCHEME = /^([a-z][a-z0-9+.-]*):\/\//i;
// S3 bucket naming rules: 3–63 lowercase letters, digits, dots and hyphens, starting and ending alphanumeric.
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
/** S3 keys are at most 1024 bytes of UTF-8. */
const MAX_KEY_BYTES = 1024;

/**
 * Parses a `model.uri`. Anything without `scheme://` (and `file:` URLs) is a file for the path policy to
 * resolve; an unknown scheme, a URL with credentials in it, or a malformed S3 location is an error.
 */
export function parseModelUri(uri: string): ModelUri | { readonly error: string } {
  const scheme = SCHEME.exec(uri)?.[1]?.toLowerCase();
  if (scheme === undefined || scheme === 'file') return { scheme: 'file' };
  if (scheme === 'https' || scheme === 'http') {
    let url: URL;
    try {
      url = new URL(uri);
    } catch {
      return { error: `${JSON.stringify(uri)} is not a valid URL` };
    }
    // Credentials written into a graph would be logged and shown by the admin API.
    if (url.username !== '' || url.password !== '') return { error: `${JSON.stringify(redactUserInfo(uri))} carries credentials: a model URL must not` };
    if (url.hash !== '') return { error: `${JSON.stringify(uri)} has a #fragment, which is never sent to the server` };
    return { scheme, url };
  }
  if (scheme === 's3') {
    const rest = uri.slice('s3://'.length);
    const slash = rest.indexOf('/');
    const bucket = slash < 0 ? rest : rest.slice(0, slash);
    const key = slash < 0 ? '' : rest.slice(slash + 1);
    if (!BUCKET.test(bucket) || bucket.includes('..')) {
      return { error: `${JSON.stringify(uri)}: "${bucket}" is not an S3 bucket name (3-63 lowercase letters, digits, dots and hyphens)` };
    }
    if (key === '') return { error: `${JSON.stringify(uri)} names no object: use s3://<bucket>/<key>` };
    if (Buffer.byteLength(key, 'utf8') > MAX_KEY_BYTES) return { error: `${JSON.stringify(uri)}: the key is longer than ${MAX_KEY_BYTES} bytes` };
    return { scheme, bucket, key };
  }
  return { error: `unsupported URI scheme "${scheme}://" in ${JSON.stringify(uri)}; use a path, file://, https:// or s3://<bucket>/<key>` };
}

/** True when `model.uri` names something to fetch rather than a local file (well-formed or not). */
export function isRemoteModelUri(uri: string): boolean {
  const scheme = SCHEME.exec(uri)?.[1]?.toLowerCase();
  return scheme !== undefined && scheme !== 'file';
}

function redactUserInfo(uri: string): string {
  return uri.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^@/]*@/i, '$1***@');
}
