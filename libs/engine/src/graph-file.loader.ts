import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { TensorSpec } from '@infergraph/protocol';
import { GraphExecutor, InProcessTransport, compileGraphPlan, sendsNodesAway, type ExecutorHooks, type NodeBus, type NodeRuntime, type NodeTransport } from '@infergraph/executor';
import type { BatchResult, BatchingStats, ModelLoader } from '@infergraph/nodes';
import { GraphValidationError, diagnosticsWith, remoteNodesOf, typeGraph, type GraphProblem, type GraphSpec } from '@infergraph/spec';
import { parseGraphSourceOffLoop } from './graph-parse.thread';
import { checkModelFile } from './model-file.resolver';
import { nextFreeTurn } from './model-open.queue';
import type { ModelFetcher } from './model-fetcher.port';
import { PathPolicy } from './path.policy';
import type { DriftNode } from '@infergraph/nodes';
import { STACKED_BATCHES_IN_FLIGHT, StackedBatchTransport, isVerdictOnInputs, remoteBatchRun, stackedBatchNodes } from './stacked-batch.transport';
import { buildRuntimes, nodeTyper, prepareNodes, type DriftHooks, type LoadedModel } from './graph-nodes.builder';
import { WorkerDriftComputer } from './drift/worker-drift.computer';

export type { LoadedModel, OutlierResult } from './graph-nodes.builder';

/** A graph that passed every check and can serve requests. */
export interface LoadedGraph {
  readonly file: string;
  readonly spec: GraphSpec;
  readonly executor: GraphExecutor;
  readonly models: readonly LoadedModel[];
  readonly driftNodes: ReadonlyMap<string, DriftNode>;
  /** Every node's in-process runtime (what a worker serves over gRPC). */
  readonly runtimes: ReadonlyMap<string, NodeRuntime>;
  /** Every node's typed inputs and outputs (a node served alone describes itself with them). */
  readonly nodeSignatures: ReadonlyMap<string, { readonly inputs: readonly TensorSpec[]; readonly outputs: readonly TensorSpec[] }>;
  /** Counters of every model node with `model.batching`, by node name (empty without batching). */
  batchingStats(): Record<string, BatchingStats>;
  /** Stops drift timers and worker threads. */
  close(): Promise<void>;
}

export interface GraphLoadHooks extends ExecutorHooks {
  readonly drift?: Partial<DriftHooks>;
  /**
   * Where node work runs. Default: in this process. A remote bus sends model, transformer and outlier
   * nodes to workers (drift stays local, beside its window).
   */
  readonly bus?: NodeBus;
  /** Every batch a batched model node ran (`model.batching`). */
  readonly onBatch?: (result: BatchResult) => void;
  /** Where models, modules and references may be (besides the graph's directory); default PathPolicy.defaults(). */
  readonly paths?: PathPolicy;
  /** Fetches https:// and s3:// models into a verified local cache; without it such a graph fails to load. */
  readonly models?: ModelFetcher;
}

/** Drift tests in worker threads; results and errors dropped unless the caller listens. */
export const DEFAULT_DRIFT: DriftHooks = {
  computer: (config, reference) => new WorkerDriftComputer(config, reference),
  onResult: () => undefined,
  onError: () => undefined,
};

/**
 * Reads, validates and prepares one graph file. Every problem found is reported together in a
 * GraphValidationError: schema, reference and routing problems; model problems (missing file, sha256
 * mismatch, unloadable model) and user modules; and tensor typing of every node that does not depend
 * on a broken one (a note names the nodes skipped behind each broken one).
 */
export async function loadGraphFile(file: string, loader: ModelLoader, hooks: GraphLoadHooks = {}): Promise<LoadedGraph> {
  const text = await readFile(file, 'utf8');
  return loadGraphSource(text, file, loader, hooks);
}

