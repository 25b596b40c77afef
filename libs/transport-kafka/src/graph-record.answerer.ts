import {
  InferenceError,
  checkRequestId,
  decodeInferRequest,
  decodeInferRequestProto,
  encodeInferResponse,
  encodeInferResponseJson,
  encodeInferResponseProto,
  encodeModelInferResponse,
  isBatchQueueFull,
  type InferRequest,
  type InferResponse,
} from '@infergraph/protocol';
import type { KafkaLogger } from './kafka.client';
import { HEADER, PROTOBUF, isProtobuf, passThroughHeaders, type GraphTopicNames } from './topics';

/** Runs one graph request (the engine's inference service, as REST and gRPC use it). */
export type GraphInfer = (graph: string, request: InferRequest, requestId: string | undefined, headers: Record<string, string>) => Promise<InferResponse>;

/** A consumed request record, as the answerer needs it (headers already lower-cased text). */
export interface StreamRecord {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  readonly value: Buffer | null;
  readonly headers: Record<string, string>;
}

/** What a request record is answered with: an output record, or the request on the errors topic. The key stays the request's. */
export interface StreamAnswer {
  readonly topic: string;
  readonly value: Buffer | string | null;
  readonly headers: Record<string, string>;
}

/** A full batch queue is back-pressure: retry the record after 10 ms, doubling up to 1 s, at most 30 times (~25 s). */
const QUEUE_FULL_RETRY = { firstMs: 10, maxMs: 1000, attempts: 30 } as const;

/** A record deliberately left unanswered (and uncommitted), to be consumed again. */
export class UnansweredRecord extends Error {
  override readonly name = 'UnansweredRecord';
}

/**
 * The graph-topic contract for one record, whichever thread reads Kafka: decodes the request (Open Inference
 * Protocol JSON, or a protobuf ModelInferRequest when the content-type header says so), runs the graph and
 * encodes the response in the request's encoding; a record it cannot serve is answered on the errors topic
 * with the original payload and the reason, source topic, partition and offset in headers. A full batch queue
 * is retried with backoff; past the last attempt, or while stopping, the record is left unanswered
 * (UnansweredRecord) so that it is consumed again.
 */
export class GraphRecordAnswerer {
  /** Set while the stream stops: a refused record is left for the group's next reader instead of retried. */
  stopping = false;

  constructor(
    private readonly infer: GraphInfer,
    private readonly logger: KafkaLogger,
  ) {}

  async answer(graph: string, topics: GraphTopicNames, record: StreamRecord): Promise<StreamAnswer> {
    const headers = record.headers;
    const passThrough = passThroughHeaders(headers);
    const protobuf = isProtobuf(headers[HEADER.contentType]);
    try {
      const value = record.value;
      if (value === null || value.byteLength === 0) throw new InferenceError('INVALID_ARGUMENT', 'record has no value; expected an inference request');
      const request = protobuf ? decodeInferRequestProto(value) : decodeInferRequest(value);
      // The same rule as the body's id and the REST header: an id must be able to travel as an HTTP header.
      checkRequestId(headers[HEADER.requestId], 'x-request-id header');
      const response = await this.inferRetrying(record, graph, request, headers[HEADER.requestId] ?? request.id, headers);
      // JSON answers go to the producer as text: kafkajs writes a string straight into the record batch.
      const body = protobuf ? encodeInferResponseProto(encodeModelInferResponse(response)) : (encodeInferResponseJson(response, request.outputs, false) ?? encodeInferResponse(response, request.outputs, false).body);
      // passThrough is this record's own object: the answer's headers are added to it, not copied.
      passThrough[HEADER.requestId] = response.id;
      passThrough[HEADER.contentType] = protobuf ? PROTOBUF : 'application/json';
      return { topic: topics.outputs, value: body, headers: passThrough };
    } catch (err) {
      if (err instanceof UnansweredRecord) throw err;
      const status = err instanceof InferenceError ? err.httpStatus : 500;
      const reason = err instanceof Error ? err.message : String(err);
      this.logger.warn(`${where(record)} -> ${topics.errors}: ${reason}`);
      return {
        topic: topics.errors,
        value: record.value,
        headers: {
          ...passThrough,
          [HEADER.error]: reason,
          [HEADER.errorStatus]: String(status),
          'x-source-topic': record.topic,
          'x-source-partition': String(record.partition),
          'x-source-offset': record.offset,
          ...(headers[HEADER.contentType] !== undefined ? { [HEADER.contentType]: headers[HEADER.contentType] } : {}),
        },
      };
    }
  }

  /**
   * Runs the graph; a full batch queue is retried after a capped backoff instead of going to .errors.
   * Past the last attempt (or while stopping) the handler fails without answering, so the record is not
   * committed and is consumed again: nothing is lost.
   */
  private async inferRetrying(record: StreamRecord, graph: string, request: InferRequest, requestId: string | undefined, headers: Record<string, string>): Promise<InferResponse> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.infer(graph, request, requestId, headers);
      } catch (err) {
        if (!isBatchQueueFull(err)) throw err;
        const reason = (err as Error).message;
        if (attempt >= QUEUE_FULL_RETRY.attempts || this.stopping) {
          this.logger.warn(`${where(record)}: still refused after ${attempt} attempts (${reason}); leaving it uncommitted to be consumed again`);
          throw new UnansweredRecord(`${where(record)}: ${reason}`, { cause: err });
        }
        const delayMs = Math.min(QUEUE_FULL_RETRY.maxMs, QUEUE_FULL_RETRY.firstMs * 2 ** (attempt - 1));
        if (attempt === 1 || attempt % 10 === 0) this.logger.warn(`${where(record)}: ${reason}; retrying in ${delayMs} ms (attempt ${attempt})`);
        await new Promise((resolve) => setTimeout(resolve, delayMs));
      }
    }
  }
}

function where(record: StreamRecord): string {
  return `${record.topic}[${record.partition}]@${record.offset}`;
}
