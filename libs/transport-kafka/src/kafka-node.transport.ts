import { randomUUID } from 'node:crypto';
import type { Consumer, KafkaMessage } from 'kafkajs';
import { decodeGraphAnswer, isWholeGraphDeclined, remainingMs, wallDeadline, type GraphAnswer, type NodeInvocation, type NodeTransport, type RequestContext, type WholeGraphCall } from '@infergraph/executor';
import { NodeKey } from '@infergraph/spec';
import {
  HTTP_STATUS_OF,
  InferenceError,
  decodeInferResponseProto,
  decodeNodeOutputs,
  encodeInferRequestProto,
  encodeNodeCall,
  isInferenceErrorCode,
  parametersOf,
  type ModelInferResponseMessage,
  type Tensor,
  type TensorMap,
} from '@infergraph/protocol';
import { textHeaders, type KafkaClient, type KafkaLogger } from './kafka.client';
import { HEADER, PROTOBUF, nodeTopicNames, passThroughHeaders, type NodeTopicNames } from './topics';

/** A graph whose node calls travel through Kafka topics. */
export interface KafkaConnectedGraph {
  readonly name: string;
  /** `spec.version`: versions side by side have topics of their own (`nodeTopicNames`). */
  readonly version?: string;
  readonly prefix: string;
  readonly partitions: number;
  /** The nodes that run on workers (each gets an inputs and an outputs topic). */
  readonly nodes: readonly string[];
}

interface PendingCall {
  /** Takes the decoded answer; throws when it does not hold together (the worker's fault). */
  readonly accept: (response: ModelInferResponseMessage) => void;
  readonly reject: (err: unknown) => void;
  readonly where: string;
}

/** After a replica declined to run a graph whole, its requests go node by node for this long before asking again. */
const DECLINED_FOR_MS = 10_000;

export interface NodeTransportStats {
  readonly pending: number;
  readonly calls: number;
  /** Outputs for calls that already ended: replays after a worker crash, or answers after the deadline. */
  readonly lateOrDuplicate: number;
  readonly subscribed: readonly string[];
}

/**
 * Node calls over Kafka, for the gateway. A call is a protobuf ModelInferRequest record on the node's
 * inputs topic, keyed by request id, carrying a call id, this instance's id and the request deadline;
 * the worker replica that consumes it answers on the node's outputs topic with the same headers. This
 * instance reads every outputs topic of its graphs in a group of its own and completes the call whose
 * id an answer carries; answers for calls that already ended (replays) are counted and dropped.
 * Routing, joins and ensembles stay in the executor, so the graph behaves as with any transport.
 *
 * A chain graph can cross once (`wholeGraph`): one record on its first node's inputs topic, marked
 * x-infergraph-whole-graph, which the replica consuming it runs whole when it holds every node and declines
 * otherwise; its answer (the graph's outputs and node report) comes on that node's outputs topic.
 */
export class KafkaNodeTransport implements NodeTransport {
  private readonly instance = `gw-${randomUUID().slice(0, 8)}`;
  /** By graph id (`NodeKey.graphId`: the name, with the version for versions other than "1"). */
  private readonly graphs = new Map<string, KafkaConnectedGraph>();
  /** Per registration, what its calls need and never changes: each node's topic names, the whole-graph model. */
  private readonly derived = new WeakMap<KafkaConnectedGraph, { readonly topics: Map<string, NodeTopicNames>; readonly wholeGraphModel: string }>();
  private readonly pending = new Map<string, PendingCall>();
  /** Graphs whose topics could not be provisioned (e.g. a partition count clash), with the reason. */
  private readonly failed = new Map<string, string>();
  private readonly provisioned = new Set<string>();
  private subscribed = new Set<string>();
  /** The next offset to read per outputs partition ("topic:partition"), kept across consumer restarts. */
  private readonly positions = new Map<string, string>();
  private consumer: Consumer | undefined;
  private sync: Promise<void> = Promise.resolve();
  private seq = 0;
  private calls = 0;
  private lateOrDuplicate = 0;
  /** By graph id: when a replica last declined a whole-graph call (performance.now()). */
  private readonly declinedAt = new Map<string, number>();
  private closed = false;

  constructor(
    private readonly client: KafkaClient,
    private readonly groupPrefix: string,
    private readonly logger: KafkaLogger,
  ) {}

  /**
   * Declares a graph: creates its node topics and (re)subscribes this instance to their outputs. Calls
   * for the graph wait until that is done. Returns when ready; rejects with the reason if it cannot be.
   */
  register(graph: KafkaConnectedGraph): Promise<void> {
    const id = NodeKey.graphId(graph.name, graph.version);
    this.graphs.set(id, graph);
    this.failed.delete(id);
    this.provisioned.delete(id);
    const step = this.sync.catch(() => undefined).then(() => this.reconcile());
    this.sync = step;
    return step.then(() => {
      const reason = this.failed.get(id);
      if (reason !== undefined) throw new Error(reason);
    });
  }

