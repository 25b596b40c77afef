import {
  InferenceError,
  checkRequestId,
  decodeInferRequest,
  encodeInferResponse,
  encodeInferResponseJson,
  encodeModelInferResponse,
  decodeInferRequestProto,
  encodeInferResponseProto,
  isBatchQueueFull,
  type InferRequest,
  type InferResponse,
} from '@infergraph/protocol';
import { textHeaders, type KafkaClient, type KafkaLogger } from './kafka.client';
import { PipelinedConsumer, type ConsumedRecord, type PipelineStats } from './pipelined.consumer';
import { HEADER, PROTOBUF, graphTopicNames, isProtobuf, passThroughHeaders, type GraphTopicNames } from './topics';

export interface StreamedGraph {
  readonly name: string;
  readonly prefix: string;
  readonly partitions: number;
}

/** Runs one graph request (the engine's inference service, as REST and gRPC use it). */
export type GraphInfer = (graph: string, request: InferRequest, requestId: string | undefined, headers: Record<string, string>) => Promise<InferResponse>;

export interface GraphStreamOptions {
  readonly groupId: string;
  /** Requests in flight at once in this process; reading pauses at the limit. */
  readonly maxInFlight: number;
  /** How long the group waits for a member that stopped heartbeating before its partitions move. */
  readonly sessionTimeoutMs: number;
}

/** A full batch queue is back-pressure: retry the record after 10 ms, doubling up to 1 s, at most 30 times (~25 s). */
const QUEUE_FULL_RETRY = { firstMs: 10, maxMs: 1000, attempts: 30 } as const;

/** A record deliberately left unanswered (and uncommitted), to be consumed again. */
class UnansweredRecord extends Error {}

export function topicsOf(g: StreamedGraph): GraphTopicNames {
  return graphTopicNames(g.prefix, g.name);
}

/**
 * Graph topics on Kafka: consumes <prefix>.<graph>.inputs (Open Inference Protocol JSON, or a protobuf
 * ModelInferRequest when the content-type header says so), runs the graph, and produces the response to
 * .outputs with the same key and encoding; a record it cannot serve goes to .errors with the original
 * payload and the reason, source topic, partition and offset in headers. Many requests run at once, yet
 * records of one key are answered in order, and an offset is committed only after the answers of it and
 * every record before it were acknowledged by the broker (at least once).
 */
export class KafkaGraphStream {
  private pipeline: PipelinedConsumer | undefined;
  private stopping = false;

  constructor(
    private readonly client: KafkaClient,
    private readonly options: GraphStreamOptions,
    private readonly infer: GraphInfer,
    private readonly logger: KafkaLogger,
  ) {}

  async start(graphs: readonly StreamedGraph[]): Promise<void> {
    if (graphs.length === 0) return;
    this.stopping = false;
    await this.client.ensureTopics(
      graphs.flatMap((g) => Object.values(topicsOf(g)).map((topic: string) => ({ topic, partitions: g.partitions, owner: `graph "${g.name}" (spec.kafka.partitions)` }))),
    );
    // Topic names once per graph, not per record.
    const byInputs = new Map(graphs.map((g) => [topicsOf(g).inputs, { graph: g, topics: topicsOf(g) }]));
    this.pipeline = new PipelinedConsumer(
      this.client,
      {
        name: 'graph stream',
        groupId: this.options.groupId,
        topics: [...byInputs.keys()],
        maxInFlight: this.options.maxInFlight,
        sessionTimeoutMs: this.options.sessionTimeoutMs,
        orderByKey: true,
        fromBeginning: true,
        partitions: graphs.reduce((n, g) => n + g.partitions, 0),
      },
      this.logger,
    );
    await this.pipeline.start((record) => {
      const streamed = byInputs.get(record.topic);
      return streamed === undefined ? Promise.resolve() : this.handle(streamed.graph, streamed.topics, record);
    });
    this.logger.log(`streaming ${graphs.map((g) => `${topicsOf(g).inputs} -> ${topicsOf(g).outputs}`).join(', ')}`);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.pipeline?.stop();
  }

