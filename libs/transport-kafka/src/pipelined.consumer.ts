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
 * unreachable) and it is consumed again.
 */
export type RecordHandler = (record: ConsumedRecord) => Promise<void>;

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
}

export interface PipelineStats {
  readonly name: string;
  readonly groupId: string;
  readonly topics: readonly string[];
  readonly inFlight: number;
  readonly peakInFlight: number;
  readonly maxInFlight: number;
  /** Times reading stopped because maxInFlight records were in flight. */
  readonly pauses: number;
  readonly paused: boolean;
  readonly handled: number;
  /** Records not answered (broker unreachable) and consumed again. */
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
 * A consumer group member that handles many records at once while keeping Kafka's guarantees: per-key
 * order when asked, and at-least-once — a partition's offset advances only past a contiguous run of
 * records whose answers were acknowledged, so a crash or a rebalance replays what was not answered.
 * Memory is bounded: at most `maxInFlight` records are being handled, and reading pauses at the limit.
 */
export class PipelinedConsumer {
  private consumer: Consumer | undefined;
  private inFlight = 0;
  private peak = 0;
  private pauses = 0;
  private handled = 0;
  private retried = 0;
  private waiters: (() => void)[] = [];
  private lastPauseLog = 0;
  /** Per "topic:partition": the high watermark of the latest fetch and the next offset to commit. */
  private readonly positions = new Map<string, { topic: string; partition: number; high: number; next: number; committed: number }>();
  private committer: NodeJS.Timeout | undefined;

  constructor(
    private readonly client: KafkaClient,
    private readonly options: PipelinedConsumerOptions,
    private readonly logger: KafkaLogger,
  ) {}

  start(handler: RecordHandler): Promise<void> {
    return this.client.retrying(`${this.options.name}: joining group ${this.options.groupId}`, async () => {
      await this.consumer?.disconnect().catch(() => undefined);
      await this.run(handler);
    });
  }

