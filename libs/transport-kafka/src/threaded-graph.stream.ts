import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { GraphRecordAnswerer, type GraphInfer, type StreamAnswer } from './graph-record.answerer';
import type { KafkaLogger } from './kafka.client';
import { topicsOf, type GraphStream, type GraphStreamOptions, type StreamedGraph } from './kafka-graph.stream';
import type { PipelineStats } from './pipelined.consumer';
import type { GraphTopicNames } from './topics';
import { MESSAGE_CHUNK, type LoopToThread, type StreamThreadData, type StreamThreadSettings, type ThreadAnswer, type ThreadRecord, type ThreadToLoop } from './stream-thread.protocol';

const THREAD_FILE = path.join(__dirname, 'stream-thread.worker.js');
/** A thread that ended while streaming is started again after this, doubling up to RESTART_MAX_MS. */
const RESTART_FIRST_MS = 500;
const RESTART_MAX_MS = 30_000;

/** One running stream thread: the worker and the answers waiting to be posted to it. */
interface Running {
  readonly worker: Worker;
  outbox: ThreadAnswer[];
  flushing: boolean;
  /** Resolves when the thread reports it stopped (or ends). */
  readonly stopped: Promise<void>;
  gone: boolean;
}

/**
 * Graph topics on Kafka with the Kafka client on a thread of its own (stream-thread.worker): the thread
 * fetches, keeps per-key order and the in-flight window, produces answers and commits; this event loop only
 * decodes, runs the graph and encodes (GraphRecordAnswerer, the same contract as KafkaGraphStream). On a
 * two-core machine the client's work per record — about what a bare kafkajs relay spends — no longer queues
 * behind inference on one JavaScript thread. Records and answers cross in messages of up to MESSAGE_CHUNK.
 *
 * A thread that ends unexpectedly is started again (what it had taken and not committed is read again: at
 * least once, as after a crash); a thread that cannot start (the topics contradict the graph, no broker)
 * fails `start` with its reason.
 */
export class ThreadedGraphStream implements GraphStream {
  private readonly answerer: GraphRecordAnswerer;
  private running: Running | undefined;
  private graphs: readonly StreamedGraph[] = [];
  private topics: GraphTopicNames[] = [];
  private latest: PipelineStats | undefined;
  private stopping = false;
  private restartTimer: NodeJS.Timeout | undefined;
  private restartDelayMs = RESTART_FIRST_MS;
  private restarted = 0;

  constructor(
    private readonly settings: StreamThreadSettings,
    private readonly options: GraphStreamOptions,
    infer: GraphInfer,
    private readonly logger: KafkaLogger,
  ) {
    this.answerer = new GraphRecordAnswerer(infer, logger);
  }

  async start(graphs: readonly StreamedGraph[]): Promise<void> {
    if (graphs.length === 0) return;
    this.stopping = false;
    this.answerer.stopping = false;
    this.graphs = graphs;
    this.topics = graphs.map(topicsOf);
    await this.launch();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.answerer.stopping = true;
    clearTimeout(this.restartTimer);
    const running = this.running;
    if (running === undefined) return;
    // The thread stops reading, waits for the answers of what it took (this loop keeps answering), commits
    // them and leaves the group; then it is ended.
    if (!running.gone) running.worker.postMessage({ type: 'stop' } satisfies LoopToThread);
    await running.stopped;
    await running.worker.terminate();
    this.running = undefined;
  }

  stats(): PipelineStats | undefined {
    return this.latest;
  }

  restarts(): number {
    return this.restarted;
  }

  /** The running thread's id (undefined while none runs): a new one after each restart. */
  get threadId(): number | undefined {
    return this.running?.gone === false ? this.running.worker.threadId : undefined;
  }

  /**
   * Ends the thread at once, as a crash would: nothing it took is committed unless already answered, and it is
   * started again like a thread that failed. Tests use it to show that nothing is lost.
   */
  async terminateThread(): Promise<void> {
    await this.running?.worker.terminate();
  }

