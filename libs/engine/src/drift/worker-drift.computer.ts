import path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { CompletedWindow } from '@infergraph/detectors';
import type { DriftComputer, DriftDetection } from '@infergraph/nodes';
import type { DriftConfig } from '@infergraph/spec';

type Reply = { id: number; detection: DriftDetection } | { id: number; error: string };

/** Runs a drift node's tests in its own worker thread (started lazily, on the first window). */
export class WorkerDriftComputer implements DriftComputer {
  private worker: Worker | undefined;
  private nextId = 0;
  private readonly pending = new Map<number, { resolve: (d: DriftDetection) => void; reject: (e: Error) => void }>();

  constructor(
    private readonly config: DriftConfig,
    private readonly reference: readonly Float64Array[],
  ) {}

  compute(window: CompletedWindow): Promise<DriftDetection> {
    const worker = this.start();
    const id = this.nextId++;
    return new Promise<DriftDetection>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      worker.postMessage({ id, columns: window.columns });
    });
  }

  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    this.failAll(new Error('drift worker closed'));
    if (worker !== undefined) await worker.terminate();
  }

  private start(): Worker {
    if (this.worker !== undefined) return this.worker;
    const worker = new Worker(path.join(__dirname, 'drift.worker.js'), { workerData: { config: this.config, reference: this.reference } });
    worker.unref();
    worker.on('message', (reply: Reply) => {
      const waiter = this.pending.get(reply.id);
      if (waiter === undefined) return;
      this.pending.delete(reply.id);
      if ('error' in reply) waiter.reject(new Error(reply.error));
      else waiter.resolve(reply.detection);
    });
    worker.on('error', (err) => {
      this.worker = undefined;
      this.failAll(err);
    });
    this.worker = worker;
    return worker;
  }

  private failAll(err: Error): void {
    for (const waiter of this.pending.values()) waiter.reject(err);
    this.pending.clear();
  }
}