  /** The transport of one version of a graph: its calls go to that version's node topics. */
  forVersion(version: string | undefined): NodeTransport {
    return {
      invoke: (call) => this.invokeAs(NodeKey.graphId(call.graph, version), call),
      describeWait: (graph, node) => this.describeWaitAs(NodeKey.graphId(graph, version), node),
      wholeGraph: (graph, nodes) => this.wholeGraphAs(NodeKey.graphId(graph, version), nodes),
    };
  }

  invoke(call: NodeInvocation): Promise<TensorMap> {
    return this.invokeAs(call.graph, call);
  }

  wholeGraph(graph: string, nodes: readonly string[]): WholeGraphCall | undefined {
    return this.wholeGraphAs(graph, nodes);
  }

  private async invokeAs(graphId: string, call: NodeInvocation): Promise<TensorMap> {
    const graph = await this.registered(graphId);
    const message = encodeNodeCall(NodeKey.format(call.graph, call.node), call.ctx.requestId, call.ctx.parameters, call.inputs.values());
    return this.call(graph, call.node, `node "${call.node}" of graph "${graphId}"`, call.ctx, message, false, nodeAnswer);
  }

  /**
   * The whole graph as one record on its first node's inputs topic, unless its topics are not usable or a
   * replica declined lately; a replica that declines resolves undefined (the executor then runs the request
   * node by node) and the graph's requests go node by node for DECLINED_FOR_MS. A call made while the topics
   * are still being provisioned (just after start) waits for them, as a node call does, rather than taking
   * the node-by-node path: the first requests cross the way every later one does.
   */
  private wholeGraphAs(graphId: string, nodes: readonly string[]): WholeGraphCall | undefined {
    const first = nodes[0];
    if (!this.graphs.has(graphId) || first === undefined || this.failed.has(graphId)) return undefined;
    const declined = this.declinedAt.get(graphId);
    if (declined !== undefined && performance.now() - declined < DECLINED_FOR_MS) return undefined;
    return async (call) => {
      const graph = await this.registered(graphId);
      const message = encodeNodeCall(this.derivedOf(graph).wholeGraphModel, call.ctx.requestId, call.ctx.parameters, call.inputs);
      try {
        return await this.call(graph, first, `graph "${graphId}"`, call.ctx, message, true, graphAnswer);
      } catch (err) {
        if (!isWholeGraphDeclined(err)) throw err;
        this.declinedAt.set(graphId, performance.now());
        return undefined;
      }
    };
  }

  /** The graph's registration once its topics are provisioned, or why calls cannot go through them. */
  private async registered(graphId: string): Promise<KafkaConnectedGraph> {
    await this.sync.catch((err: unknown) => {
      throw new InferenceError('UNAVAILABLE', `Kafka topics of graph "${graphId}" are not ready: ${err instanceof Error ? err.message : String(err)}`);
    });
    const reason = this.failed.get(graphId);
    if (reason !== undefined) throw new InferenceError('UNAVAILABLE', `Kafka topics of graph "${graphId}" are not usable: ${reason}`);
    const graph = this.graphs.get(graphId);
    if (graph === undefined) throw new InferenceError('INTERNAL', `graph "${graphId}" is not registered with the Kafka node transport`);
    return graph;
  }

