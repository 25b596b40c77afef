import type { Consumer, Kafka, KafkaMessage, Producer } from 'kafkajs';
import type { RunningGateway } from './gateway.process';

/** Waits until the gateway logs that it streams `inputsTopic` (its consumer joined the group). */
export async function untilStreaming(gw: RunningGateway, inputsTopic: string, timeoutMs = 30_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!gw.output().includes(`streaming ${inputsTopic}`)) {
    if (performance.now() > deadline) throw new Error(`gateway did not start streaming ${inputsTopic} within ${timeoutMs} ms:\n${gw.output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A connected producer, and a consumer in a group of its own reading `topics` from the beginning. */
export async function produceAndConsume(
  kafka: Kafka,
  groupId: string,
  topics: readonly string[],
  onMessage: (topic: string, message: KafkaMessage) => void,
): Promise<{ producer: Producer; consumer: Consumer; close(): Promise<void> }> {
  const producer = kafka.producer();
  await producer.connect();
  const consumer = kafka.consumer({ groupId });
  await consumer.connect();
  await consumer.subscribe({ topics: [...topics], fromBeginning: true });
  await consumer.run({
    eachMessage: ({ topic, message }) => {
      onMessage(topic, message);
      return Promise.resolve();
    },
  });
  return {
    producer,
    consumer,
    close: async () => {
      await consumer.disconnect();
      await producer.disconnect();
    },
  };
}
