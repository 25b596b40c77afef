import { statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Resolves `model.uri` (relative to the graph file, absolute, or file://) to an absolute path. */
export function resolveModelPath(graphFile: string, uri: string): string | { error: string } {
  if (uri.startsWith('file://')) {
    try {
      return fileURLToPath(uri);
    } catch (err) {
      return { error: `invalid file:// URL: ${err instanceof Error ? err.message : String(err)}` };
    }
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(uri)) {
    return { error: `unsupported URI scheme in ${JSON.stringify(uri)}; use a path relative to the graph file or a file:// URL` };
  }
  return path.resolve(path.dirname(graphFile), uri);
}

/** A problem message when the model file is missing or not a regular file. */
export function checkModelFile(graphFile: string, uri: string): string | undefined {
  const resolved = resolveModelPath(graphFile, uri);
  if (typeof resolved !== 'string') return resolved.error;
  try {
    const stat = statSync(resolved);
    return stat.isFile() ? undefined : `model path ${resolved} is not a file`;
  } catch {
    return `model file not found: ${resolved}`;
  }
}
