import { existsSync } from 'node:fs';
import { CallChannel, type CallReply } from './thread-calls';

export interface BackgroundRunnerOptions<Result> {
  /** The compiled script the thread or process runs; it answers `{id, ...}` messages. */
  readonly file: string;
  /** What it does, for errors: "the TypeScript transpiler thread". */
  readonly what: string;
  /** Why a missing script matters and what to do, appended to the error. */
  readonly missingHint: string;
  readonly resultOf: (reply: CallReply) => Result;
  /** An idle runner stops after this long, giving back its memory; undefined: it stays until this process ends. */
  readonly idleStopMs?: number;
}

/** A started worker thread or child process, as BackgroundRunner drives it. */
export interface RunnerHandle {
  /** Sends one call; throws when it cannot be sent. */
  send(message: Readonly<Record<string, unknown>>): void;
  /** Whether it keeps this process alive. */
  hold(on: boolean): void;
  /** Ends it (its pending calls are failed by the runner first). */
  end(): void;
}

/** What a started thread or process reports back to its runner. */
export interface RunnerEvents {
  readonly answer: (reply: CallReply) => void;
  /** It is gone or failing, and why ("exited with code 1"). */
  readonly gone: (why: string) => void;
}

/**
 * Calls to one background thread or child process (BackgroundThread, BackgroundProcess), started on first use
 * (or by `start`). It keeps this process alive only while a call is pending; if it dies, its pending calls
 * fail and the next call starts another; with `idleStopMs` it stops after that long without work.
 */
export abstract class BackgroundRunner<Result> {
  private running: { readonly handle: RunnerHandle; readonly calls: CallChannel<Result> } | undefined;
  private idle: NodeJS.Timeout | undefined;

  constructor(protected readonly options: BackgroundRunnerOptions<Result>) {}

  /** Starts the thread or process running `file`, wired to `events`. */
  protected abstract launch(file: string, events: RunnerEvents): RunnerHandle;

  call(message: Readonly<Record<string, unknown>>): Promise<Result> {
    let calls: CallChannel<Result>;
    try {
      calls = this.start();
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    clearTimeout(this.idle);
    if (calls.pendingCount === 0) this.running?.handle.hold(true);
    return calls.call(message);
  }

  /**
   * Starts it now, if it is not running (starting a thread or process costs the caller's thread milliseconds:
   * do it while idle). Throws when the script is missing.
   */
  start(): CallChannel<Result> {
    if (this.running !== undefined) return this.running.calls;
    const { file, what, missingHint } = this.options;
    if (!existsSync(file)) throw new Error(`${what} ${file} is missing (build with npm run build)${missingHint}`);
    // The events come from the thread's or process's own events, never during launch.
    const events: RunnerEvents = { answer: (reply) => calls.answer(reply), gone: (why) => this.stopped(handle, why) };
    const handle = this.launch(file, events);
    const calls = new CallChannel<Result>(
      (message) => handle.send(message),
      this.options.resultOf,
      (pending) => {
        if (pending === 0) this.rest(handle);
      },
    );
    handle.hold(false);
    this.running = { handle, calls };
    return calls;
  }

  /** Stops it now (pending calls fail); the next call starts another. */
  stop(): void {
    const handle = this.running?.handle;
    if (handle === undefined) return;
    this.stopped(handle, 'was stopped');
    handle.end();
  }

  /** Nothing pending: let this process exit, and stop the runner if nothing comes for a while. */
  private rest(handle: RunnerHandle): void {
    handle.hold(false);
    const idleStopMs = this.options.idleStopMs;
    if (idleStopMs === undefined) return;
    clearTimeout(this.idle);
    this.idle = setTimeout(() => {
      if (this.running?.handle !== handle || this.running.calls.pendingCount > 0) return;
      this.stop();
    }, idleStopMs);
    this.idle.unref();
  }

  /** It is gone (or going): fail what it held; the next call starts a new one. */
  private stopped(handle: RunnerHandle, why: string): void {
    const running = this.running;
    if (running?.handle !== handle) return;
    this.running = undefined;
    clearTimeout(this.idle);
    running.calls.failAll(() => new Error(`${this.options.what} ${why}`));
  }
}
