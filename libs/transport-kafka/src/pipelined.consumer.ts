import type { Consumer, KafkaMessage } from 'kafkajs';
import type { KafkaClient, KafkaLogger } from './kafka.client';

export interface ConsumedRecord {
  readonly topic: string;
  readonly partition: number;
  readonly message: KafkaMessage;
}

/**
 * Handles one record. It must answer the record itself (output or error record) and resolve only once
 * that answer is acknowledged; a rejection means the record could not be answered at all (the broker is
 * unreachable) and it is consumed again. With per-key order, it queues its answer only in its key's turn.
 */
export type RecordHandler = (record: ConsumedRecord, turn: KeyTurn) => Promise<void>;

/**
 * A record's place in its key's order. Records of one key are handled side by side; only their answers are
 * ordered. The handler awaits `ready()` (every earlier record of its key has queued its answer: true; one of
 * them will not be answered: false), checks `mayAnswer()` right before it queues its answer with a producer
 * that sends in queue order and fails what queued behind a failed send (KafkaClient), and calls `queued()`,
 * which lets the key's next record queue its own. When either says false, an earlier record of the partition
 * was not answered: the handler throws ReadAgain and the record is read again with it.
 */
export interface KeyTurn {
  ready(): Promise<boolean>;
  mayAnswer(): boolean;
  queued(): void;
}

/** The turn of a record that waits for no other (order not kept, or the first of its key in flight). */
const TRUE = Promise.resolve(true);

/**
 * Queues a record's answer in its key's turn with a producer that keeps queue order (KafkaClient.send), and
 * resolves once it is acknowledged; throws ReadAgain, queueing nothing, when the turn says not to answer.
 */
export async function answerInTurn(turn: KeyTurn, send: () => Promise<void>): Promise<void> {
  if (!(await turn.ready()) || !turn.mayAnswer()) throw new ReadAgain();
  const acknowledged = send();
  // The producer keeps the order answers are queued in: the key's next answer may be queued now.
  turn.queued();
  await acknowledged;
}

export interface PipelinedConsumerOptions {
  readonly name: string;
  readonly groupId: string;
  readonly topics: readonly string[];
  /** Records in flight at once across all partitions; reading stops while the limit is reached. */
  readonly maxInFlight: number;
  /** Keep records of one key in order (each waits for the previous one of its key). */
  readonly orderByKey: boolean;
  readonly fromBeginning: boolean;
  readonly sessionTimeoutMs?: number;
  /** Partitions consumed concurrently (the most partitions any of the topics has). */
  readonly partitions: number;
  /** How long a partition rests after a record could not be answered, before it is read again from that record. */
  readonly replayDelayMs?: number;
  /**
   * Most records of one partition taken but not yet committable (from its first unanswered record to the last
   * one taken); reading of the partition waits beyond it. Bounds what an unanswered record holds back: memory,
   * and what a crash replays. Default: 4 × maxInFlight.
   */
  readonly maxUncommittedPerPartition?: number;
}

export interface PipelineStats {
  readonly name: string;
  readonly groupId: string;
  readonly topics: readonly string[];
  readonly inFlight: number;
  readonly peakInFlight: number;
  readonly maxInFlight: number;
  /** Times reading stopped because maxInFlight records were in flight, or a partition reached maxUncommittedPerPartition. */
  readonly pauses: number;
  readonly paused: boolean;
  readonly handled: number;
  /** Records not answered (broker unreachable), or read past one that was not, and consumed again. */
  readonly retried: number;
  /**
   * Per assigned partition: records behind the partition's end, as of the latest fetch (high watermark
   * minus the next offset to commit).
   */
  readonly lag: readonly PartitionLag[];
}

/** Lag samples of consumers, labelled by group, topic and partition (what the lag gauge exports). */
export function lagSamples(stats: readonly PipelineStats[]): [{ group: string; topic: string; partition: string }, number][] {
  return stats.flatMap((s) => s.lag.map((l): [{ group: string; topic: string; partition: string }, number] => [{ group: s.groupId, topic: l.topic, partition: String(l.partition) }, l.lag]));
}

