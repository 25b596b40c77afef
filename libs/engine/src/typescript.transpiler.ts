import { existsSync } from 'node:fs';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { ThreadCalls } from './thread-calls';

const WORKER_FILE = path.join(__dirname, 'typescript-transpile.worker.js');
/** An idle transpiler thread stops after this long, giving back the compiler's memory. */
const IDLE_STOP_MS = 30_000;

/**
 * Transpiles TypeScript user modules in one shared worker thread, started on first use: importing the
 * compiler and transpiling take hundreds of milliseconds to seconds of CPU, which on the event loop
 * would stall serving and heartbeats (a controller then evicts the worker). The thread keeps the
 * process alive only while a transpile is pending.
 */
class TypeScriptTranspiler {
  private calls: ThreadCalls<string> | undefined;
  private idle: NodeJS.Timeout | undefined;

  transpile(file: string, source: string): Promise<string> {
    const calls = this.start();
    clearTimeout(this.idle);
    if (calls.pendingCount === 0) calls.worker.ref();
    return calls.call({ file, source });
  }

  private start(): ThreadCalls<string> {
    if (this.calls !== undefined) return this.calls;
    if (!existsSync(WORKER_FILE)) {
      throw new Error(`the TypeScript transpiler thread ${WORKER_FILE} is missing (build with npm run build), or compile the module to .js`);
    }
    const worker = new Worker(WORKER_FILE);
    worker.unref();
    const calls = new ThreadCalls<string>(
      worker,
      (reply) => reply['js'] as string,
      (pending) => {
        if (pending === 0) this.rest(calls);
      },
    );
    worker.on('error', (err) => this.stopped(calls, `failed: ${err.message}`));
    worker.on('exit', (code) => this.stopped(calls, `exited with code ${code}`));
    this.calls = calls;
    return calls;
  }

  /** Nothing pending: let the process exit, and stop the thread if nothing comes for a while. */
  private rest(calls: ThreadCalls<string>): void {
    calls.worker.unref();
    this.idle = setTimeout(() => {
      if (this.calls !== calls || calls.pendingCount > 0) return;
      this.calls = undefined;
      void calls.worker.terminate();
    }, IDLE_STOP_MS);
    this.idle.unref();
  }

  /** The thread is gone: fail what it held; the next transpile starts a new one. */
  private stopped(calls: ThreadCalls<string>, why: string): void {
    if (this.calls !== calls) return;
    this.calls = undefined;
    calls.failAll(() => new Error(`cannot transpile TypeScript modules: the transpiler thread ${why}`));
  }
}

const shared = new TypeScriptTranspiler();

/** The CommonJS JavaScript of a TypeScript module's source, transpiled off the event loop; rejects with the first syntax error. */
export function transpileTypeScript(file: string, source: string): Promise<string> {
  return shared.transpile(file, source);
}
