import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { UsageError } from './cli.command';

const GRAPH_FILE = /\.ya?ml$/;

/**
 * The graph files named by the arguments: files as given, directories searched for *.yaml / *.yml
 * (recursively, skipping dot-directories and node_modules), sorted within each directory.
 */
export function findGraphFiles(args: readonly string[]): string[] {
  const files: string[] = [];
  for (const arg of args) {
    let stat;
    try {
      stat = statSync(arg);
    } catch {
      throw new UsageError(`no such file or directory: ${arg}`);
    }
    if (stat.isDirectory()) walk(arg, files);
    else files.push(arg);
  }
  return files;
}

function walk(dir: string, into: string[]): void {
  const entries = readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name));
  for (const e of entries) {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) {
      if (!e.name.startsWith('.') && e.name !== 'node_modules') walk(full, into);
    } else if (e.isFile() && GRAPH_FILE.test(e.name)) into.push(full);
  }
}
