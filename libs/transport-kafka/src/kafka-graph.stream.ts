import {
  InferenceError,
  decodeInferRequest,
  encodeInferResponse,
  encodeModelInferResponse,
  type InferRequest,
  type InferResponse,
} from '@infergraph/protocol';
import { textHeaders, type KafkaClient, type KafkaLogger } from './kafka.client';
import { decodeInferRequestProto, encodeInferResponseProto } from './oip-proto.codec';
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
}

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

  constructor(
    private readonly client: KafkaClient,
    private readonly options: GraphStreamOptions,
    private readonly infer: GraphInfer,
    private readonly logger: KafkaLogger,
  ) {}

  async start(graphs: readonly StreamedGraph[]): Promise<void> {
    if (graphs.length === 0) return;
    await this.client.ensureTopics(
      graphs.flatMap((g) => Object.values(topicsOf(g)).map((topic: string) => ({ topic, partitions: g.partitions, owner: `graph "${g.name}" (spec.kafka.partitions)` }))),
    );
    const byInputs = new Map(graphs.map((g) => [topicsOf(g).inputs, g]));
    this.pipeline = new PipelinedConsumer(
      this.client,
      {
        name: 'graph stream',
        groupId: this.options.groupId,
        topics: [...byInputs.keys()],
        maxInFlight: this.options.maxInFlight,
        orderByKey: true,
        fromBeginning: true,
        partitions: graphs.reduce((n, g) => n + g.partitions, 0),
      },
      this.logger,
    );
    await this.pipeline.start((record) => {
      const graph = byInputs.get(record.topic);
      return graph === undefined ? Promise.resolve() : this.handle(graph, record);
    });
    this.logger.log(`streaming ${graphs.map((g) => `${topicsOf(g).inputs} -> ${topicsOf(g).outputs}`).join(', ')}`);
  }

  async stop(): Promise<void> {
    await this.pipeline?.stop();
  }

  stats(): PipelineStats | undefined {
    return this.pipeline?.stats();
  }

  private async handle(graph: StreamedGraph, { topic, partition, message }: ConsumedRecord): Promise<void> {
    const topics = topicsOf(graph);
    const headers = textHeaders(message.headers);
    const passThrough = passThroughHeaders(headers);
    const protobuf = isProtobuf(headers[HEADER.contentType]);
    let answer: { topic: string; value: Buffer | null; headers: Record<string, string> };
    try {
      const value = message.value;
      if (value === null || value.byteLength === 0) throw new InferenceError('INVALID_ARGUMENT', 'record has no value; expected an inference request');
      const request = protobuf ? decodeInferRequestProto(value) : decodeInferRequest(value);
      const response = await this.infer(graph.name, request, headers[HEADER.requestId] ?? request.id, headers);
      const body = protobuf ? encodeInferResponseProto(encodeModelInferResponse(response)) : Buffer.from(encodeInferResponse(response, request.outputs, false).body);
      answer = { topic: topics.outputs, value: body, headers: { ...passThrough, [HEADER.requestId]: response.id, [HEADER.contentType]: protobuf ? PROTOBUF : 'application/json' } };
    } catch (err) {
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
}
