import { loadingThread } from './loading.thread';

/**
 * The CommonJS JavaScript of a TypeScript module's source; rejects with the first syntax error. Importing the
 * compiler and transpiling take hundreds of milliseconds to seconds of CPU, which on the event loop would
 * stall serving and heartbeats (a controller then evicts the worker), and in a thread of this process would
 * still run its garbage collection and compile jobs on V8's shared helper threads at normal priority. So the
 * loading thread hands it to a child process of its own (typescript-transpile.process.ts) at background
 * priority, which stops after 30 s without work, giving back the compiler's memory.
 */
export async function transpileTypeScript(file: string, source: string): Promise<string> {
  const reply = await loadingThread.call({ kind: 'transpile', file, source });
  return reply['js'] as string;
}
