import { existsSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { ThreadCalls } from './thread-calls';

export interface BackgroundThreadOptions<Result> {
  /** The compiled thread script. */
  readonly file: string;
  /** What the thread does, for errors: "the TypeScript transpiler thread". */
  readonly what: string;
  /** Why a missing script matters and what to do, appended to the error. */
  readonly missingHint: string;
  readonly resultOf: (reply: Readonly<Record<string, unknown>>) => Result;
  /** An idle thread stops after this long, giving back its memory; undefined: it stays until the process ends. */
  readonly idleStopMs?: number;
}

/**
 * One worker thread for work that must not stall an event loop which serves requests (transpiling modules,
 * parsing graph documents, reading model signatures). Its script lowers its own scheduling priority
 * (runAtBackgroundPriority), so on a busy machine serving gets the cores first. Started on first use (or by
 * `start`); it keeps the process alive only while a call is pending; if it dies, its pending calls fail and
 * the next call starts another.
 */
export class BackgroundThread<Result> {
  private calls: ThreadCalls<Result> | undefined;
  private idle: NodeJS.Timeout | undefined;

  constructor(private readonly options: BackgroundThreadOptions<Result>) {}

  call(message: Readonly<Record<string, unknown>>): Promise<Result> {
    const calls = this.start();
    clearTimeout(this.idle);
    if (calls.pendingCount === 0) calls.worker.ref();
    return calls.call(message);
  }

  /** Starts the thread now (constructing a Worker costs the caller's thread milliseconds: do it while idle). */
  start(): ThreadCalls<Result> {
    if (this.calls !== undefined) return this.calls;
    if (!existsSync(this.options.file)) throw new Error(`${this.options.what} ${this.options.file} is missing (build with npm run build)${this.options.missingHint}`);
    const worker = new Worker(this.options.file);
    worker.unref();
    const calls = new ThreadCalls<Result>(worker, this.options.resultOf, (pending) => {
      if (pending === 0) this.rest(calls);
    });
    worker.on('error', (err) => this.stopped(calls, `failed: ${err.message}`));
    worker.on('exit', (code) => this.stopped(calls, `exited with code ${code}`));
    this.calls = calls;
    return calls;
  }

  /** Nothing pending: let the process exit, and stop the thread if nothing comes for a while. */
  private rest(calls: ThreadCalls<Result>): void {
    calls.worker.unref();
    const idleStopMs = this.options.idleStopMs;
    if (idleStopMs === undefined) return;
    this.idle = setTimeout(() => {
      if (this.calls !== calls || calls.pendingCount > 0) return;
      this.calls = undefined;
      void calls.worker.terminate();
    }, idleStopMs);
    this.idle.unref();
  }

  /** The thread is gone: fail what it held; the next call starts a new one. */
  private stopped(calls: ThreadCalls<Result>, why: string): void {
    if (this.calls !== calls) return;
    this.calls = undefined;
    calls.failAll(() => new Error(`${this.options.what} ${why}`));
  }
}