  stats(): PipelineStats | undefined {
    return this.pipeline?.stats();
  }

  private async handle(graph: StreamedGraph, topics: GraphTopicNames, { topic, partition, message }: ConsumedRecord): Promise<void> {
    const headers = textHeaders(message.headers);
    const passThrough = passThroughHeaders(headers);
    const protobuf = isProtobuf(headers[HEADER.contentType]);
    let answer: { topic: string; value: Buffer | string | null; headers: Record<string, string> };
    try {
      const value = message.value;
      if (value === null || value.byteLength === 0) throw new InferenceError('INVALID_ARGUMENT', 'record has no value; expected an inference request');
      const request = protobuf ? decodeInferRequestProto(value) : decodeInferRequest(value);
      // The same rule as the body's id and the REST header: an id must be able to travel as an HTTP header.
      checkRequestId(headers[HEADER.requestId], 'x-request-id header');
      const response = await this.inferRetrying(() => `${topic}[${partition}]@${message.offset}`, graph.name, request, headers[HEADER.requestId] ?? request.id, headers);
      // JSON answers go to the producer as text: kafkajs writes a string straight into the record batch.
      const body = protobuf ? encodeInferResponseProto(encodeModelInferResponse(response)) : (encodeInferResponseJson(response, request.outputs, false) ?? encodeInferResponse(response, request.outputs, false).body);
      // passThrough is this record's own object: the answer's headers are added to it, not copied.
      passThrough[HEADER.requestId] = response.id;
      passThrough[HEADER.contentType] = protobuf ? PROTOBUF : 'application/json';
      answer = { topic: topics.outputs, value: body, headers: passThrough };
    } catch (err) {
      if (err instanceof UnansweredRecord) throw err;
      const status = err instanceof InferenceError ? err.httpStatus : 500;
      const reason = err instanceof Error ? err.message : String(err);
      answer = {
        topic: topics.errors,
        value: message.value,
        headers: {
          ...passThrough,
          [HEADER.error]: reason,
          [HEADER.errorStatus]: String(status),
          'x-source-topic': topic,
          'x-source-partition': String(partition),
          'x-source-offset': message.offset,
          ...(headers[HEADER.contentType] !== undefined ? { [HEADER.contentType]: headers[HEADER.contentType] } : {}),
        },
      };
      this.logger.warn(`${topic}[${partition}]@${message.offset} -> ${topics.errors}: ${reason}`);
    }
    await this.client.send(answer.topic, { key: message.key, value: answer.value, headers: answer.headers });
  }

  /**
   * Runs the graph; a full batch queue is retried after a capped backoff instead of going to .errors.
   * Past the last attempt (or while stopping) the handler fails without answering, so the record is not
   * committed and is consumed again: nothing is lost. `where` names the record, built only for a message.
   */
  private async inferRetrying(where: () => string, graph: string, request: InferRequest, requestId: string | undefined, headers: Record<string, string>): Promise<InferResponse> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.infer(graph, request, requestId, headers);
      } catch (err) {
        if (!isBatchQueueFull(err)) throw err;
        const reason = (err as Error).message;
        if (attempt >= QUEUE_FULL_RETRY.attempts || this.stopping) {
          this.logger.warn(`${where()}: still refused after ${attempt} attempts (${reason}); leaving it uncommitted to be consumed again`);
          throw new UnansweredRecord(`${where()}: ${reason}`, { cause: err });
        }
        const delayMs = Math.min(QUEUE_FULL_RETRY.maxMs, QUEUE_FULL_RETRY.firstMs * 2 ** (attempt - 1));
        if (attempt === 1 || attempt % 10 === 0) this.logger.warn(`${where()}: ${reason}; retrying in ${delayMs} ms (attempt ${attempt})`);
        await new Promise((resolve) => setTimeout(resolve, delayMs));
      }
    }
  }
}
