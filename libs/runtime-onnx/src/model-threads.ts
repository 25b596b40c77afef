import { existsSync } from 'node:fs';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { Tensor, TensorMap, TensorSpec } from '@infergraph/protocol';
import type { ModelLoadOptions, ModelSession } from '@infergraph/nodes';
import { ORT_TYPE_OF } from './onnx-datatype.map';
import type { OpenedSession, ThreadReply, ThreadRequest, WireTensor } from './model-thread.protocol';

const THREAD_FILE = path.join(__dirname, 'model-thread.worker.js');
/** Width of the window a thread's recent runs are counted in, when placing a session. */
const RECENT_MS = 5000;

/** Request bodies: the pool adds the id. */
type Outgoing = ThreadRequest extends infer R ? (R extends ThreadRequest ? Omit<R, 'id'> : never) : never;

interface Waiter {
  readonly resolve: (reply: ThreadReply) => void;
  readonly reject: (err: Error) => void;
}

/** One model thread: requests queued in a turn of the event loop go as one message. */
class ModelThread {
  readonly worker: Worker;
  /** worker_threads threadId (the Worker's own reads -1 once it has exited). */
  readonly threadId: number;
  /** Sessions held (opened and not released). */
  sessions = 0;
  /** Runs answered, to tell idle threads from busy ones. */
  runs = 0;
  /** Runs answered in the current and the previous window of RECENT_MS (see `recentRuns`). */
  private window = { index: 0, current: 0, previous: 0 };
  private nextId = 0;
  private queue: ThreadRequest[] = [];
  /** Buffers moved with the queued requests (model bytes), not copied. */
  private moved: ArrayBuffer[] = [];
  private readonly pending = new Map<number, Waiter>();
  /** Why the thread is gone; undefined while it runs. */
  gone: string | undefined;

  constructor(file: string, onGone: (thread: ModelThread, why: string) => void) {
    this.worker = new Worker(file);
    this.threadId = this.worker.threadId;
    this.worker.unref();
    this.worker.on('message', (replies: readonly ThreadReply[]) => {
      for (const reply of replies) {
        const waiter = this.pending.get(reply.id);
        if (waiter === undefined) continue;
        this.pending.delete(reply.id);
        if (reply.outputs !== undefined) this.countRun();
        waiter.resolve(reply);
      }
      // Nothing pending: the thread must not keep the process alive.
      if (this.pending.size === 0) this.worker.unref();
    });
    this.worker.on('error', (err) => this.end(`failed: ${err.message}`, onGone));
    this.worker.on('exit', (code) => this.end(`exited with code ${code}`, onGone));
  }


  /** Runs answered lately (this window and the one before): how busy the thread's sessions are now. */
  recentRuns(now = performance.now()): number {
    this.roll(now);
    return this.window.current + this.window.previous;
  }

  private countRun(): void {
    this.runs++;
    this.roll(performance.now());
    this.window.current++;
  }

  private roll(now: number): void {
    const index = Math.floor(now / RECENT_MS);
    if (index === this.window.index) return;
    this.window = { index, current: 0, previous: index === this.window.index + 1 ? this.window.current : 0 };
  }

  /** Queues a request for the next message to the thread; `move` goes with it without a copy (the caller's view of it empties). */
  request(body: Outgoing, move?: ArrayBuffer): Promise<ThreadReply> {
    if (this.gone !== undefined) return Promise.reject(new Error(`model thread ${this.threadId} ${this.gone}`));
    const id = this.nextId++;
    return new Promise<ThreadReply>((resolve, reject) => {
      if (this.pending.size === 0) this.worker.ref();
      this.pending.set(id, { resolve, reject });
      if (move !== undefined) this.moved.push(move);
      if (this.queue.push({ ...body, id }) === 1) setImmediate(() => this.flush());
    });
  }

  private flush(): void {
    const batch = this.queue;
    const moved = this.moved;
    this.queue = [];
    this.moved = [];
    if (this.gone !== undefined || batch.length === 0) return;
    try {
      this.worker.postMessage(batch, moved);
    } catch (err) {
      // A feed structured clone refuses: that batch's callers hear it; the thread is unharmed.
      for (const request of batch) {
        this.pending.get(request.id)?.reject(new Error(`cannot send to model thread ${this.threadId}: ${err instanceof Error ? err.message : String(err)}`));
        this.pending.delete(request.id);
      }
    }
  }

  private end(why: string, onGone: (thread: ModelThread, why: string) => void): void {
    if (this.gone !== undefined) return;
    this.gone = why;
    const error = new Error(`model thread ${this.threadId} ${why}`);
    for (const waiter of this.pending.values()) waiter.reject(error);
    this.pending.clear();
    this.queue = [];
    onGone(this, why);
  }

  terminate(): Promise<number> {
    this.gone ??= 'was stopped';
    return this.worker.terminate();
  }
}

export interface ModelThreadsOptions {
  /** Most threads; a new session gets a thread of its own until there are this many, then shares the least used. */
  readonly maxThreads: number;
  /** A thread failed or exited without being asked: its sessions are gone (the process should be replaced). */
  readonly onThreadExit?: (why: string) => void;
  /** The thread's script; tests may give another. */
  readonly threadFile?: string;
}

/**
 * onnxruntime sessions held in worker threads. onnxruntime-node creates and runs sessions synchronously on
 * the calling thread: a 4.5 MB model blocks for 4–35 ms to open, and every run blocks for its inference. In
 * model threads neither touches the event loop that serves requests and sends heartbeats, a model that opens
 * never delays the models of other threads, and runs of models in different threads use different cores.
 * The price is a structured-clone hop per batch of calls (tens of µs), more than a small model's whole run:
 * processes keep such sessions on their own thread (OnnxModelLoaderOptions.threadsFor).
 */