  /** Starts a thread; resolves once it streams, rejects with its reason when it cannot start. */
  private launch(): Promise<void> {
    const data: StreamThreadData = { settings: this.settings, options: this.options, graphs: this.graphs };
    const worker = new Worker(THREAD_FILE, { workerData: data });
    // Shutdown ends the thread; it must never be what keeps a process alive.
    worker.unref();
    let markStopped: () => void = () => undefined;
    const running: Running = { worker, outbox: [], flushing: false, stopped: new Promise((r) => (markStopped = r)), gone: false };
    this.running = running;
    return new Promise<void>((resolve, reject) => {
      let started = false;
      worker.on('message', (message: ThreadToLoop) => {
        switch (message.type) {
          case 'records':
            this.answerAll(running, message.bytes, message.records);
            return;
          case 'stats':
            this.latest = message.stats;
            return;
          case 'log':
            if (message.level === 'warn') this.logger.warn(message.message);
            else this.logger.log(message.message);
            return;
          case 'started':
            started = true;
            this.restartDelayMs = RESTART_FIRST_MS;
            resolve();
            return;
          case 'failed':
            running.gone = true;
            reject(new Error(message.message));
            void worker.terminate();
            return;
          case 'stopped':
            markStopped();
            return;
        }
      });
      worker.on('error', (err) => this.logger.warn(`graph stream thread failed: ${err.message}`));
      worker.on('exit', (code) => {
        running.gone = true;
        markStopped();
        if (!started) {
          reject(new Error(`graph stream thread exited with code ${code} before it streamed`));
          return;
        }
        if (this.stopping || this.running !== running) return;
        // What it took and did not commit is read again by the next member of the group (this one, restarted).
        this.restarted++;
        this.logger.warn(`graph stream thread exited with code ${code}; starting it again in ${this.restartDelayMs} ms`);
        this.scheduleRestart();
      });
    });
  }

  private scheduleRestart(): void {
    const delayMs = this.restartDelayMs;
    this.restartDelayMs = Math.min(RESTART_MAX_MS, delayMs * 2);
    this.restartTimer = setTimeout(() => {
      if (this.stopping) return;
      this.launch().catch((err: unknown) => {
        this.logger.warn(`graph stream thread could not start again: ${err instanceof Error ? err.message : String(err)}; trying again in ${this.restartDelayMs} ms`);
        if (!this.stopping) this.scheduleRestart();
      });
    }, delayMs);
  }

  private answerAll(running: Running, bytes: ArrayBuffer, records: readonly ThreadRecord[]): void {
    for (const r of records) {
      const graph = this.graphs[r.graph];
      const topics = this.topics[r.graph];
      if (graph === undefined || topics === undefined) continue;
      // A view of the transferred buffer: the value is not copied again.
      const value = r.valueEnd < 0 ? null : Buffer.from(bytes, r.valueStart, r.valueEnd - r.valueStart);
      this.answerer.answer(graph.name, topics, { topic: topics.inputs, partition: r.partition, offset: r.offset, value, headers: r.headers }).then(
        (answer) => this.reply(running, toThread(r.id, answer, value)),
        (err: unknown) => this.reply(running, { id: r.id, unanswered: err instanceof Error ? err.message : String(err) }),
      );
    }
  }

  private reply(running: Running, answer: ThreadAnswer): void {
    if (running.gone) return;
    running.outbox.push(answer);
    if (running.outbox.length >= MESSAGE_CHUNK) {
      this.flushAnswers(running);
      return;
    }
    if (running.flushing) return;
    running.flushing = true;
    setImmediate(() => {
      running.flushing = false;
      this.flushAnswers(running);
    });
  }

  private flushAnswers(running: Running): void {
    const answers = running.outbox;
    if (answers.length === 0) return;
    running.outbox = [];
    if (!running.gone) running.worker.postMessage({ type: 'answers', answers } satisfies LoopToThread);
  }
}

/** The answer as it crosses to the thread: the request's own value is echoed, not copied back. */
function toThread(id: number, answer: StreamAnswer, requestValue: Buffer | null): ThreadAnswer {
  const v = answer.value;
  if (v !== null && v === requestValue) return { id, topic: answer.topic, value: null, echo: true, headers: answer.headers };
  // A Buffer may be a slice of a shared pool: copy its bytes alone rather than clone the pool with it.
  return { id, topic: answer.topic, value: typeof v === 'string' || v === null ? v : new Uint8Array(v), echo: false, headers: answer.headers };
}
