import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Kafka, logLevel, type Admin, type Consumer, type Producer } from 'kafkajs';
import type { InferResponse } from '@infergraph/protocol';
import { ThreadedGraphStream, graphTopicNames, type GraphInfer } from '@infergraph/transport-kafka';
import { waitFor } from '../support/wait';

// Real parts: the project's Kafka broker, kafkajs (in the stream's own thread and in this test), a real worker
// thread running the stream's Kafka side. The graph is a function port that echoes its input, so what is under
// test is the transport: every record answered across a thread that dies mid-stream, per-key order of the
// answers, and a start that fails with the reason when the topics contradict the graph.

const brokers = (process.env['KAFKA_BROKERS'] ?? '').split(',').filter((b) => b !== '');
const skip = brokers.length === 0 ? 'KAFKA_BROKERS is not set' : false;

/** The graph: answers with its input tensors, after a little asynchronous work as an engine would. */
const echo: GraphInfer = async (graph, request, requestId) => {
  await new Promise((r) => setImmediate(r));
  const response: InferResponse = { modelName: graph, modelVersion: undefined, id: requestId ?? request.id ?? '', parameters: undefined, outputs: request.inputs };
  return response;
};

describe('ThreadedGraphStream: the graph stream with its Kafka client on a thread of its own, against a real broker', { skip }, () => {
  const run = `tgs${randomUUID().slice(0, 8)}`;
  const kafka = new Kafka({ clientId: `${run}-test`, brokers, logLevel: logLevel.NOTHING });
  const warnings: string[] = [];
  const logger = { log: () => undefined, warn: (m: string) => void warnings.push(m) };
  let admin: Admin;
  let producer: Producer;
  const streams: ThreadedGraphStream[] = [];
  const consumers: Consumer[] = [];

  before(async () => {
    admin = kafka.admin();
    await admin.connect();
    producer = kafka.producer();
    await producer.connect();
  });
  after(async () => {
    for (const s of streams) await s.stop().catch(() => undefined);
    for (const c of consumers) await c.disconnect().catch(() => undefined);
    await producer?.disconnect();
    await admin?.disconnect();
  });

  function stream(group: string, maxInFlight = 64): ThreadedGraphStream {
    const s = new ThreadedGraphStream({ brokers, clientId: `${run}-stream`, lingerMs: 0 }, { groupId: group, maxInFlight, sessionTimeoutMs: 6000 }, echo, logger);
    streams.push(s);
    return s;
  }

  /** Every output record's request id, per key, in the order the outputs topic holds them. */
  async function outputsOf(topic: string): Promise<{ ids: Map<string, string[]>; count: () => number }> {
    const ids = new Map<string, string[]>();
    let count = 0;
    const c = kafka.consumer({ groupId: `${topic}.reader`, maxWaitTimeInMs: 100 });
    consumers.push(c);
    await c.connect();
    await c.subscribe({ topics: [topic], fromBeginning: true });
    await c.run({
      eachMessage: async ({ message }) => {
        const key = message.key?.toString() ?? '';
        const id = message.headers?.['x-request-id']?.toString() ?? '';
        let list = ids.get(key);
        if (list === undefined) ids.set(key, (list = []));
        list.push(id);
        count++;
        await Promise.resolve();
      },
    });
    return { ids, count: () => count };
  }

  it('answers every record, in per-key order, across a stream thread killed mid-stream and started again', async () => {
    const graph = { name: 'echo', prefix: `${run}.a`, partitions: 3 };
    const topics = graphTopicNames(graph.prefix, graph.name);
    const s = stream(`${run}.a.gw`);
    await s.start([graph]);
    const firstThread = s.threadId;
    assert.notEqual(firstThread, undefined);
    const out = await outputsOf(topics.outputs);
    const total = 3000;
    const keys = 17;
    const body = (i: number): string => JSON.stringify({ id: `r${i}`, inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 2], data: [i, -i] }] });
    for (let i = 0; i < total; i += 250) {
      await producer.send({
        topic: topics.inputs,
        acks: -1,
        messages: Array.from({ length: 250 }, (_, k) => ({ key: `key-${(i + k) % keys}`, value: body(i + k), headers: { 'x-request-id': `r${i + k}` } })),
      });
    }
    await waitFor('a third of the records answered', () => Promise.resolve(out.count()), (n) => n >= total / 3, 60_000);
    await s.terminateThread();
    await waitFor('the stream thread started again', () => Promise.resolve(s.threadId), (id) => id !== undefined && id !== firstThread, 30_000);
    const answered = (): Set<string> => new Set([...out.ids.values()].flat());
    await waitFor('every record answered at least once', () => Promise.resolve(answered().size), (n) => n === total, 90_000);
    assert.ok(
      warnings.some((w) => /graph stream thread exited .*starting it again/.test(w)),
      warnings.join('\n'),
    );
    assert.equal(s.restarts(), 1);
    // Per key, the first answer of each record comes in the order the records were produced (a record read
    // again may be answered twice, never before an earlier record of its key was).
    for (const [key, list] of out.ids) {
      const seen = new Set<string>();
      const firsts = list.filter((id) => !seen.has(id) && seen.add(id));
      const order = firsts.map((id) => Number(id.slice(1)));
      assert.deepEqual(
        order,
        [...order].sort((a, b) => a - b),
        `answers of ${key} out of order`,
      );
    }
    await waitFor('the restarted thread reports what it handled', () => Promise.resolve(s.stats()?.handled ?? 0), (n) => n > 0, 10_000);
  });

  it('fails start with the reason when an existing topic contradicts the graph', async () => {
    const graph = { name: 'echo', prefix: `${run}.b`, partitions: 3 };
    const topics = graphTopicNames(graph.prefix, graph.name);
    await admin.createTopics({ topics: [{ topic: topics.inputs, numPartitions: 2, replicationFactor: 1 }], waitForLeaders: true });
    const s = stream(`${run}.b.gw`);
    await assert.rejects(s.start([graph]), new RegExp(`topic ${topics.inputs.replace(/\./g, '\\.')} has 2 partitions but graph "echo" \\(spec\\.kafka\\.partitions\\) declares 3`));
    assert.equal(s.threadId, undefined, 'a thread that could not start is not left running');
  });
});
