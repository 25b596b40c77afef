import { Inject, Injectable, Logger, type BeforeApplicationShutdown, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { RequestLifetime, createRequestContext, type NodeRuntime } from '@infergraph/executor';
import { GraphRegistry, NodeRuntimeRegistry, PathPolicy, loadNodeRuntimes, type ReplicaStateReport } from '@infergraph/engine';
import { NodeKey, kafkaSettingsOf, remoteNodesOf, type NodeRef } from '@infergraph/spec';
import { KafkaClient, KafkaNodeServer, lagSamples, type KafkaServedNode } from '@infergraph/transport-kafka';
import { InferenceError, type GraphRefMessage, type InferRequest, type InferResponse, type Tensor, type TensorSpec } from '@infergraph/protocol';
import { OnnxModelLoader } from '@infergraph/runtime-onnx';
import { DrainGate } from './drain.gate';
import { WORKER_CONFIG, type WorkerConfig } from './worker.config';

const NODE_TIMEOUT_MS = 30_000;

export const KAFKA_CLIENT = Symbol('KAFKA_CLIENT');

/**
 * Serves graph nodes' runtimes as V2 models named "<graph>.<node>": over gRPC, and from each node's Kafka
 * input topic for Kafka-connected graphs. With a controller, exactly the nodes it assigns, each loaded
 * on its own (NodeRuntimeRegistry); without one, every node of every graph in GRAPHS_DIR.
 */
@Injectable()
export class NodeServingService implements OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown {
  private readonly logger = new Logger('worker');
  private readonly kafka: KafkaNodeServer | undefined;
  /** Controller mode: the assigned nodes, each with its own runtime. */
  private readonly nodes: NodeRuntimeRegistry;
  private started = false;

  constructor(
    private readonly registry: GraphRegistry,
    private readonly loader: OnnxModelLoader,
    @Inject(WORKER_CONFIG) private readonly config: WorkerConfig,
    @Inject(KAFKA_CLIENT) private readonly kafkaClient: KafkaClient | null,
    private readonly gate: DrainGate,
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
    const gpu = config.capacity.gpuCount > 0;
    this.nodes = new NodeRuntimeRegistry(
      (file, nodes) =>
        loadNodeRuntimes(file, nodes, loader, {
          paths: new PathPolicy([...config.graphDirs, ...config.modelRoots]),
          // CUDA only for nodes that ask for GPU memory, and only where there is a GPU.
          modelLoaderFor: (device) => loader.preferring(gpu && device === 'gpu'),
          onBatch: (r) => registry.events.emit('batch', r),
          drift: { onOutliers: (r) => registry.events.emit('outlier', r) },
        }),
      this.logger,
      { onServingChange: () => void this.serveKafka(), onLoaded: (r) => registry.events.emit('loaded', r) },
    );
  }

  /** Requests in flight per node key, and the most at once since the last `takeLoads()`. */
  private readonly inFlight = new Map<string, number>();
  private readonly peak = new Map<string, number>();

  async onApplicationBootstrap(): Promise<void> {
    if (this.config.controller === undefined) {
      await this.registry.loadDirectories(this.config.graphDirs);
      const served = this.registry.list().flatMap((e) => [...(e.graph?.runtimes.keys() ?? [])].map((n) => NodeKey.format(e.name, n)));
      this.logger.log(`serving ${served.length} node(s): ${served.join(', ')}`);
      await this.serveKafka();
    }
    this.started = true;
  }

  /** After the drain (routes moved elsewhere), like the gRPC server: stop consuming node topics. */
  async beforeApplicationShutdown(): Promise<void> {
    await this.gate.wait();
    await this.kafka?.close();
    await this.kafkaClient?.close();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.nodes.close();
    await this.registry.close();
    await this.loader.close();
  }

  /**
   * Applies the controller's assignment: serves exactly the assigned node keys. New keys are reported
   * LOADING at once and load concurrently, each reported READY (or FAILED) as soon as its own node is
   * loaded; a graph whose content hash changed is reloaded while the previous version keeps serving.
   * Resolves once the loads are started, not finished, so the next assignment is never held up. Node
   * topics follow as nodes become READY or are dropped.
   */
  assign(graphs: readonly GraphRefMessage[], keys: readonly string[], report: ReplicaStateReport): Promise<void> {
    this.nodes.assign(
      graphs.map((g) => ({ name: g.name, file: g.file, contentHash: g.content_hash })),
      keys,
      report,
    );
    return Promise.resolve();
  }

  /**
   * Ready for traffic: started and, with a controller, every assigned node READY; without one, every graph
   * of GRAPHS_DIR has settled and at least one of them loaded.
   */
  get ready(): boolean {
    if (!this.started) return false;
    if (this.config.controller !== undefined) return this.nodes.ready;
    return this.registry.settled && this.registry.list().some((e) => e.state === 'ready');
  }

  /** Node calls being served now, all nodes together (what a drain waits for). */
  inFlightTotal(): number {
    let total = 0;
    for (const n of this.inFlight.values()) total += n;
    return total;
  }

  /** V2 model metadata of one served node. */
  metadata(model: string): { name: string; versions: string[]; platform: string; inputs: readonly TensorSpec[]; outputs: readonly TensorSpec[] } {
    const { signature } = this.runtimeOf(model);
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

  /** One node call; `lifetime`, when given, is the caller's (ended when it cancels the call). */
  async infer(model: string, request: InferRequest, headers: Readonly<Record<string, string>>, deadline?: number, lifetime = new RequestLifetime()): Promise<InferResponse> {
    const { graph, node, type, call } = this.runtimeOf(model);
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
    const started = performance.now();
    let status: 'ok' | 'error' = 'error';
    try {
      const inputs = new Map(request.inputs.map((t): [string, Tensor] => [t.name, t]));
      const tracer = this.registry.tracer;
      const outputs = await call((runtime) => (tracer === undefined ? runtime.infer(inputs, ctx) : tracer.node({ graph, node, type, served: true }, ctx, (c) => runtime.infer(inputs, c))));
      status = 'ok';
      return { modelName: model, modelVersion: '1', id: ctx.requestId, parameters: undefined, outputs: [...outputs.values()] };
    } finally {
      this.inFlight.set(model, (this.inFlight.get(model) ?? 1) - 1);
      lifetime.end();
      this.registry.events.emit('node', { graph, node, requestId: ctx.requestId, type, status, seconds: (performance.now() - started) / 1000 });
    }
  }

  /** Node calls being served now, per node (for the in-flight gauge). */
  inFlightByNode(): [NodeRef, number][] {
    return [...this.inFlight].flatMap(([key, n]): [NodeRef, number][] => {
      const ref = NodeKey.parse(key);
      return ref === undefined ? [] : [[ref, n]];
    });
  }

  /** Kafka consumer lag of the node topics this worker consumes. */
  kafkaLag(): ReturnType<typeof lagSamples> {
    return lagSamples(this.kafka?.stats() ?? []);
  }

  /** Consumes the node topics of the served nodes of Kafka-connected graphs (all graphs with NODE_TRANSPORT=kafka). */
  private async serveKafka(): Promise<void> {
    if (this.kafka === undefined) return;
    const served =
      this.config.controller === undefined
        ? this.registry.list().flatMap(({ graph }) => (graph === undefined ? [] : [...graph.runtimes.keys()].map((node) => ({ spec: graph.spec, node }))))
        : this.nodes.served().map((s) => ({ spec: s.spec, node: s.loaded.node }));
    const nodes: KafkaServedNode[] = [];
    for (const { spec, node } of served) {
      if (!(this.config.kafka.allGraphs || spec.spec.transport === 'kafka') || !remoteNodesOf(spec).includes(node)) continue;
      const { prefix, partitions } = kafkaSettingsOf(spec, this.config.kafka.topicPrefix);
      nodes.push({ graph: spec.metadata.name, node, prefix, partitions });
    }
    await this.kafka.serve(nodes).catch((err: unknown) => this.logger.error(`Kafka node topics: ${err instanceof Error ? err.message : String(err)}`));
  }

  /** Peak in-flight requests per assigned node since the last call (for heartbeats). */
  takeLoads(): { key: string; in_flight: number }[] {
    const keys = this.config.controller === undefined ? [...this.peak.keys()] : this.nodes.keys();
    const loads = keys.map((key) => ({ key, in_flight: Math.max(this.peak.get(key) ?? 0, this.inFlight.get(key) ?? 0) }));
    this.peak.clear();
    return loads;
  }

  /** What serves `model` now: an assigned node's runtime (controller mode) or a loaded graph's node. */
  private runtimeOf(model: string): {
    graph: string;
    node: string;
    type: string;
    signature: { readonly inputs: readonly TensorSpec[]; readonly outputs: readonly TensorSpec[] } | undefined;
    call: <T>(fn: (runtime: NodeRuntime) => Promise<T>) => Promise<T>;
  } {
    if (this.config.controller !== undefined) {
      const state = this.nodes.stateOf(model);
      if (state === undefined) throw new InferenceError('NOT_FOUND', `this worker holds no replica of "${model}"`);
      const serving = this.nodes.serving(model);
      if (serving === undefined) {
        throw new InferenceError('UNAVAILABLE', `node "${model}" is ${state.state} on this worker${state.reason === '' ? '' : `: ${state.reason}`}`);
      }
      return {
        graph: serving.loaded.graph,
        node: serving.loaded.node,
        type: serving.loaded.type,
        signature: serving.loaded.signature,
        call: (fn) => this.nodes.call(model, (loaded) => fn(loaded.runtime)) ?? Promise.reject(new InferenceError('UNAVAILABLE', `node "${model}" stopped serving`)),
      };
    }
    const ref = NodeKey.parse(model);
    if (ref === undefined) throw new InferenceError('NOT_FOUND', `worker serves no model "${model}" (model names are "<graph>.<node>")`);
    const { graph, node } = ref;
    const entry = this.registry.get(graph);
    if (entry?.graph === undefined) {
      throw new InferenceError(entry === undefined ? 'NOT_FOUND' : 'UNAVAILABLE', `worker serves no graph "${graph}" (model names are "<graph>.<node>")`);
    }
    const runtime = entry.graph.runtimes.get(node);
    if (runtime === undefined) throw new InferenceError('NOT_FOUND', `graph "${graph}" has no node "${node}" on this worker`);
    return {
      graph,
      node,
      type: entry.graph.spec.spec.nodes.find((n) => n.name === node)?.type ?? 'unknown',
      signature: entry.graph.nodeSignatures.get(node),
      call: (fn) => fn(runtime),
    };
  }
}
