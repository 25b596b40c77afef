import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import Module, { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { requestedPath, type PathPolicy } from './path.policy';
import { transpileTypeScript } from './typescript.transpiler';

/**
 * Loads a named function export from a user module referenced by a graph: .js/.cjs (require),
 * .mjs (import) or .ts/.cts/.mts (transpiled with the project's TypeScript compiler, in a worker thread).
 * Throws an Error whose message says what is wrong; the caller adds graph and node. With a policy, only a
 * module inside its roots (nothing outside is ever evaluated); graph loaders confine every module before
 * they get here (PathPolicy.confineNodes).
 */
export async function loadUserFunction(graphFile: string, modulePath: string, exportName: string, paths?: PathPolicy): Promise<(...args: never[]) => unknown> {
  const resolved = paths === undefined ? requestedPath(graphFile, modulePath, 'module') : paths.confine(graphFile, modulePath, 'module');
  if ('error' in resolved) throw new Error(resolved.error);
  const file = resolved.path;
  if (!existsSync(file)) throw new Error(`module not found: ${file}`);
  const exports = await loadModule(file);
  const value = exports[exportName];
  if (typeof value !== 'function') {
    const names = Object.keys(exports).filter((k) => k !== '__esModule');
    throw new Error(`module ${file} has no function export "${exportName}" (exports: ${names.join(', ') || 'none'})`);
  }
  return value as (...args: never[]) => unknown;
}

async function loadModule(file: string): Promise<Record<string, unknown>> {
  const ext = path.extname(file);
  if (ext === '.mjs') return (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  if (ext === '.ts' || ext === '.cts' || ext === '.mts') return compileTypeScript(file);
  if (ext === '.js' || ext === '.cjs') return createRequire(file)(file) as Record<string, unknown>;
  throw new Error(`unsupported module type "${ext}" for ${file}; use .js, .cjs, .mjs or .ts`);
}

/** Transpiled off the event loop (a worker thread); evaluated here, where its exports must live. */
async function compileTypeScript(file: string): Promise<Record<string, unknown>> {
  const js = await transpileTypeScript(file, await readFile(file, 'utf8'));
  const mod = new Module(file);
  mod.filename = file;
  mod.paths = (Module as unknown as { _nodeModulePaths(dir: string): string[] })._nodeModulePaths(path.dirname(file));
  (mod as unknown as { _compile(code: string, filename: string): void })._compile(js, file);
  return mod.exports as Record<string, unknown>;
}
