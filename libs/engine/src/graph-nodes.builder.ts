import type { TensorSpec } from '@infergraph/protocol';
import type { CombinerRuntime, ControlRuntimes, NodeRuntime, RouterRuntime } from '@infergraph/executor';
import { MMD_MAX_POOLED_ROWS, fitOutlierDetector, resolveThreshold, toColumns, type OutlierDetector } from '@infergraph/detectors';
import {
  DriftNode,
  OutlierNode,
  checkDetectorInput,
  outlierOutputs,
  type DriftComputer,
  type DriftResult,
  CombinerNodeRuntime,
  DynamicBatcher,
  ModelNode,
  checkBatchable,
  ModuleTransformerNode,
  PassThroughNode,
  RouterNodeRuntime,
  StepsTransformerNode,
  conditionTensorNames,
  parseCondition,
  typeCombiner,
  typeModelNode,
  typeTransformSteps,
  validateRouterConfig,
  type CustomCombine,
  type CustomTransform,
  type BatchResult,
  type BatchRun,
  type ModelLoader,
  type ModelSession,
  type ModelSignature,
} from '@infergraph/nodes';
import { isRemoteModelUri, type DriftConfig, type GraphProblem, type GraphSpec, type NodeSpec, type NodeTyper } from '@infergraph/spec';
import { loadReferenceData, type ReferenceData } from './reference-data.loader';
import { resolveModelPath } from './model-file.resolver';
import type { FetchedModel, ModelFetcher } from './model-fetcher.port';
import { loadUserFunction } from './user-module.loader';
import { nextFreeTurn, openInTurn, sha256OfFileInTurns } from './model-open.queue';
import { readModelFileOffLoop, type ModelFileBytes } from './loading.thread';

export interface LoadedModel {
  readonly node: string;
  readonly path: string;
  /**
   * Of the file as opened. Undefined for a model typed here and run elsewhere whose graph pins no hash: this
   * process never reads its weights (the process that opens it hashes them).
   */
  readonly sha256: string | undefined;
  readonly provider: string;
  readonly providerNote?: string | undefined;
  /** Time the runtime took to open the model. */
  readonly loadSeconds: number;
}

/** What loading a graph's nodes needed from outside: model sessions and user functions. */
export interface PreparedNodes {
  readonly sessions: ReadonlyMap<string, ModelSession>;
  readonly transforms: ReadonlyMap<string, CustomTransform>;
  readonly combines: ReadonlyMap<string, CustomCombine>;
  readonly models: readonly LoadedModel[];
  /** Reference samples of outlier and drift nodes. */
  readonly references: ReadonlyMap<string, ReferenceData>;
  readonly outliers: ReadonlyMap<string, { detector: OutlierDetector; threshold: number }>;
  /** The tensor each detector watches, settled while typing. */
  readonly detectorTensors: Map<string, string>;
  /** Remote models held in the fetcher's cache while these nodes live (release them with the nodes). */
  readonly fetched: readonly FetchedModel[];
}

/**
 * Opens every model (checking sha256) and loads every user module; problems are collected. Nodes are
 * at their declared indexes; an undefined one has problems already reported and is left alone.
 *
 * Nodes in `elsewhere` run in another process (a gateway's worker nodes): they are checked and typed, never
 * run here, so a model gives only its signature (no session; a session-like object that refuses to run), a
 * custom module is not loaded and an outlier detector is not fitted (its reference is read, for typing).
 */
