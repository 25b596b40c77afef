import { Inject, Injectable, Logger, type BeforeApplicationShutdown, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { GraphRegistry, NodeInferenceService, NodeRuntimeRegistry, PathPolicy, loadNodeRuntimesFromSource, type AssignedGraph, type ReplicaStateReport } from '@infergraph/engine';
import { NodeKey, kafkaSettingsOf, remoteNodesOf } from '@infergraph/spec';
import { KafkaClient, KafkaNodeServer, lagSamples, type KafkaServedNode } from '@infergraph/transport-kafka';
import { OnnxModelLoader } from '@infergraph/runtime-onnx';
import { ModelStore } from '@infergraph/model-store';
import { DrainGate } from './drain.gate';
import { WORKER_CONFIG, type WorkerConfig } from './worker.config';

export const KAFKA_CLIENT = Symbol('KAFKA_CLIENT');
/** A worker that started a node call within this long serves traffic (where MODEL_THREADS=auto opens models). */
const SERVING_WINDOW_MS = 5000;

/**
 * Wires the worker's node serving: which nodes it loads (with a controller, exactly those it assigns,
 * each on its own in a NodeRuntimeRegistry; without one, every node of every graph in GRAPHS_DIR), the
 * engine's `NodeInferenceService` that answers their calls, and the Kafka node topics it consumes for
 * Kafka-connected graphs. The gRPC server is `WorkerGrpcServer`.
 */
@Injectable()
export class NodeServingService implements OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown {
  private readonly logger = new Logger('worker');
  /** Answers node calls, over gRPC and from Kafka topics alike. */
  readonly inference: NodeInferenceService;
  private readonly kafka: KafkaNodeServer | undefined;
  /** Controller mode: the assigned nodes, each with its own runtime. */
  private readonly nodes: NodeRuntimeRegistry;

  constructor(
    private readonly registry: GraphRegistry,
    private readonly loader: OnnxModelLoader,
    @Inject(WORKER_CONFIG) private readonly config: WorkerConfig,
    @Inject(KAFKA_CLIENT) private readonly kafkaClient: KafkaClient | null,
    private readonly gate: DrainGate,
    models: ModelStore,
  ) {
    const gpu = config.capacity.gpuCount > 0;
    // Graphs come in the controller's assignments; models, modules and references only from this worker's roots.
    const paths = new PathPolicy([...config.graphDirs, ...config.modelRoots]).forSentGraphs();
    this.nodes = new NodeRuntimeRegistry(
      (graph, nodes) =>
        loadNodeRuntimesFromSource(graph.source ?? '', graph.file, nodes, loader, {
          paths,
          models,
          // CUDA only for nodes that ask for GPU memory, and only where there is a GPU.
          modelLoaderFor: (device) => loader.preferring(gpu && device === 'gpu'),
          onBatch: (r) => registry.events.emit('batch', r),
          drift: { onOutliers: (r) => registry.events.emit('outlier', r) },
        }),
      this.logger,
      { onServingChange: () => void this.serveKafka(), onLoaded: (r) => registry.events.emit('loaded', r) },
    );
    this.inference = new NodeInferenceService(registry, config.controller === undefined ? undefined : this.nodes);
    // MODEL_THREADS=auto: a model opened while calls come in goes to a model thread instead of the event loop.
    loader.servingWhen(() => this.inference.servedWithin(SERVING_WINDOW_MS));
    this.kafka =
      kafkaClient === null
        ? undefined
        : new KafkaNodeServer(
            kafkaClient,
            { maxInFlight: config.kafka.maxInFlight, sessionTimeoutMs: config.kafka.sessionTimeoutMs },
            (model, request, headers, expiresAt) => this.inference.infer(model, request, headers, expiresAt),
            new Logger('kafka'),
          );
  }

  async onApplicationBootstrap(): Promise<void> {
    if (this.config.controller === undefined) {
      await this.registry.loadDirectories(this.config.graphDirs);
      const served = this.registry.list().flatMap((e) => [...(e.graph?.runtimes.keys() ?? [])].map((n) => NodeKey.format(e.name, n, e.version)));
      this.logger.log(`serving ${served.length} node(s): ${served.join(', ')}`);
      await this.serveKafka();
    }
    this.inference.markServing();
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
  assign(graphs: readonly AssignedGraph[], keys: readonly string[], report: ReplicaStateReport): Promise<void> {
    this.nodes.assign(graphs, keys, report);
    return Promise.resolve();
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
      nodes.push({ graph: spec.metadata.name, version: spec.spec.version, node, prefix, partitions });
    }
    await this.kafka.serve(nodes).catch((err: unknown) => this.logger.error(`Kafka node topics: ${err instanceof Error ? err.message : String(err)}`));
  }
}
