import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { Kafka, logLevel, type Consumer, type Producer } from 'kafkajs';
import { goldenRows } from '../support/examples';
import { startGateway, type RunningGateway } from '../support/gateway.process';
import { untilStreaming } from '../support/kafka-topics';
import { brokerScript, startFreePortBroker } from '../support/kafka-broker';
import { repoPath } from '../support/repo';
import { waitFor } from '../support/wait';

// Real parts: a Kafka broker of this test's own (scripts/kafka/broker.mjs on free ports, so the shared test
// broker is never killed), the gateway as a separate process streaming graphs/iris.yaml through its graph
// topics, and kafkajs on the test's side. Under a steady stream of requests the broker is killed (-9) and
// started again on its data; every request must still be answered (at least once), none lost.

const skip = (process.env['KAFKA_BROKERS'] ?? '') === '' ? 'KAFKA_BROKERS is not set (no Kafka tooling)' : false;
describe('Kafka graph topics across a broker kill -9 and restart', { skip }, () => {
  const prefix = `br${randomUUID().slice(0, 8)}`;
  const topics = { inputs: `${prefix}.iris.inputs`, outputs: `${prefix}.iris.outputs`, errors: `${prefix}.iris.errors` };
  let address = '';
  let port = '';
  let gw: RunningGateway | undefined;
  let producer: Producer | undefined;
  let consumer: Consumer | undefined;
  const answered = new Map<string, number>();
  const failed = new Map<string, string>();

  before(async () => {
    address = startFreePortBroker();
    port = address.split(':')[1] ?? '';
    gw = await startGateway({ GRAPHS_DIR: 'graphs', KAFKA_BROKERS: address, KAFKA_TOPIC_PREFIX: prefix, KAFKA_GROUP_ID: `${prefix}-gw` });
    await untilStreaming(gw, topics.inputs);
    const kafka = new Kafka({ clientId: `${prefix}-test`, brokers: [address], logLevel: logLevel.NOTHING, retry: { retries: 30, maxRetryTime: 2000 } });
    producer = kafka.producer();
    await producer.connect();
    consumer = kafka.consumer({ groupId: `${prefix}-reader`, maxWaitTimeInMs: 100 });
    await consumer.connect();
    await consumer.subscribe({ topics: [topics.outputs, topics.errors], fromBeginning: true });
    await consumer.run({
      eachMessage: ({ topic, message }) => {
        const id = message.headers?.['x-request-id']?.toString() ?? '';
        if (topic === topics.outputs) answered.set(id, (answered.get(id) ?? 0) + 1);
        else failed.set(id, message.headers?.['x-error']?.toString() ?? '');
        return Promise.resolve();
      },
    });
  });
  after(async () => {
    await consumer?.disconnect().catch(() => undefined);
    await producer?.disconnect().catch(() => undefined);
    await gw?.stop();
    if (port !== '') brokerScript('stop', '--port', port);
  });

  it('answers every one of 3,000 requests sent while the broker is killed (-9) and restarted on its data', async () => {
    const rows = goldenRows('iris-logreg');
    const total = 3000;
    const seen = (): number => new Set([...answered.keys(), ...failed.keys()]).size;
    let resent = 0;
    const sending = (async () => {
      for (let i = 0; i < total; i += 50) {
        const messages = Array.from({ length: 50 }, (_, k) => ({
          key: `user-${(i + k) % 31}`,
          value: JSON.stringify({ id: `r-${i + k}`, inputs: [{ name: 'features', shape: [1, 4], datatype: 'FP32', data: rows[(i + k) % rows.length] }] }),
          headers: { 'x-request-id': `r-${i + k}` },
        }));
        // A send refused while the broker is down is sent again (a duplicate at worst: answered twice, counted once).
        for (;;) {
          try {
            await producer?.send({ topic: topics.inputs, acks: -1, messages });
            break;
          } catch {
            resent++;
            await new Promise((r) => setTimeout(r, 500));
          }
        }
        await new Promise((r) => setTimeout(r, 40));
      }
    })();
    // On a miss, the counts and the gateway's last words.
    const until = (what: string, ok: () => boolean, timeoutMs: number): Promise<unknown> =>
      waitFor(what, () => Promise.resolve({ answered: answered.size, failed: failed.size }), ok, timeoutMs).catch((err: Error) => assert.fail(`${err.message}; gateway:\n${gw?.output().slice(-3000) ?? ''}`));
    await until('500 answers before the kill', () => seen() >= 500, 60_000);
    const pid = Number(readFileSync(repoPath('.cache', 'kafka', 'brokers', port, 'broker.pid'), 'utf8'));
    process.kill(pid, 'SIGKILL');
    const atKill = seen();
    await new Promise((r) => setTimeout(r, 2000));
    brokerScript('resume', '--port', port);
    await sending;
    await until(`all ${total} request ids in outputs or errors after the restart`, () => seen() >= total, 180_000);
    const lost = Array.from({ length: total }, (_, i) => `r-${i}`).filter((id) => !answered.has(id) && !failed.has(id));
    const duplicates = [...answered.values()].reduce((n, c) => n + c - 1, 0);
    const warnings = (gw?.output() ?? '').split('\n').filter((l) => /"level":"(warn|error)"|WARN|ERROR/.test(l));
    console.log(
      `[kafka] broker kill -9 and restart: ${answered.size} answered, ${failed.size} in errors, ${lost.length} lost, ${duplicates} duplicate outputs; ` +
        `killed at ${atKill}; ${resent} sends repeated by the test; ${warnings.length} gateway warnings${warnings.length > 0 ? `, e.g. ${warnings.slice(0, 2).join(' | ').slice(0, 400)}` : ''}`,
    );
    assert.deepEqual(lost, []);
    assert.equal(failed.size, 0, `requests answered with errors: ${[...new Set(failed.values())].slice(0, 3).join(' | ')}`);
    assert.equal(gw?.process.exitCode, null, 'the gateway kept running');
  });
});
