import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { TensorSpec } from '@infergraph/protocol';
import { compileGraphPlan, type GraphPlan, type NodeRuntime } from '@infergraph/executor';
import type { BatchResult, ModelLoader, ModelSession } from '@infergraph/nodes';
import { GraphValidationError, diagnosticsWith, typeGraph, type GraphProblem, type GraphSpec, type NodeType, type TypedBranch } from '@infergraph/spec';
import { DEFAULT_DRIFT } from './graph-file.loader';
import { buildRuntimes, nodeTyper, prepareNodes, type DriftHooks, type LoadedModel, type PreparedNodes } from './graph-nodes.builder';
import { parseGraphSourceOffLoop } from './graph-parse.thread';
import { checkModelFile } from './model-file.resolver';
import { nextFreeTurn } from './model-open.queue';
import type { ModelFetcher } from './model-fetcher.port';
import { modelDeviceOf, type ModelDevice } from './model-device.policy';
import { PathPolicy } from './path.policy';

/** The tensors a node served alone takes and gives (V2 model metadata). */
export interface NodeSignature {
  readonly inputs: readonly TensorSpec[];
  readonly outputs: readonly TensorSpec[];
}

/** One node of a graph, loaded on its own to be served alone (a worker's replica of it). */
export interface LoadedNodeRuntime {
  readonly graph: string;
  readonly node: string;
  readonly type: NodeType;
  readonly runtime: NodeRuntime;
  /** Typed from the graph where its inputs do not depend on models not loaded here; else from what it declares. */
  readonly signature: NodeSignature;
  /** The model it opened (model nodes). */
  readonly model: LoadedModel | undefined;
  /** Execution provider of its model ("cpu" for nodes without one), and why it differs from the one asked for. */
  readonly provider: string;
  readonly providerNote: string | undefined;
  readonly loadSeconds: number;
  /**
   * The plan of the graph file version it came from (shared by the nodes loaded from that version; its
   * output types are not known here): what running the whole graph on this worker executes.
   */
  readonly plan: GraphPlan;
  /** Stops its background work (drift) and gives its model session back to the loader. */
  close(): Promise<void>;
}

/** A graph file as read once, whose nodes load one by one. */
export interface GraphNodeRuntimes {
  readonly file: string;
  readonly spec: GraphSpec;
  /** sha256 (hex) of the graph file's bytes as read. */
  readonly contentHash: string;
  /** The loads of the nodes asked for, each settling on its own (a slow node does not hold up the others). */
  readonly nodes: ReadonlyMap<string, Promise<LoadedNodeRuntime>>;
  /** Loads (another copy of) one node of this version of the file. */
  load(node: string): Promise<LoadedNodeRuntime>;
}

/** A model loader that can take a session back (runtime-onnx's can); nodes give theirs back on close. */
interface ReleasingModelLoader extends ModelLoader {
  release(session: ModelSession): Promise<void>;
}

export interface NodeLoadHooks {
  /** The loader of a model node asking for `device` (modelDeviceOf); default: the one given for every node. */
  readonly modelLoaderFor?: (device: ModelDevice) => ModelLoader;
  readonly drift?: Partial<DriftHooks>;
  /** Every batch a batched model node (`model.batching`) ran. */
  readonly onBatch?: (result: BatchResult) => void;
  /** Where models, modules and references may be (besides the graph's directory); default PathPolicy.defaults(). */
  readonly paths?: PathPolicy;
  /** Fetches https:// and s3:// models into a verified local cache (each worker fetches its own). */
  readonly models?: ModelFetcher;
}

/**
 * Reads a graph file and loads the runtimes of the named nodes only: no other node's model, module or
 * reference data is opened. The graph is checked for structure (schema, references, routing), not
 * typed as a whole: the placing side validated it, and typing it all would need every model. Rejects
 * with a GraphValidationError when the structure is broken; each node's load rejects on its own with
 * what is wrong with that node.
 */
export async function loadNodeRuntimes(file: string, nodes: ReadonlySet<string>, loader: ModelLoader, hooks: NodeLoadHooks = {}): Promise<GraphNodeRuntimes> {
  return nodeRuntimesOf(await readFile(file), file, nodes, loader, hooks);
}

/**
 * loadNodeRuntimes for a graph document already in hand (sent by the controller): `file` is only where its
 * relative paths resolve and how problems name it; nothing reads it.
 */
export function loadNodeRuntimesFromSource(source: string, file: string, nodes: ReadonlySet<string>, loader: ModelLoader, hooks: NodeLoadHooks = {}): Promise<GraphNodeRuntimes> {
  // A broken document rejects, as a broken file does.
  return nodeRuntimesOf(Buffer.from(source, 'utf8'), file, nodes, loader, hooks);
}

