// Kafka benchmark: records per second through the three-node Kafka-connected graph
// graphs/kafka/iris-pipeline.yaml (gateway process streaming the graph topics, one worker process
// consuming the node topics), side by side with the ceiling on the same broker: a bare kafkajs
// consume -> produce pass-through of the same records (one hop, no inference).
// Uses KAFKA_BROKERS, or starts the project's broker (scripts/kafka/broker.mjs) and stops it after.
// Run by `npm run bench` (scripts/bench.mjs); prints a table and writes bench/results/kafka-pipeline.json.
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Kafka, logLevel, type Consumer } from 'kafkajs';
import { startGateway } from '../test/support/gateway.process';
import { repoPath } from '../test/support/repo';
import { startWorker } from '../test/support/worker.process';

const RECORDS = Number(process.env['BENCH_KAFKA_RECORDS'] ?? 5000);
const ROUNDS = Number(process.env['BENCH_KAFKA_ROUNDS'] ?? 2);
const log = (m: string): void => console.log(`[bench:kafka] ${m}`);

function brokerList(): { brokers: string[]; started: boolean } {
  const given = (process.env['KAFKA_BROKERS'] ?? '').split(',').filter((b) => b !== '');
  if (given.length > 0) return { brokers: given, started: false };
  log('starting a broker on free ports (scripts/kafka/broker.mjs start --free-port)…');
  const r = spawnSync(process.execPath, [repoPath('scripts', 'kafka', 'broker.mjs'), 'start', '--free-port'], { cwd: repoPath(), encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const address = r.stdout.split('\n').map((l) => l.trim()).filter((l) => /^[\w.-]+:\d+$/.test(l)).pop();
  if (r.status !== 0 || address === undefined) throw new Error('could not start the Kafka broker');
  return { brokers: [address], started: true };
}

function payloads(): { key: string; value: string }[] {
  const rows = [
    [5.1, 3.5, 1.4, 0.2],
    [6.2, 2.9, 4.3, 1.3],
    [7.7, 3.0, 6.1, 2.3],
  ];
  return Array.from({ length: RECORDS }, (_, i) => ({
    key: `user-${i % 97}`,
    value: JSON.stringify({ id: `b-${i}`, inputs: [{ name: 'features', shape: [1, 4], datatype: 'FP32', data: rows[i % rows.length] }] }),
  }));
}

/** Produces the records in batches of 500 and resolves when `count` records reached `sink`; records/s. */
async function timeThrough(kafka: Kafka, input: string, sink: string, group: string): Promise<number> {
  const consumer: Consumer = kafka.consumer({ groupId: group, maxWaitTimeInMs: 50 });
  await consumer.connect();
  await consumer.subscribe({ topics: [sink], fromBeginning: true });
  let received = 0;
  let done: () => void = () => undefined;
  const all = new Promise<void>((r) => (done = r));
  await consumer.run({
    eachBatch: async ({ batch }) => {
      received += batch.messages.length;
      if (received >= RECORDS) done();
      await Promise.resolve();
    },
  });
  await new Promise((r) => setTimeout(r, 2000)); // let the sink join before the clock starts
  const producer = kafka.producer();
  await producer.connect();
  const messages = payloads();
  const started = performance.now();
  for (let i = 0; i < messages.length; i += 500) await producer.send({ topic: input, acks: -1, messages: messages.slice(i, i + 500) });
  await all;
  const seconds = (performance.now() - started) / 1000;
  await producer.disconnect();
  await consumer.disconnect();
  return RECORDS / seconds;
}

/** The ceiling: consume each batch and produce it on, acknowledged by the broker, with kafkajs alone. */
async function passThrough(kafka: Kafka, run: string): Promise<number> {
  const [a, b] = [`${run}.raw.in`, `${run}.raw.out`];
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [a, b].map((topic) => ({ topic, numPartitions: 3, replicationFactor: 1 })), waitForLeaders: true });
  await admin.disconnect();
  const relay = kafka.consumer({ groupId: `${run}.relay`, maxWaitTimeInMs: 50 });
  const out = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await Promise.all([relay.connect(), out.connect()]);
  await relay.subscribe({ topics: [a], fromBeginning: true });
  await relay.run({
    partitionsConsumedConcurrently: 3,
    eachBatch: async ({ batch }) => {
      await out.send({ topic: b, acks: -1, messages: batch.messages.map((m) => ({ key: m.key, value: m.value, headers: m.headers })) });
    },
  });
  try {
    return await timeThrough(kafka, a, b, `${run}.sink`);
  } finally {
    await relay.disconnect();
    await out.disconnect();
  }
}

