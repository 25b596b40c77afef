import { existsSync } from 'node:fs';
import path from 'node:path';
import { Worker } from 'node:worker_threads';

type Reply = { id: number; js: string } | { id: number; error: string };

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
  private worker: Worker | undefined;
  private nextId = 0;
  private readonly pending = new Map<number, { file: string; resolve: (js: string) => void; reject: (e: Error) => void }>();
  private idle: NodeJS.Timeout | undefined;

  transpile(file: string, source: string): Promise<string> {
    const worker = this.start();
    const id = this.nextId++;
    clearTimeout(this.idle);
    if (this.pending.size === 0) worker.ref();
    return new Promise<string>((resolve, reject) => {
      this.pending.set(id, { file, resolve, reject });
      worker.postMessage({ id, file, source });
    });
  }

  private start(): Worker {
    if (this.worker !== undefined) return this.worker;
    if (!existsSync(WORKER_FILE)) {
      throw new Error(`the TypeScript transpiler thread ${WORKER_FILE} is missing (build with npm run build), or compile the module to .js`);
    }
    const worker = new Worker(WORKER_FILE);
    worker.unref();
    worker.on('message', (reply: Reply) => {
      const waiter = this.pending.get(reply.id);
      if (waiter === undefined) return;
      this.pending.delete(reply.id);
      if ('error' in reply) waiter.reject(new Error(reply.error));
      else waiter.resolve(reply.js);
      if (this.pending.size === 0) this.rest(worker);
    });
    worker.on('error', (err) => this.stopped(worker, `failed: ${err.message}`));
    worker.on('exit', (code) => this.stopped(worker, `exited with code ${code}`));
    this.worker = worker;
    return worker;
  }

  /** Nothing pending: let the process exit, and stop the thread if nothing comes for a while. */
  private rest(worker: Worker): void {
    worker.unref();
    this.idle = setTimeout(() => {
      if (this.worker !== worker || this.pending.size > 0) return;
      this.worker = undefined;
      void worker.terminate();
    }, IDLE_STOP_MS);
    this.idle.unref();
  }

  /** The thread is gone: fail what it held; the next transpile starts a new one. */
  private stopped(worker: Worker, why: string): void {
    if (this.worker !== worker) return;
    this.worker = undefined;
    for (const waiter of this.pending.values()) waiter.reject(new Error(`cannot transpile ${waiter.file}: the TypeScript transpiler thread ${why}`));
    this.pending.clear();
  }
}

const shared = new TypeScriptTranspiler();

/** The CommonJS JavaScript of a TypeScript module's source, transpiled off the event loop; rejects with the first syntax error. */
export function transpileTypeScript(file: string, source: string): Promise<string> {
  return shared.transpile(file, source);
}