async function nodeRuntimesOf(bytes: Buffer, file: string, nodes: ReadonlySet<string>, loader: ModelLoader, hooks: NodeLoadHooks): Promise<GraphNodeRuntimes> {
  const contentHash = createHash('sha256').update(bytes).digest('hex');
  const parsed = await parseGraphSourceOffLoop(bytes.toString('utf8'), file);
  const graph = parsed.graph;
  if (graph === undefined) throw new GraphValidationError(file, parsed.diagnostics);
  const name = graph.metadata.name;
  const drift = { ...DEFAULT_DRIFT, ...hooks.drift };
  const paths = hooks.paths ?? PathPolicy.defaults();
  const plan = compileGraphPlan(graph, parsed.order, [], parsed.routing);
  await nextFreeTurn();

  // What each node receives, as far as typing gets without opening any model or reference file.
  const received = new Map<string, { incoming: readonly TensorSpec[]; branches: readonly TypedBranch[] }>();
  const withoutModels = nodeTyper(graph.spec.nodes, emptyPrepared());
  typeGraph(parsed.partial, (node, incoming, branches) => {
    received.set(node.name, { incoming, branches });
    return withoutModels(node, incoming, branches);
  });

  const load = async (nodeName: string): Promise<LoadedNodeRuntime> => {
    const started = performance.now();
    // Nodes loaded together check their files and start their opens a turn apart (requests go between).
    await nextFreeTurn();
    const index = graph.spec.nodes.findIndex((n) => n.name === nodeName);
    const spec = graph.spec.nodes[index];
    if (spec === undefined) {
      throw new Error(`graph "${name}" (${file}) has no node "${nodeName}" (nodes: ${graph.spec.nodes.map((n) => n.name).join(', ')})`);
    }
    if (spec.type === 'router' || spec.type === 'combiner') {
      throw new Error(`graph "${name}" node "${nodeName}" is a ${spec.type}: it runs beside the graph executor, not alone`);
    }
    if (spec.type === 'model') {
      const missing = checkModelFile(file, spec.model.uri, paths, hooks.models);
      if (missing !== undefined) throw new Error(`graph "${name}" node "${nodeName}": ${missing}`);
    }
    const nodeLoader = hooks.modelLoaderFor?.(modelDeviceOf(spec)) ?? loader;
    // Nothing outside the roots is opened: a module or reference pointing there is reported, not loaded.
    const confined = paths.confineNodes(
      file,
      graph.spec.nodes.map((n, i) => (i === index ? n : undefined)),
    );
    const problems: GraphProblem[] = [...confined.problems];
    const prepared = await prepareNodes(name, confined.nodes, file, nodeLoader, problems, hooks.models);
    const release = async (): Promise<void> => {
      prepared.fetched.forEach((m) => m.release());
      if (!isReleasing(nodeLoader)) return;
      await Promise.all([...prepared.sessions.values()].map((s) => nodeLoader.release(s)));
    };
    await nextFreeTurn();
    const typer = nodeTyper(graph.spec.nodes, prepared);
    const seen = received.get(nodeName);
    let signature: NodeSignature;
    if (seen !== undefined) {
      const typed = typer(spec, seen.incoming, seen.branches);
      problems.push(...typed.problems);
      signature = { inputs: seen.incoming, outputs: typed.outputs ?? [] };
    } else {
      // Its inputs come from a model not loaded here: only what the node itself declares is known.
      const typed = typer(spec, [], []);
      signature = { inputs: prepared.sessions.get(nodeName)?.inputs ?? [], outputs: typed.outputs ?? [] };
      if ((spec.type === 'outlier' || spec.type === 'drift') && !prepared.detectorTensors.has(nodeName)) {
        problems.push({
          path: ['spec', 'nodes', index, spec.type, 'tensor'],
          message: `served alone, the node cannot tell which tensor it watches (its inputs come from a model not loaded here); name it with ${spec.type}.tensor`,
        });
      }
    }
    if (problems.length > 0) {
      await release();
      throw new GraphValidationError(file, diagnosticsWith(parsed, problems));
    }
    const { runtimes, driftNodes } = buildRuntimes(graph, prepared, drift, hooks.onBatch, new Set([nodeName]));
    const runtime = runtimes.get(nodeName);
    if (runtime === undefined) throw new Error(`graph "${name}" node "${nodeName}": no runtime was built`);
    const model = prepared.models[0];
    return {
      graph: name,
      node: nodeName,
      type: spec.type,
      runtime,
      signature,
      model,
      provider: model?.provider ?? 'cpu',
      providerNote: model?.providerNote,
      loadSeconds: (performance.now() - started) / 1000,
      plan,
      close: async () => {
        await Promise.all([...driftNodes.values()].map((d) => d.close()));
        await release();
      },
    };
  };

  const loads = new Map<string, Promise<LoadedNodeRuntime>>();
  for (const node of nodes) {
    const loading = load(node);
    loading.catch(() => undefined); // the caller awaits it; a failure before it does is not unhandled
    loads.set(node, loading);
  }
  return { file, spec: graph, contentHash, nodes: loads, load };
}

function emptyPrepared(): PreparedNodes {
  return { sessions: new Map(), transforms: new Map(), combines: new Map(), models: [], references: new Map(), outliers: new Map(), detectorTensors: new Map(), fetched: [] };
}

function isReleasing(loader: ModelLoader): loader is ReleasingModelLoader {
  return typeof (loader as Partial<ReleasingModelLoader>).release === 'function';
}
