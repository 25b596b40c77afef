import { Kafka, logLevel, type Consumer, type IHeaders, type KafkaMessage, type Producer } from 'kafkajs';
import { InferenceError, decodeInferRequest, encodeInferResponse, type InferRequest, type InferResponse } from '@infergraph/protocol';

export interface StreamedGraph {
  readonly name: string;
  readonly prefix: string;
  readonly partitions: number;
}

export interface StreamLogger {
  log(message: string): void;
  warn(message: string): void;
}

/** Runs one graph request (the engine's inference service, as REST and gRPC use it). */
export type GraphInfer = (graph: string, request: InferRequest, requestId: string | undefined, headers: Record<string, string>) => Promise<InferResponse>;

export function topicsOf(g: StreamedGraph): { inputs: string; outputs: string; errors: string } {
  const base = `${g.prefix}.${g.name}`;
  return { inputs: `${base}.inputs`, outputs: `${base}.outputs`, errors: `${base}.errors` };
}

/**
 * Graph topics on Kafka: consumes <prefix>.<graph>.inputs (Open Inference Protocol JSON), runs the graph,
 * produces the response to .outputs with the same key, and a record it cannot serve to .errors with the
 * original payload and the reason, source topic, partition and offset in headers. Records of one
 * partition are handled in order (per-key order), and a partition's offset is committed only after the
 * output or error record was acknowledged by the broker (at least once).
 */
export class KafkaGraphStream {
  private readonly kafka: Kafka;
  private readonly producer: Producer;
  private consumer: Consumer | undefined;

  constructor(
    brokers: readonly string[],
    private readonly groupId: string,
    private readonly infer: GraphInfer,
    private readonly logger: StreamLogger,
  ) {
    this.kafka = new Kafka({ clientId: 'infergraph-gateway', brokers: [...brokers], logLevel: logLevel.ERROR });
    this.producer = this.kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  }

  async start(graphs: readonly StreamedGraph[]): Promise<void> {
    if (graphs.length === 0) return;
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      const existing = new Set(await admin.listTopics());
      const wanted = graphs.flatMap((g) => Object.values(topicsOf(g)).map((topic) => ({ topic, numPartitions: g.partitions, replicationFactor: 1 })));
      const missing = wanted.filter((t) => !existing.has(t.topic));
      if (missing.length > 0) await admin.createTopics({ topics: missing, waitForLeaders: true });
    } finally {
      await admin.disconnect();
    }
    await this.producer.connect();
    const consumer = this.kafka.consumer({ groupId: this.groupId, allowAutoTopicCreation: false });
    this.consumer = consumer;
    await consumer.connect();
    const byInputs = new Map(graphs.map((g) => [topicsOf(g).inputs, g]));
    await consumer.subscribe({ topics: [...byInputs.keys()], fromBeginning: true });
    await consumer.run({
      partitionsConsumedConcurrently: Math.max(...graphs.map((g) => g.partitions)),
      eachMessage: async ({ topic, partition, message }) => {
        const graph = byInputs.get(topic);
        if (graph !== undefined) await this.handle(graph, topic, partition, message);
      },
    });
    this.logger.log(`streaming ${graphs.map((g) => `${topicsOf(g).inputs} -> ${topicsOf(g).outputs}`).join(', ')}`);
  }

  async stop(): Promise<void> {
    await this.consumer?.disconnect();
    await this.producer.disconnect();
  }

  private async handle(graph: StreamedGraph, topic: string, partition: number, message: KafkaMessage): Promise<void> {
    const topics = topicsOf(graph);
    const headers = textHeaders(message.headers);
    const passThrough = Object.fromEntries(Object.entries(headers).filter(([k]) => k === 'traceparent' || k === 'tracestate' || k.startsWith('x-')));
    try {
      const value = message.value;
      if (value === null || value.byteLength === 0) throw new InferenceError('INVALID_ARGUMENT', 'record has no value; expected an inference request in JSON');
      const request = decodeInferRequest(value);
      const response = await this.infer(graph.name, request, headers['x-request-id'], headers);
      const encoded = encodeInferResponse(response, request.outputs, false);
      await this.producer.send({
        topic: topics.outputs,
        acks: -1,
        messages: [{ key: message.key, value: encoded.body, headers: { ...passThrough, 'x-request-id': response.id, 'content-type': 'application/json' } }],
      });
    } catch (err) {
      const status = err instanceof InferenceError ? err.httpStatus : 500;
      const reason = err instanceof Error ? err.message : String(err);
      await this.producer.send({
        topic: topics.errors,
        acks: -1,
        messages: [
          {
            key: message.key,
            value: message.value,
            headers: {
              ...passThrough,
              'x-error': reason,
              'x-error-status': String(status),
              'x-source-topic': topic,
              'x-source-partition': String(partition),
              'x-source-offset': message.offset,
            },
          },
        ],
      });
      this.logger.warn(`${topic}[${partition}]@${message.offset} -> ${topics.errors}: ${reason}`);
    }
  }
}

function textHeaders(headers: IHeaders | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers ?? {})) {
    const first = Array.isArray(v) ? v[0] : v;
    if (first !== undefined) out[k.toLowerCase()] = Buffer.isBuffer(first) ? first.toString('utf8') : String(first);
  }
  return out;
}
