// The Kafka bench's second pass-through, for issue 19 item 4 (client choice on record): the same bare
// consume -> produce relay as kafka-relay.runner.ts, written with @platformatic/kafka instead of kafkajs.
// Same contract: records fetched together are produced on in one acknowledged send (idempotent, acks=all),
// key, value and headers kept; offsets are committed only after that send, so nothing is lost on a crash.
//   node dist/bench/support/kafka-relay-platformatic.runner.js <brokers> <from-topic> <to-topic> <group> <partitions>
import { Consumer, Producer, type Message, type MessageToProduce } from '@platformatic/kafka';

/** Messages taken from the stream at most at once (one send); reading pauses beyond it. */
const MAX_BATCH = 1000;

async function main(): Promise<void> {
  const [brokers = '', from = '', to = '', group = ''] = process.argv.slice(2);
  const bootstrapBrokers = brokers.split(',');
  const consumer = new Consumer({ groupId: group, clientId: 'infergraph-bench-relay-pk', bootstrapBrokers, maxWaitTime: 50 });
  const producer = new Producer({ clientId: 'infergraph-bench-relay-pk', bootstrapBrokers, idempotent: true, acks: -1 });
  const stream = await consumer.consume({ topics: [from], mode: 'committed', fallbackMode: 'earliest', autocommit: false });
  let pending: Message[] = [];
  let sending = false;

  const flush = async (): Promise<void> => {
    if (sending || pending.length === 0) return;
    sending = true;
    const batch = pending;
    pending = [];
    const messages: MessageToProduce[] = batch.map((m) => ({ topic: to, key: m.key, value: m.value, headers: m.headers }));
    await producer.send({ messages });
    // The last record of each partition commits everything before it.
    const last = new Map<number, Message>();
    for (const m of batch) last.set(m.partition, m);
    await Promise.all([...last.values()].map((m) => commit(m)));
    sending = false;
    if (stream.isPaused() && pending.length < MAX_BATCH) stream.resume();
    if (pending.length > 0) setImmediate(() => void flush().catch(fail));
  };
  stream.on('data', (m: Message) => {
    pending.push(m);
    if (pending.length >= MAX_BATCH) stream.pause();
    if (!sending && pending.length === 1) setImmediate(() => void flush().catch(fail));
  });
  stream.on('error', fail);
  process.once('SIGTERM', () => {
    void Promise.all([stream.close(), consumer.close(), producer.close()]).finally(() => process.exit(0));
  });
  console.log('relaying');
}

/** Commits a record's offset + 1 (the callback form: the promise form's type is `void | Promise<void>`). */
function commit(m: Message): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    void m.commit((err) => {
      if (err) reject(err);
      else resolve();
    });
  });
}

function fail(err: unknown): void {
  console.error(err instanceof Error ? err.stack : String(err));
  process.exit(1);
}

main().catch(fail);