export async function loadGraphSource(text: string, file: string, loader: ModelLoader, hooks: GraphLoadHooks = {}): Promise<LoadedGraph> {
  const paths = hooks.paths ?? PathPolicy.defaults();
  const parsed = await parseGraphSourceOffLoop(text, file, { checkModelUri: (uri) => checkModelFile(file, uri, paths, hooks.models) });
  if (parsed.locator === undefined) throw new GraphValidationError(file, parsed.diagnostics);
  // The steps below run a turn apart, so a large graph loading beside served ones never holds the loop long.
  await nextFreeTurn();
  // Healthy parts are prepared and typed even when others are broken, so one report holds every problem.
  const partial = parsed.partial;
  // Nothing outside the roots is opened: a node pointing there is reported and left out.
  const confined = paths.confineNodes(file, partial.nodes);
  const problems: GraphProblem[] = [...confined.problems];
  // Worker nodes of a graph this process sends away are typed here, never opened (see prepareNodes).
  const elsewhere = parsed.graph !== undefined && hooks.bus !== undefined && sendsNodesAway(hooks.bus, parsed.graph) ? new Set(remoteNodesOf(parsed.graph)) : new Set<string>();
  const prepared = await prepareNodes(partial.name ?? path.basename(file).replace(/\.ya?ml$/, ''), confined.nodes, file, loader, problems, hooks.models, elsewhere);
  const releaseFetched = (): void => prepared.fetched.forEach((m) => m.release());
  await nextFreeTurn();
  const typer = nodeTyper(partial.nodes, prepared);
  const nodeSignatures = new Map<string, { inputs: readonly TensorSpec[]; outputs: readonly TensorSpec[] }>();
  const types = typeGraph(partial, (node, incoming, branches) => {
    const typed = typer(node, incoming, branches);
    nodeSignatures.set(node.name, { inputs: incoming, outputs: typed.outputs ?? [] });
    return typed;
  });
  problems.push(...types.problems);
  const graph = parsed.graph;
  // Sessions opened for a graph that is not served are given back (a broken edit must not pin them).
  const releaseSessions = async (): Promise<void> => {
    const release = loader.release?.bind(loader);
    if (release !== undefined) await Promise.all([...prepared.sessions.values()].map((s) => release(s)));
  };
  if (graph === undefined || problems.length > 0) {
    releaseFetched();
    await releaseSessions();
    throw new GraphValidationError(file, diagnosticsWith(parsed, problems));
  }
  await nextFreeTurn();
  // Batched nodes on workers stack their batches here when the bus asks for it: one message per batch.
  const stacked = hooks.bus?.stacksBatches?.(graph) === true ? stackedBatchNodes(graph) : new Set<string>();
  // The batch runs call the bus's transport, which is made after the runtimes it wraps.
  const wire: { transport?: NodeTransport } = {};
  const batchRuns = {
    runOf: (node: string) => (stacked.has(node) ? remoteBatchRun(graph.metadata.name, node, () => wire.transport as NodeTransport) : undefined),
    retryAloneOn: isVerdictOnInputs,
    concurrentRuns: STACKED_BATCHES_IN_FLIGHT,
  };
  // Runtimes only for what runs here: local nodes, and batched worker nodes whose batches gather here.
  const here = elsewhere.size === 0 ? undefined : new Set(graph.spec.nodes.map((n) => n.name).filter((n) => !elsewhere.has(n) || stacked.has(n)));
  const { runtimes, controls, driftNodes, batchers } = buildRuntimes(graph, prepared, { ...DEFAULT_DRIFT, ...hooks.drift }, hooks.onBatch, here, batchRuns);
  const local = new InProcessTransport(runtimes);
  const remote = hooks.bus?.forGraph(graph, local);
  wire.transport = remote;
  const transport = remote === undefined ? local : stacked.size > 0 ? new StackedBatchTransport(stacked, local, remote) : remote;
  const plan = compileGraphPlan(graph, parsed.order, types.outputs, parsed.routing);
  return {
    file,
    spec: graph,
    executor: new GraphExecutor(plan, transport, controls, hooks),
    models: prepared.models,
    driftNodes,
    runtimes,
    nodeSignatures,
    batchingStats: () => Object.fromEntries([...batchers].map(([node, b]) => [node, b.stats()])),
    close: async () => {
      await Promise.all([...driftNodes.values()].map((d) => d.close()));
      releaseFetched();
      await releaseSessions();
    },
  };
}
