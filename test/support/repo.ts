import path from 'node:path';

/** The repository root, whether tests run from dist/ or elsewhere. */
export const REPO_ROOT = process.env['INFERGRAPH_ROOT'] ?? path.resolve(__dirname, '..', '..', '..');

export function repoPath(...parts: string[]): string {
  return path.join(REPO_ROOT, ...parts);
}