export async function prepareNodes(
  graphName: string,
  nodes: readonly (NodeSpec | undefined)[],
  file: string,
  loader: ModelLoader,
  problems: GraphProblem[],
  fetcher?: ModelFetcher,
  elsewhere: ReadonlySet<string> = new Set(),
): Promise<PreparedNodes> {
  const fetched: FetchedModel[] = [];
  const sessions = new Map<string, ModelSession>();
  const transforms = new Map<string, CustomTransform>();
  const combines = new Map<string, CustomCombine>();
  const models: LoadedModel[] = [];
  const references = new Map<string, ReferenceData>();
  const outliers = new Map<string, { detector: OutlierDetector; threshold: number }>();
  await Promise.all(
    nodes.map(async (node, index) => {
      if (node === undefined) return;
      // Each node resolves its files a turn after the one before (requests and heartbeats go between).
      await nextFreeTurn();
      const base = ['spec', 'nodes', index];
      if (node.type === 'model') {
        let modelPath: string;
        if (isRemoteModelUri(node.model.uri)) {
          // Fetched (or found in the cache) and verified before anything opens it; a failure is this node's problem.
          const label = `graph "${graphName}" node "${node.name}"`;
          if (fetcher === undefined) {
            problems.push({ path: [...base, 'model', 'uri'], message: `node "${node.name}": no model store in this process to fetch ${node.model.uri}` });
            return;
          }
          try {
            const model = await fetcher.fetch(node.model.uri, { sha256: node.model.sha256, label });
            fetched.push(model);
            modelPath = model.path;
          } catch (err) {
            problems.push({ path: [...base, 'model', 'uri'], message: `node "${node.name}": cannot fetch ${node.model.uri}: ${messageOf(err)}` });
            return;
          }
        } else {
          modelPath = resolveModelPath(file, node.model.uri) as string;
        }
        if (elsewhere.has(node.name) && loader.signatureOfFile !== undefined) {
          // Typed here, run elsewhere: the signature is read from the file's structure, and a pinned hash
          // checked on a stream, so the weights are never held in this process.
          try {
            const pinned = node.model.sha256;
            const sha256 = pinned === undefined ? undefined : await sha256OfFileInTurns(modelPath);
            if (pinned !== undefined && sha256 !== undefined && sha256 !== pinned) {
              problems.push(shaMismatch(base, modelPath, pinned, sha256));
              return;
            }
            const session = signatureOnly(graphName, node.name, await loader.signatureOfFile(modelPath));
            if (node.model.batching !== undefined) problems.push(...checkBatchable(index, node.model.uri, session));
            sessions.set(node.name, session);
            models.push({ node: node.name, path: modelPath, sha256, provider: session.provider, loadSeconds: 0 });
          } catch (err) {
            problems.push({ path: [...base, 'model', 'uri'], message: `cannot load model ${modelPath}: ${messageOf(err)}` });
          }
          return;
        }
        // Read and hashed in the loading thread: the event loop never touches the model's bytes.
        let read: ModelFileBytes;
        try {
          read = await readModelFileOffLoop(modelPath);
        } catch (err) {
          problems.push({ path: [...base, 'model', 'uri'], message: `cannot load model ${modelPath}: ${messageOf(err)}` });
          return;
        }
        const { bytes, sha256 } = read;
        // Opened on this thread one model at a time (openInTurn); a loader that opens off the event loop
        // (model threads) opens as soon as the model is read, whatever else is opening.
        const onLoop = loader.opensOffLoop !== true || elsewhere.has(node.name);
        await (onLoop ? openInTurn : openNow)(async () => {
          if (node.model.sha256 !== undefined && node.model.sha256 !== sha256) {
            problems.push(shaMismatch(base, modelPath, node.model.sha256, sha256));
            return;
          }
          try {
            const opening = performance.now();
            const session =
              elsewhere.has(node.name) && loader.signature !== undefined
                ? signatureOnly(graphName, node.name, loader.signature(bytes))
                : await loader.load(sha256, bytes, { intraOpThreads: node.model.intraOpThreads });
            const loadSeconds = (performance.now() - opening) / 1000;
            if (node.model.batching !== undefined) problems.push(...checkBatchable(index, node.model.uri, session));
            sessions.set(node.name, session);
            models.push({ node: node.name, path: modelPath, sha256, provider: session.provider, loadSeconds, ...(session.providerNote === undefined ? {} : { providerNote: session.providerNote }) });
          } catch (err) {
            problems.push({ path: [...base, 'model', 'uri'], message: `cannot load model ${modelPath}: ${messageOf(err)}` });
          }
        });
        return;
      }
      if (node.type === 'outlier' || node.type === 'drift') {
        const config = node.type === 'outlier' ? node.outlier : node.drift;
        let reference: ReferenceData;
        try {
          reference = await loadReferenceData(file, config.reference.path, config.reference.columns);
          references.set(node.name, reference);
        } catch (err) {
          problems.push({ path: [...base, node.type, 'reference', 'path'], message: messageOf(err) });
          return;
        }
        if (node.type === 'drift' && node.drift.method === 'mmd' && reference.rows.length + (node.drift.window.size ?? 0) > MMD_MAX_POOLED_ROWS) {
          problems.push({
            path: [...base, 'drift', 'reference', 'path'],
            message: `mmd pools reference and window rows; ${reference.rows.length} + ${node.drift.window.size ?? 0} exceeds ${MMD_MAX_POOLED_ROWS}: subsample the reference or shrink the window`,
          });
        }
        const sigma = node.type === 'drift' && node.drift.method === 'mmd' ? node.drift.mmd.sigma : undefined;
        if (Array.isArray(sigma) && sigma.length !== reference.columns.length) {
          problems.push({
            path: [...base, 'drift', 'mmd', 'sigma'],
            message: `has ${sigma.length} values, one per feature is needed: the reference has ${reference.columns.length} features`,
          });
        }
        if (node.type === 'outlier' && !elsewhere.has(node.name)) {
          try {
            const c = node.outlier;
            const detector = fitOutlierDetector(c.method, reference.rows, { ridge: c.ridge, trees: c.trees, sampleSize: c.sampleSize, seed: c.seed });
            outliers.set(node.name, { detector, threshold: resolveThreshold(detector, reference.rows, c.threshold) });
          } catch (err) {
            problems.push({ path: [...base, 'outlier', 'method'], message: `cannot fit ${node.outlier.method} on ${reference.file}: ${messageOf(err)}` });
          }
        }
        return;
      }
      const custom =
        node.type === 'transformer' && node.transformer.module !== undefined
          ? { module: node.transformer.module, name: node.transformer.export, field: 'transformer', into: transforms as Map<string, unknown> }
          : node.type === 'combiner' && node.combiner.strategy === 'custom' && node.combiner.module !== undefined
            ? { module: node.combiner.module, name: node.combiner.export, field: 'combiner', into: combines as Map<string, unknown> }
            : undefined;
      if (custom === undefined || elsewhere.has(node.name)) return;
      try {
        custom.into.set(node.name, await loadUserFunction(file, custom.module, custom.name));
      } catch (err) {
        problems.push({
          path: [...base, custom.field, 'module'],
          message: `graph "${graphName}" node "${node.name}": cannot load custom ${custom.field} module: ${messageOf(err)}`,
        });
      }
    }),
  );
  models.sort((a, b) => a.node.localeCompare(b.node));
  return { sessions, transforms, combines, models, references, outliers, detectorTensors: new Map(), fetched };
}

