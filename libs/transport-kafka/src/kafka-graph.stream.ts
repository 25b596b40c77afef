import { textHeaders, type KafkaClient, type KafkaLogger } from './kafka.client';
import { GraphRecordAnswerer, type GraphInfer } from './graph-record.answerer';
import { PipelinedConsumer, answerInTurn, type ConsumedRecord, type KeyTurn, type PipelineStats } from './pipelined.consumer';
import { graphTopicNames, type GraphTopicNames } from './topics';

export interface StreamedGraph {
  readonly name: string;
  readonly prefix: string;
  readonly partitions: number;
}

export interface GraphStreamOptions {
  readonly groupId: string;
  /** Requests in flight at once in this process; reading pauses at the limit. */
  readonly maxInFlight: number;
  /** How long the group waits for a member that stopped heartbeating before its partitions move. */
  readonly sessionTimeoutMs: number;
}

/** A graph stream: reads the graph topics, answers each record, commits what was answered. */
export interface GraphStream {
  start(graphs: readonly StreamedGraph[]): Promise<void>;
  /** Stops reading, finishes what was taken, commits it and leaves the group. */
  stop(): Promise<void>;
  /** The consumer's figures (undefined before start); from a stream thread, as of its latest report. */
  stats(): PipelineStats | undefined;
  /** Times the stream's thread ended unexpectedly and was started again (0 without a thread). */
  restarts(): number;
}

export function topicsOf(g: StreamedGraph): GraphTopicNames {
  return graphTopicNames(g.prefix, g.name);
}

/** A streamed graph and its topic names (made once per graph, not per record). */
export interface StreamedGraphTopics {
  readonly graph: StreamedGraph;
  readonly topics: GraphTopicNames;
}

/**
 * Provisions the graphs' topics and builds the group member that reads their inputs, keyed by inputs topic:
 * the same in the event loop and in a stream thread.
 */
export async function openGraphPipeline(
  client: KafkaClient,
  options: GraphStreamOptions,
  graphs: readonly StreamedGraph[],
  logger: KafkaLogger,
): Promise<{ pipeline: PipelinedConsumer; byInputs: Map<string, StreamedGraphTopics> }> {
  await client.ensureTopics(graphs.flatMap((g) => Object.values(topicsOf(g)).map((topic: string) => ({ topic, partitions: g.partitions, owner: `graph "${g.name}" (spec.kafka.partitions)` }))));
  const byInputs = new Map(graphs.map((g) => [topicsOf(g).inputs, { graph: g, topics: topicsOf(g) }]));
  const pipeline = new PipelinedConsumer(
    client,
    {
      name: 'graph stream',
      groupId: options.groupId,
      topics: [...byInputs.keys()],
      maxInFlight: options.maxInFlight,
      sessionTimeoutMs: options.sessionTimeoutMs,
      orderByKey: true,
      fromBeginning: true,
      partitions: graphs.reduce((n, g) => n + g.partitions, 0),
    },
    logger,
  );
  return { pipeline, byInputs };
}

/** The log line of a stream that started. */
export function streamingLine(graphs: readonly StreamedGraph[]): string {
  return `streaming ${graphs.map((g) => `${topicsOf(g).inputs} -> ${topicsOf(g).outputs}`).join(', ')}`;
}

/**
 * Graph topics on Kafka, read on the event loop that runs the graphs: consumes <prefix>.<graph>.inputs (Open Inference Protocol JSON, or a protobuf
 * ModelInferRequest when the content-type header says so), runs the graph, and produces the response to
 * .outputs with the same key and encoding; a record it cannot serve goes to .errors with the original
 * payload and the reason, source topic, partition and offset in headers. Many requests run at once, yet
 * records of one key are answered in order, and an offset is committed only after the answers of it and
 * every record before it were acknowledged by the broker (at least once).
 */
export class KafkaGraphStream implements GraphStream {
  private pipeline: PipelinedConsumer | undefined;
  private readonly answerer: GraphRecordAnswerer;

  constructor(
    private readonly client: KafkaClient,
    private readonly options: GraphStreamOptions,
    infer: GraphInfer,
    private readonly logger: KafkaLogger,
  ) {
    this.answerer = new GraphRecordAnswerer(infer, logger);
  }

  async start(graphs: readonly StreamedGraph[]): Promise<void> {
    if (graphs.length === 0) return;
    this.answerer.stopping = false;
    const { pipeline, byInputs } = await openGraphPipeline(this.client, this.options, graphs, this.logger);
    this.pipeline = pipeline;
    await pipeline.start((record, turn) => {
      const streamed = byInputs.get(record.topic);
      return streamed === undefined ? Promise.resolve() : this.handle(streamed.graph, streamed.topics, record, turn);
    });
    this.logger.log(streamingLine(graphs));
  }

  async stop(): Promise<void> {
    this.answerer.stopping = true;
    await this.pipeline?.stop();
  }

  stats(): PipelineStats | undefined {
    return this.pipeline?.stats();
  }

  restarts(): number {
    return 0;
  }

  private async handle(graph: StreamedGraph, topics: GraphTopicNames, { topic, partition, message }: ConsumedRecord, turn: KeyTurn): Promise<void> {
    const answer = await this.answerer.answer(graph.name, topics, { topic, partition, offset: message.offset, value: message.value, headers: textHeaders(message.headers) });
    await answerInTurn(turn, () => this.client.send(answer.topic, { key: message.key, value: answer.value, headers: answer.headers }));
  }
}
