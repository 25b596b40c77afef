import { Inject, Injectable, Logger, type BeforeApplicationShutdown, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { RequestLifetime, createRequestContext, type NodeRuntime } from '@infergraph/executor';
import { GraphRegistry, kafkaSettingsOf, remoteNodesOf } from '@infergraph/engine';
import { KafkaClient, KafkaNodeServer, lagSamples, type KafkaServedNode } from '@infergraph/transport-kafka';
import { InferenceError, type InferRequest, type InferResponse, type Tensor, type TensorSpec } from '@infergraph/protocol';
import { OnnxModelLoader } from '@infergraph/runtime-onnx';
import { WORKER_CONFIG, type WorkerConfig } from './worker.config';

const NODE_TIMEOUT_MS = 30_000;

export const KAFKA_CLIENT = Symbol('KAFKA_CLIENT');

/**
 * Loads graphs and serves their nodes' runtimes as V2 models named "<graph>.<node>": over gRPC, and from
 * each node's Kafka input topic for Kafka-connected graphs.
 */
@Injectable()
export class NodeServingService implements OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown {
  private readonly logger = new Logger('worker');
  private readonly kafka: KafkaNodeServer | undefined;

  constructor(
    private readonly registry: GraphRegistry,
    private readonly loader: OnnxModelLoader,
    @Inject(WORKER_CONFIG) private readonly config: WorkerConfig,
    @Inject(KAFKA_CLIENT) private readonly kafkaClient: KafkaClient | null,
  ) {
    this.kafka =
      kafkaClient === null
        ? undefined
        : new KafkaNodeServer(
            kafkaClient,
            { maxInFlight: config.kafka.maxInFlight, sessionTimeoutMs: config.kafka.sessionTimeoutMs },
            (model, request, headers, deadline) => this.infer(model, request, headers, deadline),
            new Logger('kafka'),
          );
  }

  /** Requests in flight per node key, and the most at once since the last `takeLoads()`. */
  private readonly inFlight = new Map<string, number>();
  private readonly peak = new Map<string, number>();

  /** Controller mode: the node keys this worker was assigned; undefined serves every loaded node. */
  private assigned: ReadonlySet<string> | undefined;

  async onApplicationBootstrap(): Promise<void> {
    if (this.config.controller !== undefined) {
      this.assigned = new Set();
      return;
    }
    await this.registry.loadDirectories(this.config.graphDirs);
    const served = this.registry.list().flatMap((e) => [...(e.graph?.runtimes.keys() ?? [])].map((n) => `${e.name}.${n}`));
    this.logger.log(`serving ${served.length} node(s): ${served.join(', ')}`);
    await this.serveKafka();
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.kafka?.close();
    await this.kafkaClient?.close();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.registry.close();
    await this.loader.close();
  }

  /**
   * Applies the controller's assignment: loads graphs it does not have yet and serves exactly the
   * assigned nodes. Returns each assigned node's state.
   */
  async assign(graphs: readonly { name: string; file: string }[], keys: readonly string[]): Promise<{ key: string; ready: boolean; reason: string; provider: string }[]> {
    for (const g of graphs) {
      const entry = this.registry.get(g.name);
      if (entry === undefined || entry.file !== g.file || entry.state === 'failed') await this.registry.loadFile(g.file);
    }
    this.assigned = new Set(keys);
    await this.serveKafka();
    return keys.map((key) => {
      const dot = key.indexOf('.');
      const entry = this.registry.get(key.slice(0, dot));
      const node = key.slice(dot + 1);
      if (entry?.graph === undefined) return { key, ready: false, reason: entry?.error ?? `graph of ${key} is not loaded`, provider: '' };
      if (!entry.graph.runtimes.has(node)) return { key, ready: false, reason: `graph has no node "${node}"`, provider: '' };
      const model = entry.graph.models.find((m) => m.node === node);
      return { key, ready: true, reason: model?.providerNote ?? '', provider: model?.provider ?? 'cpu' };
    });
  }

  get ready(): boolean {
    return this.registry.settled && this.registry.list().some((e) => e.state === 'ready');
  }

  /** V2 model metadata of one served node. */
  metadata(model: string): { name: string; versions: string[]; platform: string; inputs: readonly TensorSpec[]; outputs: readonly TensorSpec[] } {
    const { graph } = this.runtimeOf(model);
    const signature = this.registry.get(graph)?.graph?.nodeSignatures.get(model.slice(graph.length + 1));
    return { name: model, versions: ['1'], platform: 'infergraph-node', inputs: signature?.inputs ?? [], outputs: signature?.outputs ?? [] };
  }

  has(model: string): boolean {
    try {
      this.runtimeOf(model);
      return true;
    } catch {
      return false;
    }
  }

  async infer(model: string, request: InferRequest, headers: Readonly<Record<string, string>>, deadline?: number): Promise<InferResponse> {
    const { graph, runtime } = this.runtimeOf(model);
    const lifetime = new RequestLifetime();
    const ctx = createRequestContext({
      requestId: request.id,
      graph,
      headers,
      parameters: request.parameters,
      timeoutMs: deadline === undefined ? NODE_TIMEOUT_MS : Math.max(1, Math.min(NODE_TIMEOUT_MS, deadline - Date.now())),
      signal: lifetime,
    });
    const now = (this.inFlight.get(model) ?? 0) + 1;
    this.inFlight.set(model, now);
    this.peak.set(model, Math.max(this.peak.get(model) ?? 0, now));
    const node = model.slice(graph.length + 1);
    const type = this.typeOf(graph, node);
    const started = performance.now();
    let status: 'ok' | 'error' = 'error';
    try {
      const inputs = new Map(request.inputs.map((t): [string, Tensor] => [t.name, t]));
      const tracer = this.registry.tracer;
      const outputs = await (tracer === undefined ? runtime.infer(inputs, ctx) : tracer.node({ graph, node, type, served: true }, ctx, (c) => runtime.infer(inputs, c)));
      status = 'ok';
      return { modelName: model, modelVersion: '1', id: ctx.requestId, parameters: undefined, outputs: [...outputs.values()] };
    } finally {
      this.inFlight.set(model, (this.inFlight.get(model) ?? 1) - 1);
      lifetime.end();
      this.registry.events.emit('node', { graph, node, requestId: ctx.requestId, type, status, seconds: (performance.now() - started) / 1000 });
    }
  }

  /** Node calls being served now, per node (for the in-flight gauge). */
  inFlightByNode(): [{ graph: string; node: string }, number][] {
    return [...this.inFlight].map(([key, n]) => {
      const dot = key.indexOf('.');
      return [{ graph: key.slice(0, dot), node: key.slice(dot + 1) }, n];
    });
  }

  /** Kafka consumer lag of the node topics this worker consumes. */
  kafkaLag(): ReturnType<typeof lagSamples> {
    return lagSamples(this.kafka?.stats() ?? []);
  }

  private typeOf(graph: string, node: string): string {
    return this.registry.get(graph)?.graph?.spec.spec.nodes.find((n) => n.name === node)?.type ?? 'unknown';
  }

  /** Consumes the node topics of the served nodes of Kafka-connected graphs (all graphs with NODE_TRANSPORT=kafka). */
  private async serveKafka(): Promise<void> {
    if (this.kafka === undefined) return;
    const nodes: KafkaServedNode[] = [];
    for (const entry of this.registry.list()) {
      const graph = entry.graph;
      if (graph === undefined || !(this.config.kafka.allGraphs || graph.spec.spec.transport === 'kafka')) continue;
      const { prefix, partitions } = kafkaSettingsOf(graph.spec, this.config.kafka.topicPrefix);
      for (const node of remoteNodesOf(graph.spec)) {
        const key = `${entry.name}.${node}`;
        if (graph.runtimes.has(node) && (this.assigned === undefined || this.assigned.has(key))) nodes.push({ graph: entry.name, node, prefix, partitions });
      }
    }
    await this.kafka.serve(nodes).catch((err: unknown) => this.logger.error(`Kafka node topics: ${err instanceof Error ? err.message : String(err)}`));
  }

  /** Peak in-flight requests per assigned node since the last call (for heartbeats). */
  takeLoads(): { key: string; in_flight: number }[] {
    const keys = this.assigned ?? new Set(this.peak.keys());
    const loads = [...keys].map((key) => ({ key, in_flight: Math.max(this.peak.get(key) ?? 0, this.inFlight.get(key) ?? 0) }));
    this.peak.clear();
    return loads;
  }

  private runtimeOf(model: string): { graph: string; runtime: NodeRuntime } {
    const dot = model.indexOf('.');
    const graph = dot < 0 ? model : model.slice(0, dot);
    const node = dot < 0 ? '' : model.slice(dot + 1);
    if (this.assigned !== undefined && !this.assigned.has(model)) {
      throw new InferenceError('NOT_FOUND', `this worker holds no replica of "${model}"`);
    }
    const entry = this.registry.get(graph);
    if (entry?.graph === undefined) {
      throw new InferenceError(entry === undefined ? 'NOT_FOUND' : 'UNAVAILABLE', `worker serves no graph "${graph}" (model names are "<graph>.<node>")`);
    }
    const runtime = entry.graph.runtimes.get(node);
    if (runtime === undefined) throw new InferenceError('NOT_FOUND', `graph "${graph}" has no node "${node}" on this worker`);
    return { graph, runtime };
  }
}