/** Static typing of each node type, with problems located in the node's YAML (nodes at their declared indexes). */
export function nodeTyper(nodes: readonly (NodeSpec | undefined)[], prepared: PreparedNodes): NodeTyper {
  const indexOf = new Map<string, number>();
  nodes.forEach((n, i) => {
    if (n !== undefined) indexOf.set(n.name, i);
  });
  return (node: NodeSpec, incoming, branches) => {
    const index = indexOf.get(node.name) ?? 0;
    const base = ['spec', 'nodes', index];
    switch (node.type) {
      case 'model': {
        const session = prepared.sessions.get(node.name);
        return session === undefined ? { outputs: undefined, problems: [] } : typeModelNode(index, session, incoming);
      }
      case 'transformer': {
        const t = node.transformer;
        if (t.module !== undefined) return { outputs: t.outputs, problems: [] };
        if (t.steps.length === 0) return { outputs: incoming, problems: [] };
        const typed = typeTransformSteps(t.steps, incoming);
        return {
          outputs: typed.outputs,
          problems: typed.problems.map((p) => ({
            path: [...base, 'transformer', 'steps', p.step, ...(p.field === undefined ? [] : [p.field])],
            message: p.message,
          })),
        };
      }
      case 'router': {
        const problems: GraphProblem[] = validateRouterConfig(node.router).map((p) => ({ path: [...base, 'router', ...p.path], message: p.message }));
        (node.router.rules ?? []).forEach((rule, k) => {
          const parsed = parseCondition(rule.when);
          if (!parsed.ok) return;
          for (const name of conditionTensorNames(parsed.condition)) {
            if (!incoming.some((t) => t.name === name)) {
              problems.push({
                path: [...base, 'router', 'rules', k, 'when'],
                message: `condition reads tensors.${name}, which router "${node.name}" does not receive (receives: ${incoming.map((t) => t.name).join(', ')})`,
              });
            }
          }
        });
        return { outputs: incoming, problems };
      }
      case 'combiner': {
        const typed = typeCombiner(
          node.combiner,
          branches.map((b) => ({ source: b.source ?? 'graph.inputs', tensors: b.tensors })),
        );
        return { outputs: typed.outputs, problems: typed.problems.map((message) => ({ path: [...base, 'combiner'], message })) };
      }
      case 'outlier':
      case 'drift': {
        const reference = prepared.references.get(node.name);
        if (reference === undefined) return { outputs: undefined, problems: [] };
        const configured = node.type === 'outlier' ? node.outlier.tensor : node.drift.tensor;
        const checked = checkDetectorInput(base, node.type, configured, incoming, reference.columns.length);
        if (checked.tensor !== undefined) prepared.detectorTensors.set(node.name, checked.tensor);
        const perFeature = node.type === 'outlier' && (node.outlier.method === 'zscore' || node.outlier.method === 'mad');
        return { outputs: node.type === 'outlier' ? outlierOutputs(reference.columns.length, perFeature) : [], problems: checked.problems };
      }
    }
  };
}