export class ModelThreads {
  private readonly threads: ModelThread[] = [];
  private nextSession = 1;
  private closing = false;

  constructor(private readonly options: ModelThreadsOptions) {
    if (!Number.isInteger(options.maxThreads) || options.maxThreads < 1) throw new Error(`maxThreads must be a positive integer, got ${options.maxThreads}`);
    // Every thread starts now, with the process: starting one (a V8 isolate and onnxruntime's native set-up,
    // about 45 ms of CPU) while models load would take a core from serving just when it is scarce.
    for (let i = 0; i < options.maxThreads; i++) this.start();
  }

  /** Opens a session in a model thread; rejects with onnxruntime's reason when the model cannot be loaded. */
  async open(bytes: Uint8Array, options: ModelLoadOptions, preferGpu: boolean): Promise<ThreadedModelSession> {
    const thread = this.pick();
    const session = this.nextSession++;
    thread.sessions++;
    try {
      // A buffer holding just the model moves to the thread: copying megabytes would be work on the event loop.
      const whole = bytes.buffer instanceof ArrayBuffer && bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength;
      const reply = await thread.request({ op: 'open', session, bytes, intraOpThreads: options.intraOpThreads, preferGpu }, whole ? bytes.buffer : undefined);
      if (reply.error !== undefined || reply.opened === undefined) throw new Error(reply.error ?? 'the model thread answered without a session');
      return new ThreadedModelSession(thread, session, reply.opened);
    } catch (err) {
      thread.sessions--;
      throw err;
    }
  }

  /** Threads and the sessions each holds. */
  stats(): { threadId: number; sessions: number; runs: number }[] {
    return this.threads.map((t) => ({ threadId: t.threadId, sessions: t.sessions, runs: t.runs }));
  }

  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(this.threads.splice(0).map((t) => t.terminate()));
  }

  /**
   * A thread with no session while there is one; else the one whose sessions ran least lately, then the one
   * with fewest sessions. Opening blocks the thread's runs for as long as it takes (tens of ms for a few MB),
   * so a model that opens goes where it delays the fewest calls: never beside the sessions serving traffic
   * while a quieter thread exists.
   */
  private pick(): ModelThread {
    if (this.closing) throw new Error('the model threads are closed');
    // A thread that ends leaves `threads` at once (start's onGone): every one here is live; its place is
    // taken by a new thread when a session next needs one.
    const idle = this.threads.find((t) => t.sessions === 0);
    if (idle !== undefined) return idle;
    if (this.threads.length < this.options.maxThreads) return this.start();
    const now = performance.now();
    let best = this.threads[0] as ModelThread;
    let bestRuns = best.recentRuns(now);
    for (const t of this.threads.slice(1)) {
      const runs = t.recentRuns(now);
      if (runs < bestRuns || (runs === bestRuns && t.sessions < best.sessions)) {
        best = t;
        bestRuns = runs;
      }
    }
    return best;
  }

  private start(): ModelThread {
    const file = this.options.threadFile ?? THREAD_FILE;
    if (!existsSync(file)) throw new Error(`the model thread script ${file} is missing (build with npm run build)`);
    const thread = new ModelThread(file, (gone, why) => {
      const index = this.threads.indexOf(gone);
      if (index >= 0) this.threads.splice(index, 1);
      if (!this.closing) this.options.onThreadExit?.(`model thread ${gone.threadId} ${why}; the ${gone.sessions} model session(s) it held are gone`);
    });
    this.threads.push(thread);
    return thread;
  }
}

/** A session held by a model thread: the ModelSession port over the thread's messages. */
export class ThreadedModelSession implements ModelSession {
  readonly inputs: readonly TensorSpec[];
  readonly outputs: readonly TensorSpec[];
  readonly provider: string;
  readonly providerNote: string | undefined;
  /** The model thread that holds it (worker_threads threadId; the main thread is 0). */
  readonly threadId: number;
  private readonly datatypes: ReadonlyMap<string, TensorSpec['datatype']>;
  private released = false;

  constructor(
    private readonly thread: ModelThread,
    private readonly session: number,
    opened: OpenedSession,
  ) {
    this.inputs = opened.inputs;
    this.outputs = opened.outputs;
    this.provider = opened.provider;
    this.providerNote = opened.providerNote;
    this.threadId = opened.threadId;
    this.datatypes = new Map(opened.outputs.map((o) => [o.name, o.datatype]));
  }

  async run(feeds: TensorMap): Promise<TensorMap> {
    const wire: WireTensor[] = [];
    for (const t of feeds.values()) wire.push([t.name, ORT_TYPE_OF[t.datatype], t.data, t.shape]);
    const reply = await this.thread.request({ op: 'run', session: this.session, feeds: wire });
    if (reply.error !== undefined) throw new Error(reply.error);
    const out = new Map<string, Tensor>();
    for (const [name, data, dims] of reply.outputs ?? []) {
      const datatype = this.datatypes.get(name);
      if (datatype !== undefined) out.set(name, { name, datatype, shape: dims, data });
    }
    return out;
  }

  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    this.thread.sessions--;
    if (this.thread.gone !== undefined) return;
    const reply = await this.thread.request({ op: 'release', session: this.session });
    if (reply.error !== undefined) throw new Error(reply.error);
  }
}
