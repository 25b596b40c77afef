import path from 'node:path';
import { BackgroundThread } from '@infergraph/threads';

/**
 * TypeScript user modules are transpiled in one shared background thread, started on first use: importing the
 * compiler and transpiling take hundreds of milliseconds to seconds of CPU, which on the event loop would
 * stall serving and heartbeats (a controller then evicts the worker). An idle transpiler stops after 30 s,
 * giving back the compiler's memory.
 */
const transpiler = new BackgroundThread<string>({
  file: path.join(__dirname, 'typescript-transpile.worker.js'),
  what: 'the TypeScript transpiler thread',
  missingHint: ', or compile the module to .js',
  resultOf: (reply) => reply['js'] as string,
  idleStopMs: 30_000,
});

/** The CommonJS JavaScript of a TypeScript module's source, transpiled off the event loop; rejects with the first syntax error. */
export function transpileTypeScript(file: string, source: string): Promise<string> {
  try {
    return transpiler.call({ file, source });
  } catch (err) {
    return Promise.reject(err instanceof Error ? err : new Error(String(err)));
  }
}
