import { fork } from 'node:child_process';
import { runProcessAtBackgroundPriority } from './background-priority';
import { BackgroundRunner, type BackgroundRunnerOptions, type RunnerEvents, type RunnerHandle } from './background.runner';

export type BackgroundProcessOptions<Result> = BackgroundRunnerOptions<Result>;

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
export class BackgroundProcess<Result> extends BackgroundRunner<Result> {
  private childPid: number | undefined;

  /** The running child's process id, if one runs. */
  get pid(): number | undefined {
    return this.childPid;
  }

  protected launch(file: string, events: RunnerEvents): RunnerHandle {
    // No inspector or loader flags of this process; stdout is not ours to write to; errors go to our stderr.
    const child = fork(file, [], { execArgv: [], stdio: ['ignore', 'ignore', 'inherit', 'ipc'], serialization: 'advanced' });
    this.childPid = child.pid;
    const gone = (why: string): void => {
      if (this.childPid === child.pid) this.childPid = undefined;
      events.gone(why);
    };
    child.on('message', events.answer);
    child.on('error', (err) => gone(`failed: ${err.message}`));
    child.on('exit', (code, signal) => gone(signal === null ? `exited with code ${String(code)}` : `was killed by ${signal}`));
    return {
      send: (message) => {
        if (!child.connected) throw new Error(`${this.options.what} is not connected`);
        child.send(message);
      },
      hold: (on) => {
        if (on) {
          child.ref();
          child.channel?.ref();
        } else {
          child.unref();
          child.channel?.unref();
        }
      },
      end: () => {
        if (this.childPid === child.pid) this.childPid = undefined;
        child.kill('SIGTERM');
      },
    };
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