/** How drift nodes compute and report; the engine passes worker threads and its event sink. */
export interface DriftHooks {
  readonly computer: (config: DriftConfig, referenceColumns: readonly Float64Array[]) => DriftComputer;
  readonly onResult: (result: DriftResult) => void;
  readonly onError: (graph: string, node: string, message: string) => void;
  /** Each outlier node call: rows scored and rows flagged. */
  readonly onOutliers?: (result: OutlierResult) => void;
}

export interface OutlierResult {
  readonly graph: string;
  readonly node: string;
  readonly rows: number;
  readonly outliers: number;
}

/**
 * Runtimes for every node (or only the nodes named in `only`): computations behind the transport,
 * routers and combiners in the executor. Model nodes with `model.batching` get a batcher, reporting each
 * batch to `onBatch`; in-process graphs and workers build runtimes here alike, so both batch.
 */
export function buildRuntimes(
  graph: GraphSpec,
  prepared: PreparedNodes,
  drift: DriftHooks,
  onBatch: (result: BatchResult) => void = () => undefined,
  only?: ReadonlySet<string>,
  /** Batched model nodes whose batches run elsewhere (stacked here, one node call on the wire per batch). */
  batchRuns?: { readonly runOf: (node: string) => BatchRun | undefined; readonly retryAloneOn: (err: unknown) => boolean; readonly concurrentRuns: number },
): { runtimes: Map<string, NodeRuntime>; controls: ControlRuntimes; driftNodes: Map<string, DriftNode>; batchers: Map<string, DynamicBatcher> } {
  const driftNodes = new Map<string, DriftNode>();
  const batchers = new Map<string, DynamicBatcher>();
  const runtimes = new Map<string, NodeRuntime>();
  const routers = new Map<string, RouterRuntime>();
  const combiners = new Map<string, CombinerRuntime>();
  const graphName = graph.metadata.name;
  for (const node of graph.spec.nodes) {
    if (only !== undefined && !only.has(node.name)) continue;
    switch (node.type) {
      case 'model': {
        const session = prepared.sessions.get(node.name) as ModelSession;
        const batching = node.model.batching;
        const remoteRun = batchRuns?.runOf(node.name);
        const batcher =
          batching === undefined
            ? undefined
            : remoteRun !== undefined
              ? new DynamicBatcher(graphName, node.name, batching, remoteRun, onBatch, { retryAloneOn: batchRuns?.retryAloneOn, maxConcurrentRuns: batchRuns?.concurrentRuns })
              : new DynamicBatcher(graphName, node.name, batching, (feeds) => session.run(feeds), onBatch);
        if (batcher !== undefined) batchers.set(node.name, batcher);
        runtimes.set(node.name, new ModelNode(node.name, session, { allowNonFinite: node.model.allowNonFinite, batcher }));
        break;
      }
      case 'transformer': {
        const fn = prepared.transforms.get(node.name);
        const t = node.transformer;
        runtimes.set(
          node.name,
          fn !== undefined
            ? new ModuleTransformerNode(graphName, node.name, fn, t.outputs as readonly TensorSpec[])
            : t.steps.length > 0
              ? new StepsTransformerNode(node.name, t.steps)
              : new PassThroughNode(),
        );
        break;
      }
      case 'router':
        routers.set(node.name, new RouterNodeRuntime(node.router));
        break;
      case 'combiner': {
        const fn = prepared.combines.get(node.name);
        const custom = fn === undefined ? undefined : { fn, outputs: node.combiner.outputs ?? [] };
        combiners.set(node.name, new CombinerNodeRuntime(graphName, node.name, node.combiner, custom));
        break;
      }
      case 'outlier': {
        const fitted = prepared.outliers.get(node.name);
        if (fitted === undefined) throw new Error(`outlier node "${node.name}" was not fitted`);
        const tensor = prepared.detectorTensors.get(node.name) as string;
        const onOutliers = drift.onOutliers;
        const onScored = onOutliers === undefined ? undefined : (rows: number, outliers: number): void => onOutliers({ graph: graphName, node: node.name, rows, outliers });
        runtimes.set(node.name, new OutlierNode(node.name, fitted.detector, fitted.threshold, tensor, node.outlier.action, onScored));
        break;
      }
      case 'drift': {
        const reference = prepared.references.get(node.name) as ReferenceData;
        const referenceColumns = toColumns(reference.rows);
        const driftNode = new DriftNode(
          graphName,
          node.name,
          node.drift,
          prepared.detectorTensors.get(node.name) as string,
          reference.columns,
          drift.computer(node.drift, referenceColumns),
          drift.onResult,
          (message) => drift.onError(graphName, node.name, message),
          referenceColumns,
        );
        driftNodes.set(node.name, driftNode);
        runtimes.set(node.name, driftNode);
        break;
      }
    }
  }
  return { runtimes, controls: { routers, combiners }, driftNodes, batchers };
}

function shaMismatch(base: (string | number)[], modelPath: string, pinned: string, actual: string): GraphProblem {
  return { path: [...base, 'model', 'sha256'], message: `sha256 mismatch for ${modelPath}: the graph pins ${pinned}, the file is ${actual}` };
}

function openNow<T>(open: () => Promise<T>): Promise<T> {
  return open();
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Where a model that runs elsewhere is typed: its signature, and a `run` that says it does not run here. */
function signatureOnly(graph: string, node: string, signature: ModelSignature): ModelSession {
  return {
    inputs: signature.inputs,
    outputs: signature.outputs,
    provider: 'remote',
    run: () => Promise.reject(new Error(`node "${node}" of graph "${graph}" runs on a worker, not in this process`)),
  };
}
