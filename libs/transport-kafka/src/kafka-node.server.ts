import { expiresAfter, msLeftOfWallDeadline } from '@infergraph/executor';
import { InferenceError, decodeInferRequestProto, encodeInferResponseProto, encodeModelInferResponse, type InferRequest, type InferResponse } from '@infergraph/protocol';
import { NodeKey } from '@infergraph/spec';
import { textHeaders, type KafkaClient, type KafkaLogger } from './kafka.client';
import { PipelinedConsumer, type ConsumedRecord, type PipelineStats } from './pipelined.consumer';
import { HEADER, PROTOBUF, nodeGroupId, nodeTopicNames, passThroughHeaders } from './topics';

/** One node replica to serve from Kafka. */
export interface KafkaServedNode {
  readonly graph: string;
  /** `spec.version`: part of the node's key (the model the call runs) and of its topics' names. */
  readonly version?: string;
  readonly node: string;
  readonly prefix: string;
  readonly partitions: number;
}

/** Runs one node call (the worker's node runtime); `model` is "<graph>.<node>". */
/** Runs one node call; `expiresAt`: when the call's time runs out on `performance.now()`'s clock (undefined: the node limit). */
export type NodeInfer = (model: string, request: InferRequest, headers: Record<string, string>, expiresAt: number | undefined) => Promise<InferResponse>;

export interface NodeServerOptions {
  /** Node calls in flight at once per node; reading pauses at the limit. */
  readonly maxInFlight: number;
  /** Consumer session timeout: how soon the group notices a replica that died without leaving. */
  readonly sessionTimeoutMs: number;
}

const key = (n: KafkaServedNode): string => NodeKey.format(n.graph, n.node, n.version);

/**
 * The worker side of Kafka-connected nodes: one consumer per served node in the node's group (replicas
 * share its input partitions), each call answered on the node's outputs topic with the call's headers,
 * the input offset committed only after the answer is acknowledged. A failed call is answered with the
 * error in headers so the waiting gateway fails fast; a call whose request deadline already passed
 * (a replay after a crash, say) is answered with that error without running the node. A record marked
 * x-infergraph-whole-graph runs the node's whole graph here (its answer carries the graph's outputs and node
 * report), or is answered declined when this worker does not hold every node of it.
 */
export class KafkaNodeServer {
  private readonly served = new Map<string, PipelinedConsumer>();
  private sync: Promise<void> = Promise.resolve();

  constructor(
    private readonly client: KafkaClient,
    private readonly options: NodeServerOptions,
    private readonly infer: NodeInfer,
    private readonly logger: KafkaLogger,
  ) {}

  /** Serves exactly these nodes: starts consumers for new ones and stops those no longer listed. */
  serve(nodes: readonly KafkaServedNode[]): Promise<void> {
    const step = this.sync.catch(() => undefined).then(() => this.reconcile(nodes));
    this.sync = step;
    return step;
  }

  stats(): PipelineStats[] {
    return [...this.served.values()].map((c) => c.stats());
  }

  async close(): Promise<void> {
    await this.serve([]);
  }

  private async reconcile(nodes: readonly KafkaServedNode[]): Promise<void> {
    const wanted = new Map(nodes.map((n) => [key(n), n]));
    // Consumers no longer wanted stop together (a worker's drain stops all of them): each finishes its records
    // in flight, commits and leaves its group, and none waits for the others to do so.
    const leaving = [...this.served].filter(([k]) => !wanted.has(k));
    for (const [k] of leaving) this.served.delete(k);
    await Promise.all(
      leaving.map(async ([k, consumer]) => {
        await consumer.stop();
        this.logger.log(`stopped consuming ${k}`);
      }),
    );
    const added = nodes.filter((n) => !this.served.has(key(n)));
    await this.client.ensureTopics(
      added.flatMap((n) => Object.values(nodeTopicNames(n.prefix, n.graph, n.node, n.version)).map((topic: string) => ({ topic, partitions: n.partitions, owner: `graph "${n.graph}" (spec.kafka.partitions)` }))),
    );
    await Promise.all(
      added.map(async (n) => {
        const topics = nodeTopicNames(n.prefix, n.graph, n.node, n.version);
        const consumer = new PipelinedConsumer(
          this.client,
          {
            name: `node ${key(n)}`,
            groupId: nodeGroupId(n.prefix, n.graph, n.node, n.version),
            topics: [topics.inputs],
            maxInFlight: this.options.maxInFlight,
            orderByKey: false,
            fromBeginning: true,
            sessionTimeoutMs: this.options.sessionTimeoutMs,
            partitions: n.partitions,
          },
          this.logger,
        );
        this.served.set(key(n), consumer);
        // The models a record may name (the node, or its whole graph), made once per served node, not per record.
        const models = { node: key(n), wholeGraph: NodeKey.format(n.graph, NodeKey.WHOLE_GRAPH, n.version) };
        await consumer.start((record) => this.handle(n, models, topics.outputs, record));
        this.logger.log(`consuming ${topics.inputs} -> ${topics.outputs}`);
      }),
    );
  }

  private async handle(n: KafkaServedNode, models: { readonly node: string; readonly wholeGraph: string }, outputs: string, { message }: ConsumedRecord): Promise<void> {
    const headers = textHeaders(message.headers);
    // A fresh object per record: the call's correlation headers are added to it, not spread into copies.
    const answerHeaders = passThroughHeaders(headers);
    for (const name of ANSWER_CORRELATION) {
      const v = headers[name];
      if (v !== undefined) answerHeaders[name] = v;
    }
    answerHeaders[HEADER.contentType] = PROTOBUF;
    let value: Buffer | null = null;
    try {
      // The record carries the request's deadline as wall time (it may wait in the topic): read against this
      // wall clock once, here, then counted on the monotonic clock. One that is not a number is ignored (the
      // node limit applies), as is a record without one.
      const deadline = headers[HEADER.deadline] === undefined ? Number.NaN : Number(headers[HEADER.deadline]);
      const left = Number.isFinite(deadline) ? msLeftOfWallDeadline(deadline) : undefined;
      if (left !== undefined && left <= 0) {
        throw new InferenceError('DEADLINE_EXCEEDED', `node "${n.node}" of graph "${n.graph}": the request's deadline passed before the node ran`);
      }
      if (message.value === null) throw new InferenceError('INVALID_ARGUMENT', 'node call record has no value');
      const request = decodeInferRequestProto(message.value);
      // A whole-graph call runs every node here, or is declined without running any (NodeInferenceService).
      const model = headers[HEADER.wholeGraph] === '1' ? models.wholeGraph : models.node;
      const response = await this.infer(model, request, headers, left === undefined ? undefined : expiresAfter(left));
      value = encodeInferResponseProto(encodeModelInferResponse(response));
    } catch (err) {
      const e = err instanceof InferenceError ? err : new InferenceError('INTERNAL', err instanceof Error ? err.message : String(err));
      Object.assign(answerHeaders, { [HEADER.error]: e.message, [HEADER.errorCode]: e.code, [HEADER.errorStatus]: String(e.httpStatus) });
      if (e.details !== undefined) answerHeaders[HEADER.errorDetails] = JSON.stringify(e.details);
    }
    await this.client.send(outputs, { key: message.key, value, headers: answerHeaders });
  }
}

/** The headers of a call its answer carries back, so the caller can match it. */
const ANSWER_CORRELATION = [HEADER.call, HEADER.replyTo, HEADER.requestId] as const;
