import { Worker } from 'node:worker_threads';
import { BackgroundRunner, type BackgroundRunnerOptions, type RunnerEvents, type RunnerHandle } from './background.runner';

export type BackgroundThreadOptions<Result> = BackgroundRunnerOptions<Result>;

/**
 * One worker thread for work that must not stall an event loop which serves requests (transpiling modules,
 * parsing graph documents, reading model signatures). Its script lowers its own scheduling priority
 * (runAtBackgroundPriority), so on a busy machine serving gets the cores first. Started on first use (or by
 * `start`); it keeps the process alive only while a call is pending; if it dies, its pending calls fail and
 * the next call starts another.
 */
export class BackgroundThread<Result> extends BackgroundRunner<Result> {
  protected launch(file: string, events: RunnerEvents): RunnerHandle {
    const worker = new Worker(file);
    worker.on('message', events.answer);
    worker.on('error', (err) => events.gone(`failed: ${err.message}`));
    worker.on('exit', (code) => events.gone(`exited with code ${code}`));
    return {
      send: (message) => worker.postMessage(message),
      hold: (on) => (on ? worker.ref() : worker.unref()),
      end: () => void worker.terminate(),
    };
  }
}