/** infergraph: the three-node Kafka-connected graph (8 topic hops per request, 3 inferences). */
async function pipeline(kafka: Kafka, brokers: string[], run: string): Promise<number> {
  const env = { GRAPHS_DIR: 'graphs/kafka', KAFKA_BROKERS: brokers.join(','), KAFKA_TOPIC_PREFIX: run, LOG_LEVEL: 'warn' };
  const worker = await startWorker(env);
  const gw = await startGateway({ ...env, KAFKA_GROUP_ID: `${run}.gw`, LOG_LEVEL: 'info' });
  try {
    const deadline = Date.now() + 60_000;
    while (!gw.output().includes(`streaming ${run}.iris-pipeline.inputs`)) {
      if (Date.now() > deadline) throw new Error(`gateway did not start streaming:\n${gw.output()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    return await timeThrough(kafka, `${run}.iris-pipeline.inputs`, `${run}.iris-pipeline.outputs`, `${run}.sink`);
  } finally {
    await gw.stop();
    await worker.kill();
  }
}

async function main(): Promise<void> {
  const { brokers, started } = brokerList();
  const kafka = new Kafka({ clientId: 'infergraph-bench', brokers, logLevel: logLevel.NOTHING });
  const results: { round: number; ceiling: number; infergraph: number }[] = [];
  try {
    for (let round = 1; round <= ROUNDS; round++) {
      const run = `bench${randomUUID().slice(0, 6)}`;
      log(`round ${round}/${ROUNDS}: ${RECORDS} records, bare kafkajs pass-through…`);
      const ceiling = await passThrough(kafka, run);
      log(`round ${round}/${ROUNDS}: ${RECORDS} records through graphs/kafka/iris-pipeline.yaml…`);
      const infergraph = await pipeline(kafka, brokers, run);
      results.push({ round, ceiling, infergraph });
    }
  } finally {
    if (started) spawnSync(process.execPath, [repoPath('scripts', 'kafka', 'broker.mjs'), 'stop', '--port', brokers[0]?.split(':')[1] ?? ''], { cwd: repoPath(), stdio: 'ignore' });
  }
  const best = (k: 'ceiling' | 'infergraph'): number => Math.max(...results.map((r) => r[k]));
  console.log('');
  console.log(`| ${RECORDS} records, 3 partitions | records/s (best of ${ROUNDS}) | ratio to the ceiling |`);
  console.log('|---|---|---|');
  console.log(`| bare kafkajs consume -> produce pass-through (the ceiling) | ${best('ceiling').toFixed(0)} | 1.00 |`);
  console.log(`| infergraph, 3-node Kafka-connected graph (8 topic hops, 3 inferences) | ${best('infergraph').toFixed(0)} | ${(best('infergraph') / best('ceiling')).toFixed(2)} |`);
  const out = path.join(repoPath('bench', 'results'));
  mkdirSync(out, { recursive: true });
  writeFileSync(path.join(out, 'kafka-pipeline.json'), `${JSON.stringify({ records: RECORDS, rounds: results, ratio: best('infergraph') / best('ceiling') }, null, 2)}\n`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err instanceof Error ? err.stack : String(err));
    process.exit(1);
  },
);
