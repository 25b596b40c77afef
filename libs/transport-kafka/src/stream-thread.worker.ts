// The graph stream's Kafka side on a thread of its own (ThreadedGraphStream): its client fetches and
// decodes the graph topics' records, keeps per-key order and the in-flight window, produces the answers and
// commits what was answered — the same PipelinedConsumer as in the event loop. The event loop that owns the
// engine only decodes, runs and encodes: records reach it in one message per turn (their values packed in one
// transferred buffer) and answers come back the same way. Heartbeats no longer wait on inference either.
import { parentPort, workerData } from 'node:worker_threads';
import type { KafkaMessage } from 'kafkajs';
import { UnansweredRecord } from './graph-record.answerer';
import { KafkaClient, textHeaders, type KafkaLogger } from './kafka.client';
import { openGraphPipeline, streamingLine, topicsOf } from './kafka-graph.stream';
import { answerInTurn, type ConsumedRecord, type KeyTurn, type PipelinedConsumer } from './pipelined.consumer';
import { MESSAGE_CHUNK, type LoopToThread, type StreamThreadData, type ThreadRecord, type ThreadToLoop } from './stream-thread.protocol';

/** Stats are reported at most this often while records flow, and at least once a second (lag moves when idle). */
const STATS_EVERY_MS = 200;
const STATS_IDLE_MS = 1000;

interface Waiting {
  readonly message: KafkaMessage;
  readonly turn: KeyTurn;
  readonly resolve: () => void;
  readonly reject: (err: Error) => void;
}

const port = parentPort;
if (port === null) throw new Error('stream-thread.worker runs as a worker thread');
const data = workerData as StreamThreadData;
const post = (message: ThreadToLoop, transfer?: ArrayBuffer[]): void => port.postMessage(message, transfer);
const logger: KafkaLogger = {
  log: (message) => post({ type: 'log', level: 'log', message }),
  warn: (message) => post({ type: 'log', level: 'warn', message }),
};
const client = new KafkaClient(data.settings.brokers, data.settings.clientId, logger, { lingerMs: data.settings.lingerMs });
const waiting = new Map<number, Waiting>();
let nextId = 0;
let outbox: { record: ConsumedRecord; id: number; graph: number }[] = [];
let flushing = false;
let pipeline: PipelinedConsumer | undefined;
let lastStats = 0;

function flushRecords(): void {
  const batch = outbox;
  outbox = [];
  if (batch.length === 0) return;
  let total = 0;
  for (const { record } of batch) total += record.message.value?.byteLength ?? 0;
  const bytes = new Uint8Array(total);
  const records: ThreadRecord[] = [];
  let at = 0;
  for (const { record, id, graph } of batch) {
    const value = record.message.value;
    const start = at;
    if (value !== null) {
      bytes.set(value, at);
      at += value.byteLength;
    }
    records.push({ id, graph, partition: record.partition, offset: record.message.offset, valueStart: start, valueEnd: value === null ? -1 : at, headers: textHeaders(record.message.headers) });
  }
  post({ type: 'records', bytes: bytes.buffer, records }, [bytes.buffer]);
  reportStats(false);
}

function reportStats(force: boolean): void {
  const now = performance.now();
  if (pipeline === undefined || (!force && now - lastStats < STATS_EVERY_MS)) return;
  lastStats = now;
  post({ type: 'stats', stats: pipeline.stats() });
}

/** The pipeline's handler: resolves once the answer the event loop made is acknowledged by the broker. */
function handOver(record: ConsumedRecord, turn: KeyTurn, graph: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const id = nextId++;
    waiting.set(id, { message: record.message, turn, resolve, reject });
    outbox.push({ record, id, graph });
    if (outbox.length >= MESSAGE_CHUNK) flushRecords();
    else if (!flushing) {
      flushing = true;
      setImmediate(() => {
        flushing = false;
        flushRecords();
      });
    }
  });
}

function answered(message: LoopToThread): void {
  if (message.type === 'stop') {
    void stop();
    return;
  }
  for (const a of message.answers) {
    const w = waiting.get(a.id);
    if (w === undefined) continue;
    waiting.delete(a.id);
    if ('unanswered' in a) {
      w.reject(new UnansweredRecord(a.unanswered));
      continue;
    }
    // kafkajs writes strings as text and Buffers as bytes (a bare Uint8Array would be turned into text).
    const value = a.echo ? w.message.value : a.value instanceof Uint8Array ? Buffer.from(a.value.buffer, a.value.byteOffset, a.value.byteLength) : a.value;
    answerInTurn(w.turn, () => client.send(a.topic, { key: w.message.key, value, headers: a.headers })).then(w.resolve, w.reject);
  }
  reportStats(false);
}

async function stop(): Promise<void> {
  try {
    await pipeline?.stop();
    await client.close();
  } finally {
    reportStats(true);
    post({ type: 'stopped' });
  }
}

async function start(): Promise<void> {
  pipeline = (await openGraphPipeline(client, data.options, data.graphs, logger)).pipeline;
  // The index into data.graphs travels with a record, not the graph's name and topics.
  const graphOf = new Map(data.graphs.map((g, i) => [topicsOf(g).inputs, i]));
  await pipeline.start((record, turn) => {
    const graph = graphOf.get(record.topic);
    return graph === undefined ? Promise.resolve() : handOver(record, turn, graph);
  });
  setInterval(() => reportStats(true), STATS_IDLE_MS);
  reportStats(true);
  logger.log(streamingLine(data.graphs));
  post({ type: 'started' });
}

port.on('message', answered);
start().catch((err: unknown) => post({ type: 'failed', message: err instanceof Error ? err.message : String(err) }));
