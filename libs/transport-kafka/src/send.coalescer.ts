/** Sends one batch; resolves once every item of it is acknowledged. */
export type BatchSend<T> = (items: T[]) => Promise<void>;

export interface SendCoalescerOptions {
  /**
   * How long the oldest queued item may wait for companions before its send starts (Kafka's `linger.ms`):
   * bigger sends cost the client and the broker less per record, and every record up to this much
   * latency. 0 sends whatever is queued as soon as the previous send is acknowledged.
   */
  readonly lingerMs: number;
  /** Most items in one send; a full batch leaves without waiting for the linger. */
  readonly maxBatch: number;
  /** Clock in milliseconds (tests pass their own). */
  readonly now?: () => number;
}

interface Queued<T> {
  readonly item: T;
  readonly resolve: () => void;
  readonly reject: (err: unknown) => void;
}

/**
 * Coalesces items into batch sends, one send in flight at a time (an idempotent producer with one request
 * in flight keeps its order). Items queued while a send is in flight leave together in the next one, and
 * with a linger the oldest queued item also waits up to `lingerMs` for companions; a full batch leaves at once.
 * Items leave in the order they were pushed, and a failed send fails every item queued behind it too, so no
 * item queued behind a failed one lands before that one is pushed again.
 */
export class SendCoalescer<T> {
  private queue: Queued<T>[] = [];
  private sending: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** When the oldest queued item was queued (clock ms). */
  private oldestQueuedAt = 0;
  private readonly now: () => number;

  constructor(
    private readonly send: BatchSend<T>,
    private readonly options: SendCoalescerOptions,
  ) {
    this.now = options.now ?? (() => performance.now());
  }

  /** Queues one item; resolves once the send that carried it is acknowledged, rejects with its error. */
  push(item: T): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.queue.length === 0) this.oldestQueuedAt = this.now();
      this.queue.push({ item, resolve, reject });
      this.schedule();
    });
  }

  /** Sends everything queued now, without lingering, and resolves when nothing is in flight or queued. */
  async drain(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    while (this.sending !== undefined || this.queue.length > 0) {
      if (this.sending === undefined) this.startSend();
      await this.sending;
    }
  }

  /** Items waiting for a send (not counting the send in flight). */
  get queued(): number {
    return this.queue.length;
  }

  private schedule(): void {
    if (this.sending !== undefined || this.queue.length === 0) return;
    if (this.queue.length >= this.options.maxBatch) {
      this.startSend();
      return;
    }
    if (this.timer !== undefined) return;
    const waitMs = this.oldestQueuedAt + this.options.lingerMs - this.now();
    if (waitMs <= 0) {
      this.startSend();
      return;
    }
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.startSend();
    }, waitMs);
  }

  private startSend(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.queue.splice(0, this.options.maxBatch);
    if (batch.length === 0) return;
    this.sending = this.sendBatch(batch).finally(() => {
      this.sending = undefined;
      this.schedule();
    });
  }

  private async sendBatch(batch: Queued<T>[]): Promise<void> {
    try {
      await this.send(batch.map((q) => q.item));
      for (const q of batch) q.resolve();
    } catch (err) {
      // What queued behind a failed send fails with it: a record's answer must not reach the topic before
      // the answer of an earlier record of its key, which is produced again only when that record is re-read.
      for (const q of batch) q.reject(err);
      for (const q of this.queue.splice(0)) q.reject(err);
    }
  }
}