  /**
   * Publishes one call record on `node`'s inputs topic and waits for the answer with its call id on the
   * node's outputs topic (`decode` reads it), up to the request's deadline or end.
   */
  private async call<T>(
    graph: KafkaConnectedGraph,
    node: string,
    where: string,
    ctx: RequestContext,
    message: ReturnType<typeof encodeNodeCall>,
    wholeGraph: boolean,
    decode: (response: ModelInferResponseMessage, where: string) => T,
  ): Promise<T> {
    const topics = this.topicsOf(graph, node);
    const id = `${this.instance}-${++this.seq}`;
    this.calls++;
    const remaining = remainingMs(ctx);
    const answer = new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new InferenceError('DEADLINE_EXCEEDED', `${where}: no answer on ${topics.outputs} within ${Math.max(0, remaining)} ms; is a worker consuming ${topics.inputs}?`));
      }, Math.max(0, remaining));
      let unsubscribe = (): void => undefined;
      this.pending.set(id, {
        where,
        accept: (response) => {
          const value = decode(response, where);
          clearTimeout(timer);
          unsubscribe();
          resolve(value);
        },
        reject: (e) => {
          clearTimeout(timer);
          unsubscribe();
          reject(e instanceof Error ? e : new Error(String(e)));
        },
      });
      // The request's end, not its AbortSignal: an AbortController and its listeners cost every call
      // microseconds. A request that has already ended rejects here, at once.
      unsubscribe = ctx.end.onEnd(() => {
        clearTimeout(timer);
        if (this.pending.delete(id)) reject(new InferenceError('DEADLINE_EXCEEDED', `${where}: request ended while waiting on ${topics.outputs}`));
      });
    });
    // The request may end (and reject the answer) while the record is still being published, before
    // anyone awaits the answer: mark it handled now so that rejection is not an unhandled one.
    answer.catch(() => undefined);
    if (!this.pending.has(id)) return answer; // the request had ended: nothing to publish
    const headers = passThroughHeaders(ctx.headers); // a fresh object: the call's own headers go on it
    headers[HEADER.contentType] = PROTOBUF;
    headers[HEADER.requestId] = ctx.requestId;
    headers[HEADER.call] = id;
    headers[HEADER.replyTo] = this.instance;
    headers[HEADER.deadline] = String(Math.ceil(wallDeadline(ctx)));
    if (wholeGraph) headers[HEADER.wholeGraph] = '1';
    try {
      await this.client.send(topics.inputs, { key: ctx.requestId, value: encodeInferRequestProto(message), headers });
    } catch (err) {
      this.pending.get(id)?.reject(new InferenceError('UNAVAILABLE', `${where}: cannot publish to ${topics.inputs}: ${err instanceof Error ? err.message : String(err)}`));
      this.pending.delete(id);
    }
    return answer;
  }

  /** A node's topic names, made once per registration (a call would otherwise build three strings). */
  private topicsOf(graph: KafkaConnectedGraph, node: string): NodeTopicNames {
    const topics = this.derivedOf(graph).topics;
    let names = topics.get(node);
    if (names === undefined) topics.set(node, (names = nodeTopicNames(graph.prefix, graph.name, node, graph.version)));
    return names;
  }

  private derivedOf(graph: KafkaConnectedGraph): { readonly topics: Map<string, NodeTopicNames>; readonly wholeGraphModel: string } {
    let d = this.derived.get(graph);
    if (d === undefined) this.derived.set(graph, (d = { topics: new Map(), wholeGraphModel: NodeKey.format(graph.name, NodeKey.WHOLE_GRAPH, graph.version) }));
    return d;
  }

  /** Completes the pending call an output record answers; counts answers for calls that already ended. */
  private answer(message: KafkaMessage): void {
    const headers = textHeaders(message.headers);
    const id = headers[HEADER.call];
    const call = id === undefined ? undefined : this.pending.get(id);
    if (call === undefined) {
      if (headers[HEADER.replyTo] === this.instance) this.lateOrDuplicate++;
      return;
    }
    this.pending.delete(id as string);
    try {
      const error = headers[HEADER.error];
      if (error !== undefined) {
        const code = headers[HEADER.errorCode];
        const details = parseDetails(headers[HEADER.errorDetails]);
        call.reject(new InferenceError(isInferenceErrorCode(code) ? code : codeOfStatus(headers[HEADER.errorStatus]), error, details === undefined ? undefined : { details }));
      } else {
        // Outputs decode as views over the record's bytes (no copy): kafkajs hands each fetched record out once and keeps no reference.
        call.accept(decodeInferResponseProto(message.value ?? Buffer.alloc(0)));
      }
    } catch (err) {
      // An answer that is no ModelInferResponse is the worker's fault, not the caller's: a 500, as decodeNodeOutputs says for the rest.
      const malformed = err instanceof InferenceError && err.code === 'INVALID_ARGUMENT';
      call.reject(malformed ? new InferenceError('INTERNAL', `${call.where} (Kafka) returned ${err.message}`, { cause: err }) : err);
    }
  }

  describeWait(graph: string, node: string): string | undefined {
    return this.describeWaitAs(graph, node);
  }

  private describeWaitAs(id: string, node: string): string | undefined {
    const g = this.graphs.get(id);
    if (g === undefined) return undefined;
    // A whole-graph call travels on the first node's topics (wholeGraphAs).
    const whole = node === NodeKey.WHOLE_GRAPH;
    const topics = nodeTopicNames(g.prefix, g.name, whole ? (g.nodes[0] ?? node) : node, g.version);
    return `no answer on ${topics.outputs}${whole ? ' to the whole-graph call' : ''}; is a worker consuming ${topics.inputs}?`;
  }

  stats(): NodeTransportStats {
    return { pending: this.pending.size, calls: this.calls, lateOrDuplicate: this.lateOrDuplicate, subscribed: [...this.subscribed].sort() };
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.sync.catch(() => undefined);
    await this.consumer?.disconnect();
    this.consumer = undefined;
    for (const [id, p] of this.pending) {
      p.reject(new InferenceError('UNAVAILABLE', `${p.where}: gateway is shutting down`));
      this.pending.delete(id);
    }
  }

  private async reconcile(): Promise<void> {
    if (this.closed) return;
    for (const [id, g] of [...this.graphs]) {
      if (this.provisioned.has(id)) continue;
      const specs = g.nodes.flatMap((n) =>
        Object.values(nodeTopicNames(g.prefix, g.name, n, g.version)).map((topic: string) => ({ topic, partitions: g.partitions, owner: `graph "${g.name}" (spec.kafka.partitions)` })),
      );
      try {
        await this.client.ensureTopics(specs);
        this.provisioned.add(id);
      } catch (err) {
        this.failed.set(id, err instanceof Error ? err.message : String(err));
        this.graphs.delete(id);
      }
    }
    const graphs = [...this.graphs.values()];
    const wanted = new Set(graphs.flatMap((g) => g.nodes.map((n) => nodeTopicNames(g.prefix, g.name, n, g.version).outputs)));
    if (wanted.size === 0 || ([...wanted].every((t) => this.subscribed.has(t)) && this.consumer !== undefined)) return;
    await this.client.retrying('subscribing to node outputs', () => this.subscribe(wanted));
    this.subscribed = wanted;
    this.logger.log(`awaiting node outputs on ${[...wanted].sort().join(', ')}`);
  }

  private async subscribe(wanted: ReadonlySet<string>): Promise<void> {
    await this.consumer?.disconnect().catch(() => undefined);
    // Every answer appended after a topic is first subscribed must be read, including answers appended
    // while a consumer is replaced here or before it first fetches a partition. A consumer left to
    // reset to "latest" picks its start only at that first fetch, so this instance keeps its own
    // reading position per partition (the end of the topic when first subscribed) and seeks to it.
    const fresh = [...wanted].filter((t) => !this.subscribed.has(t));
    for (const { topic, partition, offset } of await this.client.endOffsets(fresh)) {
      if (!this.positions.has(`${topic}:${partition}`)) this.positions.set(`${topic}:${partition}`, offset);
    }
    const consumer = this.client.consumer({ groupId: `${this.groupPrefix}.${this.instance}`, maxWaitTimeInMs: 100 });
    this.consumer = consumer;
    await consumer.connect();
    await consumer.subscribe({ topics: [...wanted], fromBeginning: false });
    // Seeks made on joining apply before the first fetch of each partition.
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
      for (const [topic, partitions] of Object.entries(payload.memberAssignment)) {
        for (const partition of partitions) {
          const offset = this.positions.get(`${topic}:${partition}`);
          if (offset !== undefined) consumer.seek({ topic, partition, offset });
        }
      }
    });
    // Ready once the group is joined and fetching.
    const joined = new Promise<void>((resolve) => {
      const offJoin = consumer.on(consumer.events.GROUP_JOIN, () => {
        offJoin();
        const offFetch = consumer.on(consumer.events.FETCH, () => {
          offFetch();
          resolve();
        });
      });
    });
    // No group offsets: this instance keeps its own positions (above), so a commit would be a wasted round
    // trip per fetch; one pass over each fetched batch, no per-message heartbeat.
    await consumer.run({
      autoCommit: false,
      partitionsConsumedConcurrently: Math.max(1, wanted.size),
      eachBatch: ({ batch }) => {
        for (const message of batch.messages) this.answer(message);
        const last = batch.messages[batch.messages.length - 1];
        if (last !== undefined) this.positions.set(`${batch.topic}:${batch.partition}`, String(Number(last.offset) + 1));
        return Promise.resolve();
      },
    });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('did not join its consumer group within 30 s')), 30_000);
    });
    try {
      await Promise.race([joined, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}

/** A node call's answer: its outputs, as views over the record's bytes. */
function nodeAnswer(response: ModelInferResponseMessage, where: string): TensorMap {
  return decodeNodeOutputs(response, `${where} (Kafka)`, true);
}

/** A whole-graph call's answer: the graph's outputs and the node report beside them. */
function graphAnswer(response: ModelInferResponseMessage, where: string): GraphAnswer {
  const outputs: Tensor[] = [...decodeNodeOutputs(response, `${where} (Kafka)`, true).values()];
  return { outputs, ...decodeGraphAnswer(parametersOf(response.parameters), `${where} (Kafka)`) };
}

/** The error class an HTTP status stands for (answers from producers that send only x-error-status). */
function codeOfStatus(status: string | undefined): InferenceError['code'] {
  const found = Object.entries(HTTP_STATUS_OF).find(([, http]) => String(http) === status);
  return found === undefined ? 'INTERNAL' : (found[0] as InferenceError['code']);
}

function parseDetails(text: string | undefined): Record<string, unknown> | undefined {
  if (text === undefined) return undefined;
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
