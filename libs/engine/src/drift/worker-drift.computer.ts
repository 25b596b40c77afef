import path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { CompletedWindow } from '@infergraph/detectors';
import type { DriftComputer, DriftDetection } from '@infergraph/nodes';
import type { DriftConfig } from '@infergraph/spec';
import { ThreadCalls } from '@infergraph/threads';

/** Runs a drift node's tests in its own worker thread (started lazily, on the first window). */
export class WorkerDriftComputer implements DriftComputer {
  private calls: ThreadCalls<DriftDetection> | undefined;

  constructor(
    private readonly config: DriftConfig,
    private readonly reference: readonly Float64Array[],
  ) {}

  compute(window: CompletedWindow): Promise<DriftDetection> {
    return this.start().call({ columns: window.columns });
  }

  async close(): Promise<void> {
    const calls = this.calls;
    this.calls = undefined;
    calls?.failAll(() => new Error('drift worker closed'));
    if (calls !== undefined) await calls.worker.terminate();
  }

  private start(): ThreadCalls<DriftDetection> {
    if (this.calls !== undefined) return this.calls;
    const worker = new Worker(path.join(__dirname, 'drift.worker.js'), { workerData: { config: this.config, reference: this.reference } });
    worker.unref();
    const calls = new ThreadCalls<DriftDetection>(worker, (reply) => reply['detection'] as DriftDetection);
    worker.on('error', (err) => {
      if (this.calls === calls) this.calls = undefined;
      calls.failAll(() => err);
    });
    this.calls = calls;
    return calls;
  }
}
