import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { createRequestContext, type NodeRuntime } from '@infergraph/executor';
import { GraphRegistry } from '@infergraph/engine';
import { InferenceError, type InferRequest, type InferResponse, type Tensor } from '@infergraph/protocol';
import { OnnxModelLoader } from '@infergraph/runtime-onnx';
import { WORKER_CONFIG, type WorkerConfig } from './worker.config';

const NODE_TIMEOUT_MS = 30_000;

/** Loads graphs and serves their nodes' runtimes as V2 models named "<graph>.<node>". */
@Injectable()
export class NodeServingService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('worker');

  constructor(
    private readonly registry: GraphRegistry,
    private readonly loader: OnnxModelLoader,
    @Inject(WORKER_CONFIG) private readonly config: WorkerConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.registry.loadDirectories(this.config.graphDirs);
    const served = this.registry.list().flatMap((e) => [...(e.graph?.runtimes.keys() ?? [])].map((n) => `${e.name}.${n}`));
    this.logger.log(`serving ${served.length} node(s): ${served.join(', ')}`);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.registry.close();
    await this.loader.close();
  }

  get ready(): boolean {
    return this.registry.settled && this.registry.list().some((e) => e.state === 'ready');
  }

  has(model: string): boolean {
    try {
      this.runtimeOf(model);
      return true;
    } catch {
      return false;
    }
  }

  async infer(model: string, request: InferRequest, headers: Readonly<Record<string, string>>): Promise<InferResponse> {
    const { graph, runtime } = this.runtimeOf(model);
    const controller = new AbortController();
    const ctx = createRequestContext({
      requestId: request.id,
      graph,
      headers,
      parameters: request.parameters,
      timeoutMs: NODE_TIMEOUT_MS,
      signal: controller.signal,
    });
    try {
      const outputs = await runtime.infer(new Map(request.inputs.map((t): [string, Tensor] => [t.name, t])), ctx);
      return { modelName: model, modelVersion: '1', id: ctx.requestId, parameters: undefined, outputs: [...outputs.values()] };
    } finally {
      controller.abort();
    }
  }

  private runtimeOf(model: string): { graph: string; runtime: NodeRuntime } {
    const dot = model.indexOf('.');
    const graph = dot < 0 ? model : model.slice(0, dot);
    const node = dot < 0 ? '' : model.slice(dot + 1);
    const entry = this.registry.get(graph);
    if (entry?.graph === undefined) {
      throw new InferenceError(entry === undefined ? 'NOT_FOUND' : 'UNAVAILABLE', `worker serves no graph "${graph}" (model names are "<graph>.<node>")`);
    }
    const runtime = entry.graph.runtimes.get(node);
    if (runtime === undefined) throw new InferenceError('NOT_FOUND', `graph "${graph}" has no node "${node}" on this worker`);
    return { graph, runtime };
  }
}
