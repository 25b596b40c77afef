import type { Worker } from 'node:worker_threads';

/** A worker thread's answer to one call: the call's id, and its result or an error message. */
type ThreadReply = { readonly id: number; readonly error?: string } & Readonly<Record<string, unknown>>;

/**
 * Request/reply over one worker thread: each call posts `{id, ...message}` and settles when the thread
 * answers with the same id (`error` rejects; otherwise `resultOf` reads the result from the reply).
 */
export class ThreadCalls<Result> {
  private nextId = 0;
  private readonly pending = new Map<number, { resolve: (r: Result) => void; reject: (e: Error) => void }>();

  constructor(
    readonly worker: Worker,
    private readonly resultOf: (reply: ThreadReply) => Result,
    /** Called after each answer, with the number of calls still pending. */
    private readonly onAnswer: (pending: number) => void = () => undefined,
  ) {
    worker.on('message', (reply: ThreadReply) => {
      const waiter = this.pending.get(reply.id);
      if (waiter === undefined) return;
      this.pending.delete(reply.id);
      if (reply.error !== undefined) waiter.reject(new Error(reply.error));
      else waiter.resolve(this.resultOf(reply));
      this.onAnswer(this.pending.size);
    });
  }

  get pendingCount(): number {
    return this.pending.size;
  }

  call(message: Readonly<Record<string, unknown>>): Promise<Result> {
    const id = this.nextId++;
    return new Promise<Result>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ ...message, id });
    });
  }

  /** Rejects every pending call (the thread failed or is being closed). */
  failAll(error: (index: number) => Error): void {
    let i = 0;
    for (const waiter of this.pending.values()) waiter.reject(error(i++));
    this.pending.clear();
  }
}
