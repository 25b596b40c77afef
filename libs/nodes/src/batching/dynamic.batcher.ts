import { InferenceError, batchQueueFull, formatShape, type Tensor, type TensorMap } from '@infergraph/protocol';
import type { RequestContext, RequestEnd } from '@infergraph/executor';
import { batchRowsOf, sliceRows, stackTensors, stackable } from './tensor-batch';

/** A model node's `batching` block, defaults applied. */
export interface BatchingConfig {
  /** Most rows (first-dimension entries) in one run; a larger request runs alone. */
  readonly maxBatchSize: number;
  /** How long the oldest waiting request may wait for companions before a smaller batch runs. */
  readonly maxQueueDelayMicros: number;
  /** Batch sizes (rows) that run at once, without waiting for the delay. */
  readonly preferredBatchSizes: readonly number[];
  /** Most requests waiting; one more is refused with 503 / UNAVAILABLE. */
  readonly maxQueueSize: number;
}

/** One executed batch, for metrics (the engine's `batch` event). */
export interface BatchResult {
  readonly graph: string;
  readonly node: string;
  /** Rows in the batch (sum of the requests' first dimensions). */
  readonly size: number;
  /** Requests in the batch. */
  readonly requests: number;
  /** How long the oldest request of the batch waited in the queue. */
  readonly queueSeconds: number;
  /** How long the model run took, including stacking and splitting. */
  readonly computeSeconds: number;
}

/** Counters since load, as `GET /v1/graphs` shows them per batched node. */
export interface BatchingStats {
  readonly maxBatchSize: number;
  readonly maxQueueDelayMicros: number;
  readonly preferredBatchSizes: readonly number[];
  readonly maxQueueSize: number;
  /** Model runs. */
  readonly batches: number;
  /** Requests answered through a run (successfully or not). */
  readonly requests: number;
  readonly rows: number;
  /** The most requests one run carried. */
  readonly largestBatchRequests: number;
  /** The most rows one run carried. */
  readonly largestBatchRows: number;
  /** Requests refused because the queue was full. */
  readonly rejected: number;
  /** Requests that ended or whose deadline passed while they waited. */
  readonly cancelled: number;
  /** Requests waiting now. */
  readonly queued: number;
}

/**
 * Runs one batch. `contexts` holds the context each request of the batch was submitted with, in batch order
 * (undefined for a request submitted without one): a run that crosses a hop builds the call's deadline,
 * trace parent and lifetime from them.
 */
export type BatchRun = (feeds: TensorMap, contexts: readonly (RequestContext | undefined)[]) => Promise<TensorMap>;

export interface DynamicBatcherOptions {
  /**
   * When a batch of several requests fails with an error this accepts, each request is run again alone and
   * gets its own answer: one request's bad input must not fail the requests it was stacked with (for runs
   * whose inputs cannot all be checked before stacking, e.g. on the far side of a hop).
   */
  readonly retryAloneOn?: (err: unknown) => boolean;
  /**
   * Batches that may run at once; default 1 (a model session runs on the event loop, so more would not
   * overlap). A run that is a call to another process waits on the wire instead, and the next batch
   * should not wait for its answer.
   */
  readonly maxConcurrentRuns?: number;
}

interface Pending {
  readonly inputs: TensorMap;
  readonly rows: number;
  /** performance.now() at submit. */
  readonly enqueuedMs: number;
  readonly resolve: (outputs: TensorMap) => void;
  readonly reject: (err: unknown) => void;
  readonly end: RequestEnd | undefined;
  readonly ctx: RequestContext | undefined;
  /** When the request is dropped instead of run: its deadline on `performance.now()`'s clock (the request's `expiresAt`). */
  readonly expiresAt: number;
  /** Stops following the request's end once the entry leaves the queue. */
  unsubscribe: (() => void) | undefined;
}

/**
 * Dynamic batching for one model node (Triton's dynamic batcher, in spirit). Requests wait in a FIFO
 * queue; a batch runs when its rows reach `maxBatchSize` or a preferred size, or when the oldest request
 * has waited `maxQueueDelayMicros`. The inputs of the batch are stacked along dimension 0 into ONE run,
 * and every output is split back by each request's row count. Requests are never split; requests whose
 * other dimensions, datatypes or tensor names differ never share a batch. One batch runs at a time
 * (onnxruntime-node runs a session synchronously on the event loop, so more would not overlap): while
 * it runs, the next batch gathers. A run across a hop may have several batches in flight
 * (`maxConcurrentRuns`).
 */
export class DynamicBatcher {
  private queue: Pending[] = [];
  private readonly delayMs: number;
  private readonly preferred: ReadonlySet<number>;
  private readonly smallestTrigger: number;
  /** Batches running now; at most `maxConcurrentRuns`. */
  private running = 0;
  private readonly maxRuns: number;
  /** Rows of the requests waiting (requests that must run alone count 0). */
  private queuedRows = 0;
  private timer: NodeJS.Timeout | undefined;
  private immediate: NodeJS.Immediate | undefined;
  private counts = { batches: 0, requests: 0, rows: 0, largestBatchRequests: 0, largestBatchRows: 0, rejected: 0, cancelled: 0 };

