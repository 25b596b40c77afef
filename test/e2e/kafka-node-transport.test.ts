import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { RequestLifetime, createRequestContext, encodeGraphAnswer } from '@infergraph/executor';
import type { InferRequest, InferResponse, Tensor } from '@infergraph/protocol';
import { KafkaClient, KafkaNodeServer, KafkaNodeTransport } from '@infergraph/transport-kafka';

// The gateway's side of Kafka-connected nodes against a real broker, with the worker's side in the
// same process: what happens to answers while the gateway changes its subscription.

const brokers = (process.env['KAFKA_BROKERS'] ?? '').split(',').filter((b) => b !== '');
const skip = brokers.length === 0 ? 'KAFKA_BROKERS is not set' : false;

describe('Kafka node transport: answers in flight while the gateway subscribes to a new graph', { skip }, () => {
  const prefix = `t${randomUUID().slice(0, 8)}`;
  const groupPrefix = `${prefix}.answers`;
  const logger = { log: () => undefined, warn: () => undefined };
  let client: KafkaClient;
  let transport: KafkaNodeTransport;
  let server: KafkaNodeServer;
  let admin: Admin;
  /** Node calls the worker side holds until the test releases them. */
  const held: { release: () => void }[] = [];

  before(async () => {
    client = new KafkaClient(brokers, 'infergraph-test-transport', logger);
    transport = new KafkaNodeTransport(client, groupPrefix, logger);
    const double = (request: InferRequest): InferResponse => ({
      modelName: 'a.n',
      modelVersion: undefined,
      id: request.id ?? '',
      parameters: undefined,
      outputs: request.inputs.map((t) => ({ ...t, name: 'y', data: Float32Array.from(t.data as Float32Array, (v) => v * 2) })),
    });
    server = new KafkaNodeServer(client, { maxInFlight: 8, sessionTimeoutMs: 10_000 }, (_model, request) => new Promise((resolve) => held.push({ release: () => resolve(double(request)) })), logger);
    admin = new Kafka({ clientId: 'infergraph-test-transport-admin', brokers, logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    await transport.register({ name: 'a', prefix, partitions: 3, nodes: ['n'] });
    await server.serve([{ graph: 'a', node: 'n', prefix, partitions: 3 }]);
  });
  after(async () => {
    for (const h of held) h.release();
    await server?.close();
    await transport?.close();
    await client?.close();
    await admin?.disconnect();
  });

  it('reads an answer appended after the old answer consumer left and before the new one joined', async () => {
    const [group] = (await admin.listGroups()).groups.map((g) => g.groupId).filter((g) => g.startsWith(`${groupPrefix}.`));
    assert.ok(group !== undefined, 'the gateway has an answer consumer group');
    const input: Tensor = { name: 'x', datatype: 'FP32', shape: [1, 3], data: Float32Array.from([1, 2, 3]) };
    const ctx = createRequestContext({ graph: 'a', timeoutMs: 10_000, signal: new RequestLifetime() });
    const answer = transport.invoke({ graph: 'a', node: 'n', inputs: new Map([['x', input]]), ctx });
    answer.catch(() => undefined);
    while (held.length === 0) await new Promise((r) => setTimeout(r, 10));

    // A graph with many nodes: the gateway re-subscribes to every outputs topic, and reads where the
    // new ones end before its new consumer joins, which leaves the group empty for a while.
    let registered = false;
    const adding = transport.register({ name: 'b', prefix, partitions: 3, nodes: Array.from({ length: 24 }, (_, i) => `m${i}`) }).finally(() => (registered = true));
    let gapSeen = false;
    while (!registered && !gapSeen) {
      const [described] = (await admin.describeGroups([group])).groups;
      gapSeen = described?.state === 'Empty';
    }
    held[0]?.release();
    await adding;
    assert.ok(gapSeen, 'the answer consumer group was seen empty while the gateway re-subscribed');

    const outputs = await answer;
    assert.deepEqual([...(outputs.get('y')?.data as Float32Array)], [2, 4, 6]);
    assert.equal(transport.stats().pending, 0);
  });

  it('fails a call whose request has already ended at once, publishing nothing', async () => {
    const published: string[] = [];
    class CountingClient extends KafkaClient {
      override send(...args: Parameters<KafkaClient['send']>): Promise<void> {
        published.push(args[0]);
        return super.send(...args);
      }
    }
    const counting = new CountingClient(brokers, 'infergraph-test-transport-counting', logger);
    const countingTransport = new KafkaNodeTransport(counting, `${prefix}.counting`, logger);
    try {
      await countingTransport.register({ name: 'a', prefix, partitions: 3, nodes: ['n'] });
      const lifetime = new RequestLifetime();
      const ctx = createRequestContext({ graph: 'a', timeoutMs: 10_000, signal: lifetime });
      lifetime.end();
      const input: Tensor = { name: 'x', datatype: 'FP32', shape: [1, 1], data: Float32Array.from([1]) };
      const started = performance.now();
      const err = (await countingTransport.invoke({ graph: 'a', node: 'n', inputs: new Map([['x', input]]), ctx }).then(
        () => assert.fail('a call of an ended request answered'),
        (e: unknown) => e,
      )) as { code?: string; message?: string };
      // Not its 10 s deadline: the end is known before anything is sent.
      assert.ok(performance.now() - started < 2000, `failed after ${Math.round(performance.now() - started)} ms`);
      assert.equal(err.code, 'DEADLINE_EXCEEDED');
      assert.match(err.message ?? '', /request ended while waiting/);
      assert.deepEqual(published, []);
      assert.equal(countingTransport.stats().pending, 0);
    } finally {
      await countingTransport.close();
      await counting.close();
    }
  });

  it('ends a call whose request ends while its record is still being published, with no unhandled rejection', async () => {
    // A broker slow to acknowledge: the record is published only when the test lets it go.
    let letGo: () => void = () => undefined;
    const gate = new Promise<void>((r) => (letGo = r));
    class SlowClient extends KafkaClient {
      override async send(...args: Parameters<KafkaClient['send']>): Promise<void> {
        await gate;
        return super.send(...args);
      }
    }
    const slow = new SlowClient(brokers, 'infergraph-test-transport-slow', logger);
    const slowTransport = new KafkaNodeTransport(slow, `${prefix}.slow`, logger);
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      await slowTransport.register({ name: 'a', prefix, partitions: 3, nodes: ['n'] });
      const lifetime = new RequestLifetime();
      const ctx = createRequestContext({ graph: 'a', timeoutMs: 10_000, signal: lifetime });
      const input: Tensor = { name: 'x', datatype: 'FP32', shape: [1, 1], data: Float32Array.from([1]) };
      const call = slowTransport.invoke({ graph: 'a', node: 'n', inputs: new Map([['x', input]]), ctx });
      const settled = call.then(
        () => assert.fail('the call answered after its request ended'),
        (err: unknown) => err,
      );
      await new Promise((r) => setTimeout(r, 50));
      lifetime.end();
      // Let the rejection surface (or not) before the caller gets to await the answer.
      await new Promise((r) => setTimeout(r, 50));
      letGo();
      const err = (await settled) as { code?: string; message?: string };
      assert.equal(err.code, 'DEADLINE_EXCEEDED');
      assert.match(err.message ?? '', /request ended while waiting/);
      await new Promise((r) => setImmediate(r));
      assert.deepEqual(unhandled, []);
      assert.equal(slowTransport.stats().pending, 0);
    } finally {
      process.off('unhandledRejection', onUnhandled);
      letGo();
      for (const h of held) h.release();
      await slowTransport.close();
      await slow.close();
    }
  });
});

describe('Kafka node transport: a whole-graph call made while its topics are still being provisioned', { skip }, () => {
  it('waits for the topics and crosses whole, as later calls do, instead of going node by node', async () => {
    const prefix = `w${randomUUID().slice(0, 8)}`;
    const logger = { log: () => undefined, warn: () => undefined };
    const client = new KafkaClient(brokers, 'infergraph-test-transport-whole', logger);
    const transport = new KafkaNodeTransport(client, `${prefix}.answers`, logger);
    // The worker's side: records which model each call names, and answers a whole-graph call at once.
    const called: string[] = [];
    const server = new KafkaNodeServer(
      client,
      { maxInFlight: 8, sessionTimeoutMs: 10_000 },
      (model, request) => {
        called.push(model);
        return Promise.resolve({ modelName: model, modelVersion: undefined, id: request.id ?? '', parameters: encodeGraphAnswer([], {}), outputs: request.inputs.map((t) => ({ ...t, name: 'y' })) });
      },
      logger,
    );
    try {
      // Just after start: the graph is registered, its topics are being created.
      const registering = transport.register({ name: 'w', prefix, partitions: 1, nodes: ['first', 'second'] });
      const whole = transport.wholeGraph('w', ['first', 'second']);
      assert.ok(whole !== undefined, 'the whole-graph call is offered while the topics are provisioned');
      const input: Tensor = { name: 'x', datatype: 'FP32', shape: [1, 2], data: Float32Array.from([1, 2]) };
      const answering = whole({ graph: 'w', inputs: [input], ctx: createRequestContext({ graph: 'w', timeoutMs: 30_000, signal: new RequestLifetime() }) });
      await registering;
      await server.serve([{ graph: 'w', node: 'first', prefix, partitions: 1 }]);
      const answer = await answering;
      assert.ok(answer !== undefined, 'answered whole, not declined');
      assert.deepEqual([...(answer.outputs[0]?.data as Float32Array)], [1, 2]);
      assert.deepEqual(called, ['w.*'], 'one call, naming the whole graph, on the first node\'s topic');
    } finally {
      await server.close();
      await transport.close();
      await client.close();
    }
  });
});