  private async run(handler: RecordHandler): Promise<void> {
    const o = this.options;
    const consumer = this.client.consumer({
      groupId: o.groupId,
      ...(o.sessionTimeoutMs !== undefined ? { sessionTimeout: o.sessionTimeoutMs, heartbeatInterval: Math.max(500, Math.floor(o.sessionTimeoutMs / 5)) } : {}),
    });
    this.consumer = consumer;
    // Partitions move on a rebalance: keep lag only for the ones assigned now.
    consumer.on(consumer.events.GROUP_JOIN, () => this.positions.clear());
    await consumer.connect();
    await consumer.subscribe({ topics: [...o.topics], fromBeginning: o.fromBeginning });
    clearInterval(this.committer);
    this.committer = setInterval(() => void this.commitPositions(consumer), COMMIT_INTERVAL_MS);
    // Offsets are committed by this class: once a second when some advanced (kafkajs' autoCommit commits after
    // every batch, one more broker round trip per fetch), on a heartbeat error (rebalance) and when stopping.
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: Math.max(1, o.partitions),
      eachBatch: async (payload) => {
        const { batch } = payload;
        const messages = batch.messages;
        const done = messages.map(() => false);
        let next = 0;
        let failure: unknown;
        const position = this.positionOf(batch.topic, batch.partition, Number(batch.highWatermark), messages[0]?.offset);
        const advance = (): void => {
          const from = next;
          while (next < messages.length && done[next] === true) next++;
          if (next === from) return;
          // kafkajs keeps one resolved offset per partition (the last one given): resolving the end of the
          // run is resolving the run, without its Long arithmetic for every record.
          const offset = (messages[next - 1] as KafkaMessage).offset;
          payload.resolveOffset(offset);
          position.next = Number(offset) + 1;
        };
        const commitResolved = (): Promise<void> => payload.commitOffsetsIfNecessary(payload.uncommittedOffsets()).catch(() => undefined);
        const beat = setInterval(() => {
          // A heartbeat refused during a rebalance: commit what is answered before the partition moves.
          payload.heartbeat().catch(commitResolved);
        }, HEARTBEAT_MS);
        const chains = new Map<string, Promise<void>>();
        const tasks: Promise<void>[] = [];
        try {
          for (let i = 0; i < messages.length; i++) {
            // A batch goes stale only when someone seeks its partition (this class never does): asking kafkajs
            // every 64 records, rather than every record, saves a map lookup and a key string per record.
            if (!payload.isRunning() || failure !== undefined || ((i & 63) === 0 && payload.isStale())) break;
            await this.acquire();
            const message = messages[i] as KafkaMessage;
            // latin1 maps each byte to one character: distinct keys stay distinct, for less than base64 costs.
            const key = o.orderByKey && message.key !== null ? message.key.toString('latin1') : undefined;
            const previous = key === undefined ? undefined : chains.get(key);
            const record = { topic: batch.topic, partition: batch.partition, message };
            const run = (): Promise<void> => handler(record);
            const task = (previous === undefined ? run() : previous.then(run)).then(
              () => {
                this.release();
                done[i] = true;
                this.handled++;
                advance();
              },
              (err: unknown) => {
                this.release();
                failure ??= err;
              },
            );
            if (key !== undefined) chains.set(key, task);
            tasks.push(task);
          }
          await Promise.all(tasks);
        } finally {
          clearInterval(beat);
          if (failure !== undefined || !payload.isRunning() || payload.isStale()) await commitResolved();
        }
        if (failure !== undefined) {
          this.retried += messages.length - next;
          throw failure instanceof Error ? failure : new Error(`record handler failed: ${JSON.stringify(failure)}`);
        }
      },
    });
  }

  /** Stops reading, lets the records in flight finish and commits them, then leaves the group. */
  async stop(): Promise<void> {
    const consumer = this.consumer;
    this.consumer = undefined;
    clearInterval(this.committer);
    // What is answered now; records still in flight commit at the end of their batch.
    if (consumer !== undefined) await this.commitPositions(consumer);
    await consumer?.disconnect();
  }

  /** Commits each partition's next offset to answer, where it advanced since the last commit. */
  private async commitPositions(consumer: Consumer): Promise<void> {
    const advanced = [...this.positions.values()].filter((p) => p.next > p.committed);
    if (advanced.length === 0) return;
    const offsets = advanced.map((p) => ({ topic: p.topic, partition: p.partition, offset: String(p.next) }));
    try {
      await consumer.commitOffsets(offsets);
      for (const [i, p] of advanced.entries()) p.committed = Math.max(p.committed, Number(offsets[i]?.offset));
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
      paused: this.waiters.length > 0,
      handled: this.handled,
      retried: this.retried,
      lag: [...this.positions.values()].map((p) => ({ topic: p.topic, partition: p.partition, lag: Math.max(0, p.high - p.next) })),
    };
  }

  private positionOf(topic: string, partition: number, high: number, firstOffset: string | undefined): { high: number; next: number } {
    const key = `${topic}:${partition}`;
    let p = this.positions.get(key);
    if (p === undefined) {
      const next = firstOffset === undefined ? high : Number(firstOffset);
      p = { topic, partition, high, next, committed: next };
      this.positions.set(key, p);
    }
    p.high = high;
    return p;
  }

  private async acquire(): Promise<void> {
    if (this.inFlight >= this.options.maxInFlight) {
      this.pauses++;
      if (Date.now() - this.lastPauseLog > 10_000) {
        this.lastPauseLog = Date.now();
        this.logger.log(`${this.options.name}: ${this.inFlight} records in flight (limit ${this.options.maxInFlight}); reading paused until some finish`);
      }
      while (this.inFlight >= this.options.maxInFlight) await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
    this.inFlight++;
    this.peak = Math.max(this.peak, this.inFlight);
  }

  private release(): void {
    this.inFlight--;
    this.waiters.shift()?.();
  }
}