  constructor(
    private readonly graph: string,
    private readonly node: string,
    private readonly config: BatchingConfig,
    private readonly run: BatchRun,
    private readonly onBatch: (result: BatchResult) => void = () => undefined,
    private readonly options: DynamicBatcherOptions = {},
  ) {
    this.delayMs = config.maxQueueDelayMicros / 1000;
    this.preferred = new Set(config.preferredBatchSizes);
    this.smallestTrigger = Math.min(config.maxBatchSize, ...config.preferredBatchSizes);
    this.maxRuns = Math.max(1, Math.floor(options.maxConcurrentRuns ?? 1));
  }

  /**
   * Queues one request's inputs; resolves with its own slice of the batch's outputs. A request leaves
   * the queue, rejected, when its request ends (`end`) or its deadline (`expiresAt`, on `performance.now()`'s
   * clock) passes before its batch runs.
   * `ctx` is handed to the batch's run with the others of its batch.
   */
  submit(inputs: TensorMap, end?: RequestEnd, expiresAt = Number.POSITIVE_INFINITY, ctx?: RequestContext): Promise<TensorMap> {
    if (this.queue.length >= this.config.maxQueueSize) {
      this.counts.rejected++;
      return Promise.reject(batchQueueFull(this.graph, this.node, this.config.maxQueueSize));
    }
    if (end?.aborted === true) return Promise.reject(this.cancelledError(end, 0));
    return new Promise<TensorMap>((resolve, reject) => {
      const entry: Pending = { inputs, rows: batchRowsOf(inputs), enqueuedMs: performance.now(), resolve, reject, end, ctx, expiresAt, unsubscribe: undefined };
      if (end !== undefined) entry.unsubscribe = end.onEnd(() => this.cancel(entry));
      this.queue.push(entry);
      this.queuedRows += Math.max(0, entry.rows);
      if (this.running >= this.maxRuns) return;
      if (entry.rows < 0 || this.queuedRows >= this.smallestTrigger) this.pump();
      else this.schedule(entry.enqueuedMs);
    });
  }

  stats(): BatchingStats {
    const c = this.config;
    return {
      maxBatchSize: c.maxBatchSize,
      maxQueueDelayMicros: c.maxQueueDelayMicros,
      preferredBatchSizes: c.preferredBatchSizes,
      maxQueueSize: c.maxQueueSize,
      ...this.counts,
      queued: this.queue.length,
    };
  }

  /** Runs the next batch if one is due, else wakes up when the oldest request's delay ends. */
  private readonly pump = (): void => {
    this.clearWake();
    if (this.running >= this.maxRuns || this.queue.length === 0) return;
    this.dropExpired();
    if (this.queue.length === 0) return;
    const now = performance.now();
    const picked = this.pick(now);
    if (picked === undefined) {
      this.schedule(now);
      return;
    }
    const batch: Pending[] = [];
    const rest: Pending[] = [];
    let p = 0;
    this.queue.forEach((e, i) => {
      if (picked[p] === i) {
        batch.push(e);
        this.queuedRows -= Math.max(0, e.rows);
        p++;
      } else rest.push(e);
    });
    this.queue = rest;
    this.running++;
    void this.execute(batch, now).finally(() => {
      this.running--;
      this.pump();
    });
    // With runs to spare (a run across a hop), the rest of the queue may form its own batch now.
    if (this.running < this.maxRuns && this.queue.length > 0) this.pump();
  };

  /**
   * Queue indices of the batch to run now, or undefined to keep waiting. The batch starts with the
   * oldest request and takes later compatible ones, in order, while they fit in maxBatchSize.
   */
  private pick(now: number): number[] | undefined {
    const head = this.queue[0] as Pending;
    const max = this.config.maxBatchSize;
    if (head.rows < 0 || head.rows >= max) return [0];
    const picked = [0];
    let rows = head.rows;
    for (let i = 1; i < this.queue.length && rows < max; i++) {
      const e = this.queue[i] as Pending;
      if (e.rows < 0 || rows + e.rows > max || !stackable(head.inputs, e.inputs)) continue;
      picked.push(i);
      rows += e.rows;
    }
    if (rows >= max) return picked;
    if (this.preferred.size > 0) {
      // The largest preferred size that a prefix of the candidate batch reaches exactly.
      let best = -1;
      let sum = 0;
      for (let k = 0; k < picked.length; k++) {
        sum += (this.queue[picked[k] as number] as Pending).rows;
        if (this.preferred.has(sum)) best = k;
      }
      if (best >= 0) return picked.slice(0, best + 1);
    }
    return now - head.enqueuedMs >= this.delayMs ? picked : undefined;
  }

