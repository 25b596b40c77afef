import type { Worker } from 'node:worker_threads';

/** A thread's or child process's answer to one call: the call's id, and its result or an error message. */
export type CallReply = { readonly id: number; readonly error?: string } & Readonly<Record<string, unknown>>;

/**
 * Request/reply over one message channel (a worker thread, a child process): each call sends
 * `{id, ...message}` and settles when an answer with the same id arrives (`error` rejects; otherwise
 * `resultOf` reads the result from the reply). The owner feeds the channel's messages to `answer`.
 */
export class CallChannel<Result> {
  private nextId = 0;
  private readonly pending = new Map<number, { resolve: (r: Result) => void; reject: (e: Error) => void }>();

  constructor(
    private readonly send: (message: Readonly<Record<string, unknown>>) => void,
    private readonly resultOf: (reply: CallReply) => Result,
    /** Called after each answer, with the number of calls still pending. */
    private readonly onAnswer: (pending: number) => void = () => undefined,
  ) {}

  get pendingCount(): number {
    return this.pending.size;
  }

  call(message: Readonly<Record<string, unknown>>): Promise<Result> {
    const id = this.nextId++;
    return new Promise<Result>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      try {
        this.send({ ...message, id });
      } catch (err) {
        this.pending.delete(id);
        reject(err instanceof Error ? err : new Error(String(err)));
      }
    });
  }

  /** Settles the call a reply answers; a reply to no pending call is ignored. */
  answer(reply: CallReply): void {
    const waiter = this.pending.get(reply.id);
    if (waiter === undefined) return;
    this.pending.delete(reply.id);
    if (reply.error !== undefined) waiter.reject(new Error(reply.error));
    else waiter.resolve(this.resultOf(reply));
    this.onAnswer(this.pending.size);
  }

  /** Rejects every pending call (the thread or process failed, or is being closed). */
  failAll(error: (index: number) => Error): void {
    let i = 0;
    for (const waiter of this.pending.values()) waiter.reject(error(i++));
    this.pending.clear();
  }
}

/** Request/reply over one worker thread (CallChannel on its postMessage and 'message' events). */
export class ThreadCalls<Result> extends CallChannel<Result> {
  constructor(
    readonly worker: Worker,
    resultOf: (reply: CallReply) => Result,
    onAnswer: (pending: number) => void = () => undefined,
  ) {
    super((message) => worker.postMessage(message), resultOf, onAnswer);
    worker.on('message', (reply: CallReply) => this.answer(reply));
  }
}
