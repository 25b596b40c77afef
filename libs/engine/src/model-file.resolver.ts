import { statSync } from 'node:fs';
import { isRemoteModelUri, parseModelUri } from '@infergraph/spec';
import type { ModelFetcher } from './model-fetcher.port';
import { PathPolicy, requestedPath } from './path.policy';

/**
 * Resolves `model.uri` (relative to the graph file, absolute, or file://) to an absolute path. With a
 * policy, only inside its roots (the real path, symlinks resolved); without one, lexically and unconfined:
 * for callers whose graph passed checkModelFile already.
 */
export function resolveModelPath(graphFile: string, uri: string, paths?: PathPolicy): string | { error: string } {
  const resolved = paths === undefined ? requestedPath(graphFile, uri, 'model.uri') : paths.confine(graphFile, uri, 'model.uri');
  return 'error' in resolved ? { error: resolved.error } : resolved.path;
}

/**
 * A problem message when the model file is outside the policy's roots (default: PathPolicy.defaults()),
 * missing, or not a regular file. Outside the roots the message never says whether the file exists.
 * A remote URI (https://, s3://) is checked for form, and by `models` for whether this process may fetch
 * it; nothing is fetched here (a process without a fetcher, e.g. the controller, leaves that to workers).
 */
export function checkModelFile(graphFile: string, uri: string, paths?: PathPolicy, models?: ModelFetcher): string | undefined {
  if (isRemoteModelUri(uri)) {
    const parsed = parseModelUri(uri);
    if ('error' in parsed) return parsed.error;
    return models?.check(uri);
  }
  const resolved = resolveModelPath(graphFile, uri, paths ?? PathPolicy.defaults());
  if (typeof resolved !== 'string') return resolved.error;
  try {
    const stat = statSync(resolved);
    return stat.isFile() ? undefined : `model path ${resolved} is not a file`;
  } catch {
    return `model file not found: ${resolved}`;
  }
}