  /** Wakes at the oldest request's deadline: a timer for whole milliseconds, then setImmediate (sub-ms delays). */
  private schedule(now: number): void {
    if (this.timer !== undefined || this.immediate !== undefined || this.queue.length === 0) return;
    const remainingMs = (this.queue[0] as Pending).enqueuedMs + this.delayMs - now;
    if (remainingMs >= 1) this.timer = setTimeout(this.pump, Math.floor(remainingMs));
    else this.immediate = setImmediate(this.pump);
  }

  private clearWake(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    if (this.immediate !== undefined) clearImmediate(this.immediate);
    this.timer = undefined;
    this.immediate = undefined;
  }

  private async execute(batch: readonly Pending[], started: number): Promise<void> {
    const head = batch[0] as Pending;
    let rows = 0;
    for (const e of batch) {
      rows += Math.max(0, e.rows);
      e.unsubscribe?.();
    }
    try {
      if (batch.length === 1) {
        head.resolve(await this.run(head.inputs, [head.ctx]));
      } else {
        const outputs = await this.run(
          this.stack(batch),
          batch.map((e) => e.ctx),
        );
        this.split(outputs, batch, rows);
      }
    } catch (err) {
      if (batch.length > 1 && this.options.retryAloneOn?.(err) === true) await this.runEachAlone(batch);
      else for (const e of batch) e.reject(err);
    }
    const c = this.counts;
    c.batches++;
    c.requests += batch.length;
    c.rows += rows;
    if (batch.length > c.largestBatchRequests) c.largestBatchRequests = batch.length;
    if (rows > c.largestBatchRows) c.largestBatchRows = rows;
    const ended = performance.now();
    try {
      this.onBatch({
        graph: this.graph,
        node: this.node,
        size: rows,
        requests: batch.length,
        queueSeconds: (started - head.enqueuedMs) / 1000,
        computeSeconds: (ended - started) / 1000,
      });
    } catch {
      // A failing observer must not stall the queue.
    }
  }

  /** Each request of a failed batch on its own, concurrently: every one settles with its own outcome. */
  private async runEachAlone(batch: readonly Pending[]): Promise<void> {
    await Promise.all(
      batch.map((e) =>
        this.run(e.inputs, [e.ctx]).then(
          (outputs) => e.resolve(outputs),
          (err: unknown) => e.reject(err),
        ),
      ),
    );
  }

  private stack(batch: readonly Pending[]): TensorMap {
    const feeds = new Map<string, Tensor>();
    const parts: Tensor[] = new Array<Tensor>(batch.length);
    for (const name of (batch[0] as Pending).inputs.keys()) {
      for (let i = 0; i < batch.length; i++) parts[i] = (batch[i] as Pending).inputs.get(name) as Tensor;
      feeds.set(name, stackTensors(name, parts));
    }
    return feeds;
  }

  /** Hands each request its rows of every output; a batch whose outputs are not batch-aligned fails whole. */
  private split(outputs: TensorMap, batch: readonly Pending[], rows: number): void {
    for (const t of outputs.values()) {
      if (t.shape[0] !== rows) {
        throw new InferenceError(
          'INTERNAL',
          `graph "${this.graph}" node "${this.node}": batched run of ${batch.length} requests (${rows} rows) returned output "${t.name}" with shape ${formatShape(t.shape)}; its first dimension must be ${rows} to split it back. The model does not treat dimension 0 as the batch: remove model.batching`,
        );
      }
    }
    let start = 0;
    for (const e of batch) {
      const mine = new Map<string, Tensor>();
      for (const [name, t] of outputs) mine.set(name, sliceRows(t, start, e.rows));
      start += e.rows;
      e.resolve(mine);
    }
  }

  /** Rejects the requests whose deadline passed while they waited. */
  private dropExpired(): void {
    const now = performance.now();
    if (!this.queue.some((e) => e.expiresAt <= now)) return;
    const kept: Pending[] = [];
    for (const e of this.queue) {
      if (e.expiresAt > now) {
        kept.push(e);
        continue;
      }
      this.queuedRows -= Math.max(0, e.rows);
      this.counts.cancelled++;
      e.unsubscribe?.();
      e.reject(
        new InferenceError('DEADLINE_EXCEEDED', `graph "${this.graph}" node "${this.node}": deadline passed after ${(performance.now() - e.enqueuedMs).toFixed(1)} ms in the batch queue`),
      );
    }
    this.queue = kept;
  }

  private cancel(entry: Pending): void {
    const i = this.queue.indexOf(entry);
    if (i < 0) return;
    this.queue.splice(i, 1);
    this.queuedRows -= Math.max(0, entry.rows);
    this.counts.cancelled++;
    entry.reject(this.cancelledError(entry.end as RequestEnd, performance.now() - entry.enqueuedMs));
    if (this.running < this.maxRuns && this.queue.length > 0) this.pump();
  }

  private cancelledError(end: RequestEnd, waitedMs: number): InferenceError {
    const reason: unknown = end.reason;
    if (reason instanceof InferenceError) return reason;
    return new InferenceError(
      'DEADLINE_EXCEEDED',
      `graph "${this.graph}" node "${this.node}": request was cancelled after waiting ${waitedMs.toFixed(1)} ms in the batch queue`,
    );
  }
}
