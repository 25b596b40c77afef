import { existsSync } from 'node:fs';
import { fork, type ChildProcess } from 'node:child_process';
import { runProcessAtBackgroundPriority } from './background-priority';
import { CallChannel, type CallReply } from './thread-calls';

export interface BackgroundProcessOptions<Result> {
  /** The compiled child script; it answers `{id, ...}` messages over IPC (see serveBackgroundCalls). */
  readonly file: string;
  /** What the process does, for errors: "the TypeScript compiler process". */
  readonly what: string;
  /** Why a missing script matters and what to do, appended to the error. */
  readonly missingHint: string;
  readonly resultOf: (reply: CallReply) => Result;
  /** An idle process stops after this long, giving back its memory; undefined: it stays until this one ends. */
  readonly idleStopMs?: number;
}

/**
 * A child process for background work whose cost must not land on any thread of a serving process. A worker
 * thread keeps its own event loop off the serving one, but the garbage collection and compile jobs of its
 * isolate run on V8's process-wide helper threads at normal priority; a child process's helpers are its own.
 * Its script lowers the whole process (runProcessAtBackgroundPriority); forked from a thread that already
 * runs at background priority (the loading thread), it inherits that priority from its first instruction
 * (Linux keeps nice values per thread, and a fork takes the forking thread's).
 * Started on first use; it keeps this process alive only while a call is pending; if it dies, its pending
 * calls fail and the next call starts another; it leaves when this process does (its IPC channel closes).
 */
export class BackgroundProcess<Result> {
  private child: ChildProcess | undefined;
  private calls: CallChannel<Result> | undefined;
  private idle: NodeJS.Timeout | undefined;

  constructor(private readonly options: BackgroundProcessOptions<Result>) {}

  call(message: Readonly<Record<string, unknown>>): Promise<Result> {
    let calls: CallChannel<Result>;
    try {
      calls = this.start();
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    clearTimeout(this.idle);
    if (calls.pendingCount === 0) this.hold(true);
    return calls.call(message);
  }

  /** The running child's process id, if one runs. */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Stops the child now (pending calls fail); the next call starts another. */
  stop(): void {
    const child = this.child;
    if (child === undefined) return;
    this.stopped(child, 'was stopped');
    child.kill('SIGTERM');
  }

  private start(): CallChannel<Result> {
    if (this.calls !== undefined) return this.calls;
    if (!existsSync(this.options.file)) throw new Error(`${this.options.what} ${this.options.file} is missing (build with npm run build)${this.options.missingHint}`);
    // No inspector or loader flags of this process; stdout is not ours to write to; errors go to our stderr.
    const child = fork(this.options.file, [], { execArgv: [], stdio: ['ignore', 'ignore', 'inherit', 'ipc'], serialization: 'advanced' });
    const calls = new CallChannel<Result>(
      (message) => {
        if (!child.connected) throw new Error(`${this.options.what} is not connected`);
        child.send(message);
      },
      this.options.resultOf,
      (pending) => {
        if (pending === 0) this.rest(child);
      },
    );
    child.on('message', (reply: CallReply) => calls.answer(reply));
    child.on('error', (err) => this.stopped(child, `failed: ${err.message}`));
    child.on('exit', (code, signal) => this.stopped(child, signal === null ? `exited with code ${String(code)}` : `was killed by ${signal}`));
    this.child = child;
    this.calls = calls;
    return calls;
  }

  /** Whether the child (its handle and IPC channel) keeps this process alive. */
  private hold(on: boolean): void {
    const child = this.child;
    if (child === undefined) return;
    if (on) {
      child.ref();
      child.channel?.ref();
    } else {
      child.unref();
      child.channel?.unref();
    }
  }

  /** Nothing pending: let this process exit, and stop the child if nothing comes for a while. */
  private rest(child: ChildProcess): void {
    this.hold(false);
    const idleStopMs = this.options.idleStopMs;
    if (idleStopMs === undefined) return;
    clearTimeout(this.idle);
    this.idle = setTimeout(() => {
      if (this.child !== child || (this.calls?.pendingCount ?? 0) > 0) return;
      this.stop();
    }, idleStopMs);
    this.idle.unref();
  }

  /** The child is gone (or going): fail what it held; the next call starts a new one. */
  private stopped(child: ChildProcess, why: string): void {
    if (this.child !== child) return;
    const calls = this.calls;
    this.child = undefined;
    this.calls = undefined;
    clearTimeout(this.idle);
    calls?.failAll(() => new Error(`${this.options.what} ${why}`));
  }
}

/**
 * The child's side of a BackgroundProcess: lowers the whole process, answers each `{id, ...}` message with
 * `{id, ...result}` (or `{id, error}` when `handle` throws or rejects), and exits when the parent's channel
 * closes, so a killed parent leaves no process behind.
 */
export function serveBackgroundCalls(
  handle: (message: Readonly<Record<string, unknown>>) => Promise<Readonly<Record<string, unknown>>> | Readonly<Record<string, unknown>>,
): void {
  runProcessAtBackgroundPriority();
  process.on('disconnect', () => process.exit(0));
  process.on('message', (message: { readonly id: number } & Readonly<Record<string, unknown>>) => {
    const reply = (body: Readonly<Record<string, unknown>>): void => {
      if (process.connected) process.send?.({ ...body, id: message.id });
    };
    Promise.resolve()
      .then(() => handle(message))
      .then(reply, (err: unknown) => reply({ error: err instanceof Error ? err.message : String(err) }));
  });
}