export interface PartitionLag {
  readonly topic: string;
  readonly partition: number;
  readonly lag: number;
}

const HEARTBEAT_MS = 1000;
const COMMIT_INTERVAL_MS = 1000;
/**
 * How long a fetch waits at the broker for records that are not there yet (kafkajs' maxWaitTimeInMs, 5 s by
 * default). kafkajs stops a consumer, and so leaves its group, only once the fetch in flight returns: with
 * 5 s, a process stopped with SIGTERM held its partitions past a 5 s kill grace (never leaving, so the group
 * waited out the 30 s session timeout before another member took them). A fetch returns as soon as records
 * arrive whatever this is, so it costs an idle consumer two fetches a second and nothing under load.
 */
const FETCH_WAIT_MS = 500;
const DEFAULT_REPLAY_DELAY_MS = 1000;
const DEFAULT_UNCOMMITTED_FACTOR = 4;

/** A record taken from a fetch and not yet answered, in its partition's offset order. */
interface TakenRecord {
  readonly offset: number;
  done: boolean;
}

/**
 * One assigned partition as this member reads it. `live` turns false when the partition is read again from
 * `next` (a record could not be answered) or the group rebalanced: records taken before then no longer move it.
 */
interface PartitionState {
  readonly topic: string;
  readonly partition: number;
  live: boolean;
  /** High watermark of the latest fetch. */
  high: number;
  /** The first offset not answered: everything before it is answered (what a commit may say). */
  next: number;
  committed: number;
  /** Taken records, oldest first; the answered head moves `next`. */
  readonly taken: TakenRecord[];
  /**
   * Per key (when ordered): the turn of the key's latest record in flight, which the key's next record waits
   * for (true: its answer is queued; false: it will not be answered).
   */
  readonly chains: Map<string, Promise<boolean>>;
  /** Readers waiting for `taken` to shrink below the partition's limit. */
  readonly roomWaiters: (() => void)[];
  /** The turn of every record whose order is not kept (made once per partition, not per record). */
  readonly freeTurn: KeyTurn;
}

/**
 * A consumer group member that handles many records at once while keeping Kafka's guarantees: per-key
 * order when asked, and at-least-once — a partition's offset is committed only past a contiguous run of
 * records whose answers were acknowledged, so a crash or a rebalance replays what was not answered.
 *
 * Reading runs ahead of answering: a fetched batch is handed out record by record as the in-flight window
 * has room, and the next fetch starts as soon as the batch is handed out, not when it is answered (kafkajs
 * fetches again only once every batch of the previous fetch returned). The fetch position therefore runs
 * ahead of the commit position; offsets are committed by this class from its own answered positions, never
 * from kafkajs' resolved ones. Memory is bounded: at most `maxInFlight` records are being handled, and
 * reading pauses at the limit.
 */
export class PipelinedConsumer {
  private consumer: Consumer | undefined;
  private stopping = false;
  private inFlight = 0;
  private peak = 0;
  private pauses = 0;
  private handled = 0;
  private retried = 0;
  private waiters: (() => void)[] = [];
  private idleWaiters: (() => void)[] = [];
  private lastPauseLog = 0;
  /** Per "topic:partition" assigned now. */
  private readonly partitions = new Map<string, PartitionState>();
  private committer: NodeJS.Timeout | undefined;
  private readonly resumeTimers = new Set<NodeJS.Timeout>();
  private readonly maxUncommitted: number;

  constructor(
    private readonly client: KafkaClient,
    private readonly options: PipelinedConsumerOptions,
    private readonly logger: KafkaLogger,
  ) {
    this.maxUncommitted = Math.max(1, options.maxUncommittedPerPartition ?? DEFAULT_UNCOMMITTED_FACTOR * options.maxInFlight);
  }

