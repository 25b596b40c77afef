import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Kafka, logLevel, type Consumer, type KafkaMessage, type Producer } from 'kafkajs';
import { decodeBinaryElements, decodeInferResponseProto, encodeBinaryElements, encodeInferRequestProto } from '@infergraph/protocol';
import { goldenRows } from '../support/examples';
import { request, startGateway, type RunningGateway } from '../support/gateway.process';
import { produceAndConsume, untilStreaming } from '../support/kafka-topics';

// End to end on a real Apache Kafka broker (started by scripts/run-tests.mjs, or KAFKA_BROKERS): the
// gateway consumes a graph's inputs topic and produces its outputs and errors topics.

const brokers = (process.env['KAFKA_BROKERS'] ?? '').split(',').filter((b) => b !== '');

interface Output {
  id: string;
  outputs: { name: string; data: unknown[] }[];
}

// Both ways a gateway runs a stream: its Kafka client on a thread of its own (the default), or on the event loop.
for (const streamThread of ['true', 'false']) {
  describe(`Kafka graph topics (KAFKA_STREAM_THREAD=${streamThread})`, { skip: brokers.length === 0 ? 'KAFKA_BROKERS is not set' : false }, () => {
    const prefix = `t${randomUUID().slice(0, 8)}`;
    const topics = { inputs: `${prefix}.iris.inputs`, outputs: `${prefix}.iris.outputs`, errors: `${prefix}.iris.errors` };
    const kafka = new Kafka({ clientId: 'infergraph-test', brokers, logLevel: logLevel.ERROR });
    let gw: RunningGateway;
    let producer: Producer;
    let consumer: Consumer;
    const outputs: { key: string; headers: Record<string, string>; body: Output }[] = [];
    const protoOutputs: { key: string; headers: Record<string, string>; value: Buffer }[] = [];
    const errors: { key: string; value: string; headers: Record<string, string> }[] = [];

    const text = (m: KafkaMessage): Record<string, string> =>
      Object.fromEntries(Object.entries(m.headers ?? {}).map(([k, v]) => [k, Buffer.isBuffer(v) ? v.toString() : String(v)]));

    before(async () => {
      gw = await startGateway({ GRAPHS_DIR: 'graphs', KAFKA_BROKERS: brokers.join(','), KAFKA_TOPIC_PREFIX: prefix, KAFKA_GROUP_ID: `${prefix}-gateway`, KAFKA_STREAM_THREAD: streamThread });
      await untilStreaming(gw, topics.inputs);
      ({ producer, consumer } = await produceAndConsume(kafka, `${prefix}-test`, [topics.outputs, topics.errors], (topic, message) => {
        const key = message.key?.toString() ?? '';
        if (topic === topics.outputs && text(message)['content-type'] === 'application/x-protobuf') protoOutputs.push({ key, headers: text(message), value: message.value ?? Buffer.alloc(0) });
        else if (topic === topics.outputs) outputs.push({ key, headers: text(message), body: JSON.parse(message.value?.toString() ?? '{}') as Output });
        else errors.push({ key, value: message.value?.toString() ?? '', headers: text(message) });
      }));
    });
    after(async () => {
      await consumer?.disconnect();
      await producer?.disconnect();
      await gw?.stop();
    });

    async function until(what: string, test: () => boolean, timeoutMs = 60_000): Promise<void> {
      const deadline = performance.now() + timeoutMs;
      while (!test()) {
        if (performance.now() > deadline) assert.fail(`${what} within ${timeoutMs} ms (outputs ${outputs.length}, errors ${errors.length})`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }

    it('answers 1,000 streamed requests exactly as REST does, keyed and in per-key order', async () => {
      const rows = goldenRows('iris-logreg');
      const messages = Array.from({ length: 1000 }, (_, i) => ({
        key: `user-${i % 50}`,
        value: JSON.stringify({ id: `req-${i}`, inputs: [{ name: 'features', shape: [1, 4], datatype: 'FP32', data: rows[i % rows.length] }] }),
        headers: { traceparent: `00-${'a'.repeat(32)}-${'b'.repeat(16)}-01`, 'x-tenant': 'acme' },
      }));
      for (let i = 0; i < messages.length; i += 100) await producer.send({ topic: topics.inputs, messages: messages.slice(i, i + 100) });
      await until('1,000 outputs', () => new Set(outputs.map((o) => o.body.id)).size >= 1000);
      assert.equal(errors.length, 0, JSON.stringify(errors.slice(0, 3)));

      const rest = await Promise.all(
        rows.map(async (row) => (await request(gw, 'POST', '/v2/models/iris/infer', { inputs: [{ name: 'features', shape: [1, 4], datatype: 'FP32', data: row }] })).body as Output),
      );
      const lastIndexByKey = new Map<string, number>();
      for (const o of outputs) {
        const i = Number(o.body.id.slice(4));
        assert.equal(o.key, `user-${i % 50}`);
        assert.equal(o.headers['x-request-id'], o.body.id);
        assert.equal(o.headers['x-tenant'], 'acme');
        assert.equal(o.headers['traceparent'], `00-${'a'.repeat(32)}-${'b'.repeat(16)}-01`);
        assert.deepEqual(o.body.outputs, (rest[i % rows.length] as Output).outputs);
        assert.ok(i > (lastIndexByKey.get(o.key) ?? -1), `out of order for ${o.key}`);
        lastIndexByKey.set(o.key, i);
      }
    });

    it('accepts protobuf ModelInferRequest records by content-type and answers in protobuf, equal to REST', async () => {
      const rows = goldenRows('iris-logreg').slice(0, 5);
      const value = encodeInferRequestProto({
        model_name: 'iris',
        id: 'proto-1',
        inputs: [{ name: 'features', datatype: 'FP32', shape: [rows.length, 4] }],
        raw_input_contents: [encodeBinaryElements(Float32Array.from(rows.flat()), 'FP32')],
      });
      await producer.send({ topic: topics.inputs, messages: [{ key: 'proto', value, headers: { 'content-type': 'application/x-protobuf', 'x-tenant': 'acme' } }] });
      await producer.send({ topic: topics.inputs, messages: [{ key: 'proto-bad', value: Buffer.from([0x0a, 0xff, 0xff]), headers: { 'content-type': 'application/x-protobuf' } }] });
      await until('the protobuf answer and error', () => protoOutputs.length >= 1 && errors.some((e) => e.key === 'proto-bad'));
      const answer = protoOutputs[0];
      assert.equal(answer?.key, 'proto');
      assert.equal(answer?.headers['x-request-id'], 'proto-1');
      assert.equal(answer?.headers['x-tenant'], 'acme');
      const message = decodeInferResponseProto(answer?.value ?? Buffer.alloc(0));
      assert.equal(message.id, 'proto-1');
      const rest = (await request(gw, 'POST', '/v2/models/iris/infer', { inputs: [{ name: 'features', shape: [rows.length, 4], datatype: 'FP32', data: rows.flat() }] })).body as Output;
      for (const expected of rest.outputs) {
        const i = message.outputs.findIndex((o) => o.name === expected.name);
        assert.ok(i >= 0, `output ${expected.name}`);
        const o = message.outputs[i] as { datatype: string; shape: (string | number)[] };
        const data = decodeBinaryElements(message.raw_output_contents[i] ?? new Uint8Array(0), o.datatype as 'FP32', o.shape.map(Number).reduce((a, b) => a * b, 1), expected.name);
        const values = Array.from(data as ArrayLike<unknown>, (v) => (typeof v === 'bigint' ? Number(v) : v instanceof Uint8Array ? Buffer.from(v).toString() : v));
        assert.deepEqual(values, expected.data.flat(), expected.name);
      }
      const bad = errors.find((e) => e.key === 'proto-bad');
      assert.match(bad?.headers['x-error'] ?? '', /malformed protobuf ModelInferRequest/);
      assert.equal(bad?.headers['x-error-status'], '400');
    });

    it('sends malformed records to the errors topic with the payload and reason, and keeps streaming', async () => {
      const bad = [
        { key: 'bad-1', value: 'this is not json' },
        { key: 'bad-2', value: JSON.stringify({ inputs: [{ name: 'features', shape: [1, 3], datatype: 'FP32', data: [1, 2, 3] }] }) },
        { key: 'bad-3', value: JSON.stringify({ id: 'x' }) },
      ];
      await producer.send({ topic: topics.inputs, messages: bad });
      await producer.send({ topic: topics.inputs, messages: [{ key: 'good', value: JSON.stringify({ id: 'after-bad', inputs: [{ name: 'features', shape: [1, 4], datatype: 'FP32', data: [5.1, 3.5, 1.4, 0.2] }] }) }] });
      await until('3 errors and the next output', () => errors.filter((e) => e.key.startsWith('bad-')).length >= 3 && outputs.some((o) => o.body.id === 'after-bad'));
      const byKey = new Map(errors.map((e) => [e.key, e]));
      assert.equal(byKey.get('bad-1')?.value, 'this is not json');
      assert.match(byKey.get('bad-1')?.headers['x-error'] ?? '', /^malformed JSON in request body/);
      assert.equal(byKey.get('bad-1')?.headers['x-error-status'], '400');
      assert.match(byKey.get('bad-2')?.headers['x-error'] ?? '', /input "features": dimension 1 must be 4/);
      assert.match(byKey.get('bad-3')?.headers['x-error'] ?? '', /inputs: required field is missing/);
      for (const e of errors) {
        assert.equal(e.headers['x-source-topic'], topics.inputs);
        assert.match(e.headers['x-source-offset'] ?? '', /^\d+$/);
        assert.match(e.headers['x-source-partition'] ?? '', /^\d+$/);
      }
    });

    it('exports consumer lag per partition of the inputs topic, back to zero once every record is answered', async () => {
      const lagOf = async (): Promise<Map<string, number>> => {
        const text = (await request(gw, 'GET', '/metrics')).raw.toString();
        const samples = new Map<string, number>();
        for (const m of text.matchAll(/^infergraph_kafka_consumer_lag\{([^}]*)\} (\S+)$/gm)) {
          const labels = m[1] ?? '';
          if (labels.includes(`group="${prefix}-gateway"`) && labels.includes(`topic="${topics.inputs}"`)) samples.set(/partition="(\d+)"/.exec(labels)?.[1] ?? '', Number(m[2]));
        }
        return samples;
      };
      let lag = await lagOf();
      for (const deadline = performance.now() + 10_000; !(lag.size >= 1 && [...lag.values()].every((v) => v === 0)); lag = await lagOf()) {
        if (performance.now() > deadline) assert.fail(`consumer lag never settled at zero: ${JSON.stringify([...lag])}`);
        await new Promise((r) => setTimeout(r, 200));
      }
      assert.ok([...lag.keys()].every((p) => /^[0-2]$/.test(p)), `partitions ${[...lag.keys()].join(', ')}`);
    });

    it(`reports where the stream's Kafka client runs (${streamThread === 'true' ? 'its own thread' : 'the event loop'})`, async () => {
      const status = (await request(gw, 'GET', '/v1/kafka')).body as { streamThread: boolean | null; streamThreadRestarts: number; stream: { handled: number } | null };
      assert.equal(status.streamThread, streamThread === 'true');
      assert.ok((status.stream?.handled ?? 0) > 0, 'the stream reports what it handled');
      assert.equal(status.streamThreadRestarts, 0);
      assert.match((await request(gw, 'GET', '/metrics')).raw.toString(), /^infergraph_kafka_stream_thread_restarts_total(\{[^}]*\})? 0$/m);
    });
  });
}

