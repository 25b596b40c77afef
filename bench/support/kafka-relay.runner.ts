// The Kafka bench's ceiling, in a process of its own so its CPU is measured like a gateway's: a bare kafkajs
// consume -> produce pass-through (each fetched batch produced on in one acknowledged send, key, value and
// headers kept), with the same producer settings as infergraph's client (idempotent, acks=all).
//   node dist/bench/support/kafka-relay.runner.js <brokers> <from-topic> <to-topic> <group> <partitions>
import { Kafka, logLevel } from 'kafkajs';

async function main(): Promise<void> {
  const [brokers = '', from = '', to = '', group = '', partitions = '1'] = process.argv.slice(2);
  const kafka = new Kafka({ clientId: 'infergraph-bench-relay', brokers: brokers.split(','), logLevel: logLevel.NOTHING });
  const relay = kafka.consumer({ groupId: group, maxWaitTimeInMs: 50 });
  const out = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await Promise.all([relay.connect(), out.connect()]);
  await relay.subscribe({ topics: [from], fromBeginning: true });
  await relay.run({
    partitionsConsumedConcurrently: Number(partitions),
    eachBatch: async ({ batch }) => {
      await out.send({ topic: to, acks: -1, messages: batch.messages.map((m) => ({ key: m.key, value: m.value, headers: m.headers })) });
    },
  });
  process.once('SIGTERM', () => {
    void Promise.all([relay.disconnect(), out.disconnect()]).finally(() => process.exit(0));
  });
  console.log('relaying');
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.stack : String(err));
  process.exit(1);
});
