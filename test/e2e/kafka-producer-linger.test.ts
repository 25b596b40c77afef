import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Kafka, logLevel, type Consumer } from 'kafkajs';
import { KafkaClient } from '@infergraph/transport-kafka';

// Real parts: the project's Kafka broker and kafkajs. KafkaClient's producer linger (KAFKA_LINGER_MS): records
// produced over a spell shorter than the linger leave in one produce request, which the broker stores as one
// record batch (kafkajs stamps every record of a batch with the batch's time); without a linger the first
// record leaves alone.

const brokers = (process.env['KAFKA_BROKERS'] ?? '').split(',').filter((b) => b !== '');
const skip = brokers.length === 0 ? 'KAFKA_BROKERS is not set' : false;
const logger = { log: () => undefined, warn: () => undefined };
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('Kafka producer linger against a real broker', { skip }, () => {
  const run = `linger${randomUUID().slice(0, 8)}`;
  const kafka = new Kafka({ clientId: `${run}-reader`, brokers, logLevel: logLevel.NOTHING });
  const consumers: Consumer[] = [];
  const clients: KafkaClient[] = [];

  before(async () => {
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [0, 400].map((l) => ({ topic: `${run}.l${l}`, numPartitions: 1, replicationFactor: 1 })), waitForLeaders: true });
    await admin.disconnect();
  });
  after(async () => {
    for (const c of consumers) await c.disconnect();
    for (const c of clients) await c.close();
  });

  /** Produces 10 records 10 ms apart without waiting; returns when each was acknowledged and the records' timestamps. */
  async function produceSpell(lingerMs: number): Promise<{ ackedAfterMs: number[]; timestamps: string[] }> {
    const topic = `${run}.l${lingerMs}`;
    const client = new KafkaClient(brokers, `${run}-l${lingerMs}`, logger, { lingerMs });
    clients.push(client);
    // Connect the producer first, so the spell measures the linger, not the connection.
    await client.send(topic, { key: 'warm', value: 'warm', headers: {} });
    const start = performance.now();
    const acks: Promise<number>[] = [];
    for (let i = 0; i < 10; i++) {
      acks.push(client.send(topic, { key: `k${i}`, value: `v${i}`, headers: {} }).then(() => performance.now() - start));
      await sleep(10);
    }
    const ackedAfterMs = await Promise.all(acks);
    const consumer = kafka.consumer({ groupId: `${topic}.reader`, maxWaitTimeInMs: 100 });
    consumers.push(consumer);
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    const timestamps: string[] = [];
    await new Promise<void>((resolve) => {
      void consumer.run({
        eachMessage: ({ message }) => {
          if (message.key?.toString() !== 'warm') timestamps.push(message.timestamp);
          if (timestamps.length === 10) resolve();
          return Promise.resolve();
        },
      });
    });
    return { ackedAfterMs, timestamps };
  }

  it('sends records produced within the linger in one batch, the first one waiting for the others', async () => {
    const { ackedAfterMs, timestamps } = await produceSpell(400);
    assert.equal(new Set(timestamps).size, 1, `one record batch, got timestamps ${timestamps.join(', ')}`);
    assert.ok(Math.min(...ackedAfterMs) >= 390, `the first record waited out the linger (acknowledged after ${Math.min(...ackedAfterMs).toFixed(0)} ms)`);
  });

  it('sends the first record at once without a linger', async () => {
    const { ackedAfterMs, timestamps } = await produceSpell(0);
    assert.ok(new Set(timestamps).size >= 2, `more than one record batch, got timestamps ${timestamps.join(', ')}`);
    assert.ok((ackedAfterMs[0] ?? Infinity) < 390, `the first record did not linger (acknowledged after ${ackedAfterMs[0]?.toFixed(0)} ms)`);
  });
});
