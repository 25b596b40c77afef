import { Kafka, logLevel, type Consumer, type ConsumerConfig, type IHeaders, type Producer } from 'kafkajs';
import { SendCoalescer } from './send.coalescer';

export interface KafkaLogger {
  log(message: string): void;
  warn(message: string): void;
}

export interface OutgoingRecord {
  readonly key: Buffer | string | null;
  readonly value: Buffer | string | null;
  readonly headers: Readonly<Record<string, string>>;
}

export interface TopicSpec {
  readonly topic: string;
  readonly partitions: number;
  /** Who asked for it, for the partition-mismatch message (e.g. `graph "iris" (spec.kafka.partitions)`). */
  readonly owner: string;
}

interface Outgoing {
  readonly topic: string;
  readonly record: OutgoingRecord;
}

export interface KafkaClientOptions {
  /**
   * Producer linger (Kafka's `linger.ms`): how long a record may wait for companions before its send
   * starts. Default 0: records leave as soon as the previous send is acknowledged.
   */
  readonly lingerMs?: number;
}

const MAX_BATCH = 1000;
export const DEFAULT_LINGER_MS = 0;
/**
 * How long a consumer group waits for a member that stopped heartbeating (a process killed, frozen or cut
 * off) before it hands the member's partitions to the others: those partitions stand still meanwhile.
 * kafkajs' own default is 30 s; the broker accepts 6 s to 30 min (group.min/max.session.timeout.ms).
 */
export const DEFAULT_SESSION_TIMEOUT_MS = 10_000;

/**
 * One connection to a Kafka cluster for a process: an idempotent producer whose sends are acknowledged
 * by all in-sync replicas and coalesced (records queued while a send is in flight, or within the linger,
 * leave together in the next one), topic provisioning, and consumers.
 */
export class KafkaClient {
  readonly kafka: Kafka;
  private producer: Producer | undefined;
  private connecting: Promise<Producer> | undefined;
  private readonly outgoing: SendCoalescer<Outgoing>;

  constructor(
    readonly brokers: readonly string[],
    clientId: string,
    readonly logger: KafkaLogger,
    options: KafkaClientOptions = {},
  ) {
    this.outgoing = new SendCoalescer((batch) => this.sendBatch(batch), { lingerMs: options.lingerMs ?? DEFAULT_LINGER_MS, maxBatch: MAX_BATCH });
    // kafkajs logs every retriable protocol error (leader moves, coordinator loading) at error level;
    // failures that matter surface as rejections and consumer crash events, which are logged here.
    this.kafka = new Kafka({ clientId, brokers: [...brokers], logLevel: logLevel.NOTHING, retry: { retries: 8 } });
  }

  /** Resolves once the broker acknowledged the record (acks=all). */
  send(topic: string, record: OutgoingRecord): Promise<void> {
    return this.outgoing.push({ topic, record });
  }

  consumer(config: ConsumerConfig): Consumer {
    const consumer = this.kafka.consumer({ allowAutoTopicCreation: false, ...config });
    consumer.on(consumer.events.CRASH, (e) => {
      this.logger.warn(`consumer group ${config.groupId}: ${e.payload.error.message}${e.payload.restart ? ' (restarting)' : ''}`);
    });
    return consumer;
  }

  /**
   * Runs a start-up step again (up to 6 times, backing off) while it fails: right after topics are
   * created, brokers may not yet report their partitions. A TopicConfigError is final.
   */
  async retrying<T>(what: string, step: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await step();
      } catch (err) {
        if (attempt >= 6 || err instanceof TopicConfigError) throw err;
        this.logger.warn(`${what} failed (${err instanceof Error ? err.message : String(err)}); retrying (${attempt}/5)`);
        await new Promise((r) => setTimeout(r, 300 * attempt));
      }
    }
  }

  /**
   * Creates missing topics with their partition count and fails, naming the topic and both counts, when
   * an existing one has a different count (records of one key must land on matching partitions).
   */
  ensureTopics(specs: readonly TopicSpec[]): Promise<void> {
    if (specs.length === 0) return Promise.resolve();
    return this.retrying('provisioning topics', () => this.provision(specs));
  }

  /** Where each partition of these topics ends now: the offset the next record appended to it gets. */
  endOffsets(topics: readonly string[]): Promise<{ topic: string; partition: number; offset: string }[]> {
    if (topics.length === 0) return Promise.resolve([]);
    return this.retrying('reading topic end offsets', async () => {
      const admin = this.kafka.admin();
      await admin.connect();
      try {
        const out: { topic: string; partition: number; offset: string }[] = [];
        for (const topic of topics) for (const o of await admin.fetchTopicOffsets(topic)) out.push({ topic, partition: o.partition, offset: o.high });
        return out;
      } finally {
        await admin.disconnect();
      }
    });
  }

  private async provision(specs: readonly TopicSpec[]): Promise<void> {
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      const existing = new Set(await admin.listTopics());
      const missing = specs.filter((s) => !existing.has(s.topic));
      if (missing.length > 0) {
        await admin.createTopics({ topics: missing.map((s) => ({ topic: s.topic, numPartitions: s.partitions, replicationFactor: 1 })), waitForLeaders: true });
        this.logger.log(`created ${missing.length} topic(s): ${missing.map((s) => `${s.topic} (${s.partitions} partitions)`).join(', ')}`);
      }
      const present = specs.filter((s) => existing.has(s.topic));
      if (present.length > 0) {
        const { topics } = await admin.fetchTopicMetadata({ topics: present.map((s) => s.topic) });
        const mismatched = present.flatMap((s) => {
          const count = topics.find((t) => t.name === s.topic)?.partitions.length ?? s.partitions;
          return count === s.partitions ? [] : [`topic ${s.topic} has ${count} partitions but ${s.owner} declares ${s.partitions}`];
        });
        if (mismatched.length > 0) throw new TopicConfigError(`${mismatched.join('; ')}: one partition count per graph keeps its topics joinable; delete the topics or change the count back`);
      }
    } finally {
      await admin.disconnect();
    }
  }

  async close(): Promise<void> {
    await this.outgoing.drain();
    await this.producer?.disconnect();
    this.producer = undefined;
    this.connecting = undefined;
  }

  private connected(): Promise<Producer> {
    this.connecting ??= (async () => {
      const producer = this.kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
      await producer.connect();
      this.producer = producer;
      return producer;
    })().catch((err: unknown) => {
      this.connecting = undefined;
      throw err;
    });
    return this.connecting;
  }

  private async sendBatch(batch: readonly Outgoing[]): Promise<void> {
    const producer = await this.connected();
    const byTopic = new Map<string, OutgoingRecord[]>();
    for (const q of batch) {
      let list = byTopic.get(q.topic);
      if (list === undefined) byTopic.set(q.topic, (list = []));
      list.push(q.record); // kafkajs reads key, value and headers from it as it is
    }
    await producer.sendBatch({ acks: -1, topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })) });
  }
}

/** A topic exists with settings the graph contradicts: retrying cannot help. */
export class TopicConfigError extends Error {
  override readonly name = 'TopicConfigError';
}

/** Record headers as lower-cased strings (first value of repeated headers). */
export function textHeaders(headers: IHeaders | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (headers === undefined) return out;
  for (const k in headers) {
    const v = headers[k];
    const first = Array.isArray(v) ? v[0] : v;
    if (first !== undefined) out[k.toLowerCase()] = Buffer.isBuffer(first) ? first.toString('utf8') : String(first);
  }
  return out;
}