describe('Kafka graph topics with two gateways in one consumer group', { skip: brokers.length === 0 ? 'KAFKA_BROKERS is not set' : false }, () => {
  const prefix = `r${randomUUID().slice(0, 8)}`;
  const topics = { inputs: `${prefix}.iris.inputs`, outputs: `${prefix}.iris.outputs` };
  const kafka = new Kafka({ clientId: 'infergraph-test-rebalance', brokers, logLevel: logLevel.ERROR });
  const env = { GRAPHS_DIR: 'graphs', KAFKA_BROKERS: brokers.join(','), KAFKA_TOPIC_PREFIX: prefix, KAFKA_GROUP_ID: `${prefix}-gateways` };
  let gateways: RunningGateway[] = [];
  let producer: Producer;
  let consumer: Consumer;
  const seen = new Map<string, number>();

  before(async () => {
    gateways = await Promise.all([startGateway(env), startGateway(env)]);
    await Promise.all(gateways.map((gw) => untilStreaming(gw, topics.inputs)));
    ({ producer, consumer } = await produceAndConsume(kafka, `${prefix}-test`, [topics.outputs], (_topic, message) => {
      const id = (JSON.parse(message.value?.toString() ?? '{}') as { id: string }).id;
      seen.set(id, (seen.get(id) ?? 0) + 1);
    }));
  });
  after(async () => {
    await consumer?.disconnect();
    await producer?.disconnect();
    await Promise.all(gateways.map((g) => g.stop()));
  });

  it('answers every request across a rebalance when one of two gateways in the group leaves mid-stream (SIGTERM): it leaves the group at once, long before the session timeout', async () => {
    const row = goldenRows('iris-logreg')[0];
    const send = async (from: number, count: number): Promise<void> => {
      const messages = Array.from({ length: count }, (_, k) => ({
        key: `k-${from + k}`,
        value: JSON.stringify({ id: `m-${from + k}`, inputs: [{ name: 'features', shape: [1, 4], datatype: 'FP32', data: row }] }),
      }));
      for (let i = 0; i < messages.length; i += 100) await producer.send({ topic: topics.inputs, messages: messages.slice(i, i + 100) });
    };
    await send(0, 500);
    // A rebalance hands its partitions to the other gateway. stop() sends SIGTERM, and SIGKILL after 5 s.
    const leaving = gateways[0] as RunningGateway;
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => leaving.process.once('exit', (code, signal) => resolve({ code, signal })));
    const stoppedAt = performance.now();
    await leaving.stop();
    const exit = await exited;
    const stoppedIn = performance.now() - stoppedAt;
    await send(500, 500);
    // kafkajs' default session timeout is 30 s: a member that never left is noticed only then.
    const deadline = performance.now() + 60_000;
    while ([...Array(1000).keys()].some((i) => !seen.has(`m-${i}`))) {
      if (performance.now() > deadline) assert.fail(`only ${seen.size} of 1000 requests answered after the rebalance`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const answeredIn = performance.now() - stoppedAt;
    const duplicates = [...seen.values()].filter((n) => n > 1).length;
    console.log(`[kafka] rebalance: 1000 of 1000 answered, ${duplicates} duplicated (at least once); the leaving gateway exited ${stoppedIn} ms after SIGTERM (${exit.signal ?? `code ${exit.code}`}), all answered ${answeredIn} ms after it`);
    assert.equal(seen.size, 1000);
    // NestJS re-raises the signal once its shutdown hooks ran: a graceful exit reads as SIGTERM.
    assert.notEqual(exit.signal, 'SIGKILL', 'the leaving gateway did not finish its shutdown within 5 s of SIGTERM');
    assert.ok(answeredIn < 15_000, `the last record was answered ${answeredIn} ms after the stop: the group waited for the session timeout`);
  });
});
