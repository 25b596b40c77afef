import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Kafka, logLevel, type Admin, type Producer } from 'kafkajs';
import { KafkaClient, PipelinedConsumer, ReadAgain, type ConsumedRecord, type PipelinedConsumerOptions } from '@infergraph/transport-kafka';
import { until, waitFor } from '../support/wait';

// Real parts: the project's Kafka broker, kafkajs and the transport's PipelinedConsumer. What the consumer
// promises its handlers: reading runs ahead of answering (a record still unanswered never stops the records
// fetched after it), commits never pass an unanswered record, a record that could not be answered is read
// again, records of one key answer in key order across fetches (handled side by side, each queueing its answer
// in its turn), and stop() finishes and commits what is in flight.

const brokers = (process.env['KAFKA_BROKERS'] ?? '').split(',').filter((b) => b !== '');
const skip = brokers.length === 0 ? 'KAFKA_BROKERS is not set' : false;
const warnings: string[] = [];
const logger = { log: () => undefined, warn: (m: string) => void warnings.push(m) };

describe('PipelinedConsumer against a real broker', { skip }, () => {
  const run = `pc${randomUUID().slice(0, 8)}`;
  const kafka = new Kafka({ clientId: `${run}-test`, brokers, logLevel: logLevel.NOTHING });
  let admin: Admin;
  let producer: Producer;
  let client: KafkaClient;
  const consumers: PipelinedConsumer[] = [];
  let topicCount = 0;

  before(async () => {
    admin = kafka.admin();
    await admin.connect();
    producer = kafka.producer();
    await producer.connect();
    client = new KafkaClient(brokers, `${run}-client`, logger);
  });
  after(async () => {
    for (const c of consumers) await c.stop().catch(() => undefined);
    await producer?.disconnect();
    await admin?.disconnect();
    await client?.close();
  });

  async function topic(partitions = 1): Promise<string> {
    const name = `${run}.t${topicCount++}`;
    await admin.createTopics({ topics: [{ topic: name, numPartitions: partitions, replicationFactor: 1 }], waitForLeaders: true });
    return name;
  }

  function consumer(t: string, options: Partial<PipelinedConsumerOptions> = {}): PipelinedConsumer {
    const c = new PipelinedConsumer(client, { name: `test ${t}`, groupId: `${t}.group`, topics: [t], maxInFlight: 100, orderByKey: false, fromBeginning: true, partitions: 1, ...options }, logger);
    consumers.push(c);
    return c;
  }

  const send = (t: string, values: readonly string[], key = (v: string): string => v): Promise<unknown> =>
    producer.send({ topic: t, acks: -1, messages: values.map((v) => ({ key: key(v), value: v, partition: 0 })) });

  /** The group's committed offset of partition 0, as a number (-1 when nothing is committed). */
  async function committed(t: string): Promise<number> {
    const [entry] = await admin.fetchOffsets({ groupId: `${t}.group`, topics: [t] });
    return Number(entry?.partitions.find((p) => p.partition === 0)?.offset ?? -1);
  }

  const value = (r: ConsumedRecord): string => r.message.value?.toString() ?? '';

  it('hands out records fetched after an unanswered one, and commits only up to it until it is answered', async () => {
    const t = await topic();
    const handed: string[] = [];
    let releaseSlow: () => void = () => undefined;
    const slow = new Promise<void>((r) => (releaseSlow = r));
    const c = consumer(t);
    await c.start((r) => {
      handed.push(value(r));
      return value(r) === 'slow' ? slow : Promise.resolve();
    });
    await send(t, ['a0', 'slow', 'a2']);
    await waitFor('the first fetch handed out', () => Promise.resolve(handed.length), (n) => n === 3);
    // Produced after the first fetch: a later fetch. A consumer that waits for the whole first batch to be
    // answered before fetching again never hands these out while "slow" is held.
    await send(t, ['b0', 'b1', 'b2']);
    await waitFor('records of a later fetch handed out while "slow" is unanswered', () => Promise.resolve(handed.length), (n) => n === 6, 10_000);
    assert.deepEqual(handed, ['a0', 'slow', 'a2', 'b0', 'b1', 'b2']);
    // Commits happen once a second: after two, the group still stands at "slow" (offset 1).
    await new Promise((r) => setTimeout(r, 2200));
    assert.equal(await committed(t), 1, 'nothing past the unanswered record is committed');
    assert.equal(c.stats().inFlight, 1);
    releaseSlow();
    await waitFor('every record committed once "slow" is answered', () => committed(t), (o) => o === 6, 10_000);
    assert.equal(c.stats().handled, 6);
  });

  it('stops reading a partition once maxUncommittedPerPartition records stand behind an unanswered one', async () => {
    const t = await topic();
    const handed: string[] = [];
    let releaseSlow: () => void = () => undefined;
    const slow = new Promise<void>((r) => (releaseSlow = r));
    const c = consumer(t, { maxUncommittedPerPartition: 5 });
    await c.start((r) => {
      handed.push(value(r));
      return value(r) === 'slow' ? slow : Promise.resolve();
    });
    await send(t, ['slow', ...Array.from({ length: 11 }, (_, i) => `f${i}`)]);
    await waitFor('five records handed out', () => Promise.resolve(handed.length), (n) => n >= 5);
    // The window (100) has room, but "slow" and the four answered after it are all the partition may hold back.
    await new Promise((r) => setTimeout(r, 1500));
    assert.deepEqual(handed, ['slow', 'f0', 'f1', 'f2', 'f3']);
    assert.equal(c.stats().paused, true);
    releaseSlow();
    await waitFor('every record committed once "slow" is answered', () => committed(t), (o) => o === 12, 10_000);
    assert.deepEqual(handed, ['slow', ...Array.from({ length: 11 }, (_, i) => `f${i}`)]);
  });

  it('reads a partition again from a record that could not be answered, and commits past it only once it is', async () => {
    const t = await topic();
    const handed: string[] = [];
    let refusals = 0;
    const c = consumer(t, { replayDelayMs: 200 });
    await c.start((r) => {
      handed.push(value(r));
      if (value(r) === 'r3' && refusals === 0) {
        refusals++;
        return Promise.reject(new Error('broker unreachable (test)'));
      }
      return Promise.resolve();
    });
    await send(t, Array.from({ length: 8 }, (_, i) => `r${i}`));
    await waitFor('all 8 records committed', () => committed(t), (o) => o === 8, 15_000);
    // r3 was handed twice; so may be the records read after it (at least once), but none was skipped.
    assert.equal(handed.filter((v) => v === 'r3').length, 2);
    for (let i = 0; i < 8; i++) assert.ok(handed.includes(`r${i}`), `r${i} handed`);
    assert.ok(c.stats().retried >= 1);
    assert.ok(
      warnings.some((w) => w.includes('broker unreachable (test)') && w.includes('reading the partition again from offset 3')),
      warnings.join('\n'),
    );
  });

  it('handles records of one key side by side and gives their answers turns in key order, across fetches', async () => {
    const t = await topic();
    const events: string[] = [];
    const holds = new Map<string, () => void>();
    const c = consumer(t, { orderByKey: true });
    await c.start(async (r, turn) => {
      const v = value(r);
      events.push(`start ${v}`);
      if (v === 'k1' || v === 'j1') await new Promise<void>((resolve) => holds.set(v, resolve));
      const ok = await turn.ready();
      assert.ok(ok && turn.mayAnswer(), `${v} may answer`);
      events.push(`turn ${v}`);
      turn.queued();
    });
    const key = (v: string): string => v.slice(0, 1);
    await send(t, ['k1', 'j1'], key);
    await waitFor('k1 and j1 started', () => Promise.resolve(events.length), (n) => n === 2);
    await send(t, ['k2', 'x1', 'j2'], key);
    await waitFor('x1, of another key, answered while k1 and j1 are held', () => Promise.resolve(events), (e) => e.includes('turn x1'), 10_000);
    // The held records' followers of the same key are handled already (side by side) but wait for their turn.
    await waitFor('k2 and j2 handled while k1 and j1 are held', () => Promise.resolve(events), (e) => e.includes('start k2') && e.includes('start j2'));
    assert.ok(!events.includes('turn k2') && !events.includes('turn j2'), events.join(', '));
    holds.get('j1')?.();
    await waitFor('j2 answers after j1', () => Promise.resolve(events), (e) => e.includes('turn j2'));
    assert.ok(!events.includes('turn k2'), 'k2 still waits for k1');
    holds.get('k1')?.();
    await waitFor('k2 answers after k1', () => Promise.resolve(events), (e) => e.includes('turn k2'));
    assert.ok(events.indexOf('turn k1') < events.indexOf('turn k2'));
    assert.ok(events.indexOf('turn j1') < events.indexOf('turn j2'));
    await waitFor('all committed', () => committed(t), (o) => o === 5, 10_000);
  });

  it('gives no turn to a later record of a key whose earlier record was not answered, and answers both on the next reading', async () => {
    const t = await topic();
    const started: string[] = [];
    const turns: string[] = [];
    let refusals = 0;
    let releaseK1: () => void = () => undefined;
    const c = consumer(t, { orderByKey: true, replayDelayMs: 200 });
    await c.start(async (r, turn) => {
      const v = value(r);
      started.push(v);
      if (v === 'k1' && refusals === 0) {
        // k2 is handed out meanwhile; k1 then fails (as a send to an unreachable broker would).
        await new Promise<void>((resolve) => (releaseK1 = resolve));
        refusals++;
        throw new Error('broker unreachable (test)');
      }
      if (!(await turn.ready()) || !turn.mayAnswer()) {
        turns.push(`no turn ${v}`);
        throw new ReadAgain();
      }
      turns.push(`turn ${v}`);
      turn.queued();
    });
    await send(t, ['k1', 'k2'], () => 'k');
    await waitFor('k2 handed out while k1 is held', () => Promise.resolve(started), (v) => v.includes('k1') && v.includes('k2'));
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(turns, [], 'k2 answered before k1');
    releaseK1();
    await waitFor('both committed after the partition is read again', () => committed(t), (o) => o === 2, 15_000);
    assert.deepEqual(turns, ['no turn k2', 'turn k1', 'turn k2']);
  });

  it('never has more than maxInFlight records in flight, and stop() finishes and commits the records in flight', async () => {
    const t = await topic(3);
    let inFlight = 0;
    let peak = 0;
    let answered = 0;
    const c = consumer(t, { maxInFlight: 4, partitions: 3 });
    await c.start(async () => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      await new Promise((r) => setTimeout(r, 20));
      inFlight--;
      answered++;
    });
    await producer.send({ topic: t, acks: -1, messages: Array.from({ length: 60 }, (_, i) => ({ key: `k${i}`, value: `v${i}` })) });
    await until('some records answered', () => Promise.resolve(answered >= 8), 10_000);
    await c.stop();
    assert.equal(inFlight, 0, 'stop() returned while records were in flight');
    assert.ok(peak <= 4 && c.stats().peakInFlight <= 4, `peak ${peak}, stats ${c.stats().peakInFlight}`);
    assert.ok(c.stats().pauses > 0, 'reading paused at the window');
    // Whatever was answered before stop() returned is committed: a new member reads only the rest.
    const [entry] = await admin.fetchOffsets({ groupId: `${t}.group`, topics: [t] });
    const committedTotal = (entry?.partitions ?? []).reduce((n, p) => n + Math.max(0, Number(p.offset)), 0);
    assert.equal(committedTotal, answered, `committed ${committedTotal}, answered ${answered}`);
    const rest: string[] = [];
    const next = consumer(t, { partitions: 3 });
    await next.start((r) => (rest.push(value(r)), Promise.resolve()));
    await waitFor('the rest read by the next member', () => Promise.resolve(rest.length), (n) => n === 60 - answered, 20_000);
  });
});
