import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { goldenRows } from '../support/examples';
import { request, startGateway, type RunningGateway } from '../support/gateway.process';
import { produceAndConsume, untilStreaming } from '../support/kafka-topics';

// End to end on a real Apache Kafka broker (KAFKA_BROKERS) and a real gateway process: a streamed graph
// whose model node's batch queue is far smaller than the records in flight.

const brokers = (process.env['KAFKA_BROKERS'] ?? '').split(',').filter((b) => b !== '');

describe('Kafka graph stream with a full batch queue', { skip: brokers.length === 0 ? 'KAFKA_BROKERS is not set' : false }, () => {
  const prefix = `t${randomUUID().slice(0, 8)}`;
  const graph = 'iris-queue-stream';
  const topics = { inputs: `${prefix}.${graph}.inputs`, outputs: `${prefix}.${graph}.outputs`, errors: `${prefix}.${graph}.errors` };
  const kafka = new Kafka({ clientId: 'infergraph-test', brokers, logLevel: logLevel.ERROR });
  let gw: RunningGateway;
  let clients: Awaited<ReturnType<typeof produceAndConsume>>;
  const outputs = new Map<string, string>();
  const errors: string[] = [];

  before(async () => {
    gw = await startGateway({ GRAPHS_DIR: 'test/fixtures/graphs-batching-kafka', KAFKA_BROKERS: brokers.join(','), KAFKA_TOPIC_PREFIX: prefix, KAFKA_GROUP_ID: `${prefix}-gateway` });
    await untilStreaming(gw, topics.inputs);
    clients = await produceAndConsume(kafka, `${prefix}-test`, [topics.outputs, topics.errors], (topic, message) => {
      const value = message.value?.toString() ?? '';
      if (topic === topics.outputs) {
        const body = JSON.parse(value) as { id: string; outputs: unknown };
        outputs.set(body.id, JSON.stringify(body.outputs));
      } else errors.push(`${message.headers?.['x-error']?.toString() ?? ''}`);
    });
  });
  after(async () => {
    await clients?.close();
    await gw?.stop();
  });

  it('retries records refused by a full batch queue until each is answered, sending none to the errors topic', async () => {
    const rows = goldenRows('iris-mlp');
    const count = 40;
    const messages = Array.from({ length: count }, (_, i) => ({
      key: `k${i}`,
      value: JSON.stringify({ id: `req-${i}`, inputs: [{ name: 'features', shape: [1, 4], datatype: 'FP32', data: rows[i % rows.length] }] }),
    }));
    await clients.producer.send({ topic: topics.inputs, messages });
    const deadline = performance.now() + 60_000;
    while (outputs.size < count && errors.length === 0) {
      if (performance.now() > deadline) assert.fail(`only ${outputs.size} of ${count} outputs within 60 s`);
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.deepEqual(errors, []);
    assert.equal(outputs.size, count);
    assert.match(gw.output(), /batch queue is full \(maxQueueSize 2 requests\); retry later; retrying in \d+ ms/, 'the retries are logged');
    for (let i = 0; i < count; i += 13) {
      const rest = await request(gw, 'POST', `/v2/models/${graph}/infer`, { inputs: [{ name: 'features', shape: [1, 4], datatype: 'FP32', data: rows[i % rows.length] }] });
      assert.equal(JSON.stringify((rest.body as { outputs: unknown }).outputs), outputs.get(`req-${i}`), `record ${i} answered as REST answers it`);
    }
  });
});