  start(handler: RecordHandler): Promise<void> {
    this.stopping = false;
    return this.client.retrying(`${this.options.name}: joining group ${this.options.groupId}`, async () => {
      await this.consumer?.disconnect().catch(() => undefined);
      await this.run(handler);
    });
  }

  private async run(handler: RecordHandler): Promise<void> {
    const o = this.options;
    const consumer = this.client.consumer({
      groupId: o.groupId,
      maxWaitTimeInMs: FETCH_WAIT_MS,
      ...(o.sessionTimeoutMs !== undefined ? { sessionTimeout: o.sessionTimeoutMs, heartbeatInterval: Math.max(500, Math.floor(o.sessionTimeoutMs / 5)) } : {}),
    });
    this.consumer = consumer;
    // Partitions move on a rebalance: what was taken before no longer moves them, and their new owner
    // reads from the last commit. Commit what is answered as soon as a rebalance is seen.
    consumer.on(consumer.events.GROUP_JOIN, () => this.forgetPartitions());
    consumer.on(consumer.events.REBALANCING, () => void this.commitPositions(consumer));
    await consumer.connect();
    await consumer.subscribe({ topics: [...o.topics], fromBeginning: o.fromBeginning });
    clearInterval(this.committer);
    this.committer = setInterval(() => void this.commitPositions(consumer), COMMIT_INTERVAL_MS);
    // Offsets are committed by this class: once a second when some advanced, when a rebalance is seen or a
    // heartbeat refused, and when stopping. kafkajs' own commits (autoCommit) would commit what was read, not
    // what was answered.
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: Math.max(1, o.partitions),
      eachBatch: async (payload) => {
        const { batch } = payload;
        const messages = batch.messages;
        const first = messages[0];
        if (first === undefined) return;
        const state = this.stateOf(batch.topic, batch.partition, Number(batch.highWatermark), Number(first.offset));
        let last: KafkaMessage | undefined;
        // Waiting for room in the window can take a while: keep the membership alive meanwhile, and commit
        // what is answered when a heartbeat is refused (a rebalance is under way).
        const beat = setInterval(() => {
          payload.heartbeat().catch(() => this.commitPositions(consumer));
        }, HEARTBEAT_MS);
        try {
          for (const message of messages) {
            if (!state.live || this.stopping || !payload.isRunning()) break;
            if (state.taken.length >= this.maxUncommitted && !(await this.partitionRoom(state))) break;
            if (!(await this.acquire())) break;
            if (!state.live) {
              this.release();
              break;
            }
            this.take(state, message, handler, consumer);
            last = message;
          }
        } finally {
          clearInterval(beat);
          // The next fetch of this partition starts after the last record handed out. kafkajs keeps one
          // resolved offset per partition, so resolving the last is resolving them all.
          if (last !== undefined && state.live) payload.resolveOffset(last.offset);
        }
      },
    });
  }

  /** Hands one record to the handler; when order is kept, its answer is queued after the previous record's of its key. */
  private take(state: PartitionState, message: KafkaMessage, handler: RecordHandler, consumer: Consumer): void {
    const entry: TakenRecord = { offset: Number(message.offset), done: false };
    state.taken.push(entry);
    // latin1 maps each byte to one character: distinct keys stay distinct, for less than base64 costs.
    const key = this.options.orderByKey && message.key !== null ? message.key.toString('latin1') : undefined;
    const previous = key === undefined ? undefined : state.chains.get(key);
    const record: ConsumedRecord = { topic: state.topic, partition: state.partition, message };
    // Settles true once this record's answer is queued (the key's next answer may be queued), false when it
    // will not be answered (the key's later records must not be either: they are read again with it).
    let settleTurn: (queued: boolean) => void = () => undefined;
    const turnDone = key === undefined ? undefined : new Promise<boolean>((resolve) => (settleTurn = resolve));
    const turn: KeyTurn = key === undefined ? state.freeTurn : { ready: () => previous ?? TRUE, mayAnswer: () => state.live, queued: () => settleTurn(true) };
    let task: Promise<void>;
    // A record whose partition is read again (or moved) before it starts is left for that reading.
    if (!state.live) task = Promise.reject(new ReadAgain());
    else {
      try {
        task = handler(record, turn);
      } catch (err) {
        task = Promise.reject(err instanceof Error ? err : new Error(String(err)));
      }
    }
    task.then(
      () => {
        settleTurn(true);
        this.release();
        this.handled++;
        entry.done = true;
        if (key !== undefined && state.chains.get(key) === turnDone) state.chains.delete(key);
        if (state.live) this.advance(state);
      },
      (err: unknown) => {
        settleTurn(false);
        this.release();
        if (key !== undefined && state.chains.get(key) === turnDone) state.chains.delete(key);
        // While stopping, an unanswered record just stays uncommitted: the group's next reader answers it.
        if (state.live && !this.stopping && !(err instanceof ReadAgain)) this.readAgain(state, err, consumer);
      },
    );
    if (key !== undefined && turnDone !== undefined) state.chains.set(key, turnDone);
  }

  /** Moves the partition's answered position past the contiguous answered head of its taken records. */
  private advance(state: PartitionState): void {
    const taken = state.taken;
    // shift() trims the array's front in place; splice would allocate an array of the removed per answer.
    for (let head = taken[0]; head?.done === true; head = taken[0]) {
      state.next = head.offset + 1;
      taken.shift();
    }
    if (taken.length < this.maxUncommitted) for (const wake of state.roomWaiters.splice(0)) wake();
  }

  /** Waits until the partition may take another record; false when it is read again, moved, or stopping. */
  private async partitionRoom(state: PartitionState): Promise<boolean> {
    this.pauses++;
    while (state.live && !this.stopping && state.taken.length >= this.maxUncommitted) await new Promise<void>((resolve) => state.roomWaiters.push(resolve));
    return state.live && !this.stopping;
  }

  /** Takes the partition out of this member's reading: what was taken moves nothing any more. */
  private retire(state: PartitionState): void {
    state.live = false;
    for (const wake of state.roomWaiters.splice(0)) wake();
  }

  /**
   * A record could not be answered (the broker is unreachable): the partition is read again from its first
   * unanswered record after a pause; records taken after it are dropped from this reading (they are answered
   * again: at least once).
   */
  private readAgain(state: PartitionState, err: unknown, consumer: Consumer): void {
    this.retire(state);
    const again = state.taken.filter((t) => !t.done).length;
    this.retried += again;
    const key = `${state.topic}:${state.partition}`;
    if (this.partitions.get(key) === state) this.partitions.set(key, this.freshState(state.topic, state.partition, state.high, state.next, state.committed));
    const where = [{ topic: state.topic, partitions: [state.partition] }];
    const delayMs = this.options.replayDelayMs ?? DEFAULT_REPLAY_DELAY_MS;
    this.logger.warn(
      `${this.options.name}: a record of ${state.topic}[${state.partition}] was not answered (${err instanceof Error ? err.message : String(err)}); ` +
        `reading the partition again from offset ${state.next} (${again} record(s)) in ${delayMs} ms`,
    );
    try {
      consumer.pause(where);
      consumer.seek({ topic: state.topic, partition: state.partition, offset: String(state.next) });
    } catch (e) {
      // Not running any more: the next member (or this one, restarted) reads from the last commit.
      this.logger.warn(`${this.options.name}: could not rewind ${state.topic}[${state.partition}]: ${e instanceof Error ? e.message : String(e)}`);
      return;
    }
    const timer = setTimeout(() => {
      this.resumeTimers.delete(timer);
      if (this.consumer === consumer && !this.stopping) consumer.resume(where);
    }, delayMs);
    this.resumeTimers.add(timer);
  }

  /** Stops reading, lets the records in flight finish and commits them, then leaves the group. */
  async stop(): Promise<void> {
    const consumer = this.consumer;
    this.consumer = undefined;
    this.stopping = true;
    clearInterval(this.committer);
    for (const t of this.resumeTimers) clearTimeout(t);
    this.resumeTimers.clear();
    // Whoever waits for room gives up; nothing more is taken.
    for (const wake of this.waiters.splice(0)) wake();
    for (const p of this.partitions.values()) for (const wake of p.roomWaiters.splice(0)) wake();
    if (consumer === undefined) return;
    try {
      consumer.pause(this.options.topics.map((topic) => ({ topic })));
    } catch {
      // Not running: nothing is fetched anyway.
    }
    await this.idle();
    await this.commitPositions(consumer);
    await consumer.disconnect();
  }

  /** Commits each partition's next offset to answer, where it advanced since the last commit. */
  private async commitPositions(consumer: Consumer): Promise<void> {
    const advanced = [...this.partitions.values()].filter((p) => p.next > p.committed);
    if (advanced.length === 0) return;
    const offsets = advanced.map((p) => ({ topic: p.topic, partition: p.partition, offset: String(p.next) }));
    const at = advanced.map((p) => p.next);
    try {
      await consumer.commitOffsets(offsets);
      for (const [i, p] of advanced.entries()) p.committed = Math.max(p.committed, at[i] ?? 0);
    } catch {
      // Not running, or a rebalance moved the partition: its new owner replays from the last commit.
    }
  }

  stats(): PipelineStats {
    const o = this.options;
    return {
      name: o.name,
      groupId: o.groupId,
      topics: o.topics,
      inFlight: this.inFlight,
      peakInFlight: this.peak,
      maxInFlight: o.maxInFlight,
      pauses: this.pauses,
      paused: this.waiters.length > 0 || [...this.partitions.values()].some((p) => p.roomWaiters.length > 0),
      handled: this.handled,
      retried: this.retried,
      lag: [...this.partitions.values()].map((p) => ({ topic: p.topic, partition: p.partition, lag: Math.max(0, p.high - p.next) })),
    };
  }

  private forgetPartitions(): void {
    for (const p of this.partitions.values()) this.retire(p);
    this.partitions.clear();
  }

  private stateOf(topic: string, partition: number, high: number, firstOffset: number): PartitionState {
    const key = `${topic}:${partition}`;
    let p = this.partitions.get(key);
    if (p === undefined) {
      p = this.freshState(topic, partition, high, firstOffset, firstOffset);
      this.partitions.set(key, p);
    }
    p.high = high;
    return p;
  }

  private freshState(topic: string, partition: number, high: number, next: number, committed: number): PartitionState {
    const state: PartitionState = { topic, partition, live: true, high, next, committed, taken: [], chains: new Map(), roomWaiters: [], freeTurn: { ready: () => TRUE, mayAnswer: () => state.live, queued: () => undefined } };
    return state;
  }

  /** Waits for room in the window; false when stopping. */
  private async acquire(): Promise<boolean> {
    if (this.inFlight >= this.options.maxInFlight) {
      this.pauses++;
      if (Date.now() - this.lastPauseLog > 10_000) {
        this.lastPauseLog = Date.now();
        this.logger.log(`${this.options.name}: ${this.inFlight} records in flight (limit ${this.options.maxInFlight}); reading paused until some finish`);
      }
      while (this.inFlight >= this.options.maxInFlight && !this.stopping) await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
    if (this.stopping) return false;
    this.inFlight++;
    this.peak = Math.max(this.peak, this.inFlight);
    return true;
  }

  private release(): void {
    this.inFlight--;
    this.waiters.shift()?.();
    if (this.inFlight === 0) for (const wake of this.idleWaiters.splice(0)) wake();
  }

  private idle(): Promise<void> {
    return this.inFlight === 0 ? Promise.resolve() : new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }
}

/** A taken record left for the partition's next reading (also what a handler throws when its turn says it must not answer). */
export class ReadAgain extends Error {
  constructor() {
    super('the partition is read again from an earlier record');
  }
}
