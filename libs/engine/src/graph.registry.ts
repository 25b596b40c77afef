import { EventEmitter } from 'node:events';
import { createHash } from 'node:crypto';
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import type { GraphTracer, NodeResult, ShadowResult } from '@infergraph/executor';
import { InferenceError } from '@infergraph/protocol';
import type { BatchResult, DriftNode, DriftResult, DriftStatus, FeatureHistogram, ModelLoader } from '@infergraph/nodes';
import { GraphValidationError } from '@infergraph/spec';
import { loadGraphFile, loadGraphSource, type GraphLoadHooks, type LoadedGraph, type OutlierResult } from './graph-file.loader';
import { PathPolicy } from './path.policy';
import { compareVersions, defaultVersionOf } from './graph-version.policy';

export type GraphState = 'loading' | 'ready' | 'failed';

export interface GraphEntry {
  readonly name: string;
  /** `spec.version`; undefined when the file failed before its version was known. */
  readonly version: string | undefined;
  readonly file: string;
  readonly state: GraphState;
  readonly graph: LoadedGraph | undefined;
  /** Why the graph failed to load, one problem per line. */
  readonly error: string | undefined;
  readonly loadMs: number | undefined;
  /** Shadow branch outcomes since load (results are discarded; failures are only recorded). */
  readonly shadow: ShadowStats;
  /** sha256 (hex) of the graph file's bytes as loaded; empty when it could not be read. */
  readonly contentHash: string;
  /** Why the latest reload of this file failed (or that the file is gone) while this version kept serving. */
  readonly reloadError: string | undefined;
}

export interface ShadowStats {
  ok: number;
  failed: number;
  lastError: string | undefined;
}

export interface EngineLogger {
  log(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

/** Engine events for other subsystems (metrics, Kafka) to subscribe to. */
export interface EngineEvents {
  drift: [DriftResult];
  /** Every node outcome of every request (not shadows or drift). */
  node: [NodeResult];
  /** A graph request reached a loaded graph and starts (every one ends with a `request` event). */
  started: [{ graph: string }];
  /** Every graph request that reached a loaded graph, with its outcome class. */
  request: [RequestResult];
  /** Every outlier node call: rows scored and rows flagged. */
  outlier: [OutlierResult];
  /** Every graph load, successful or not. */
  loaded: [GraphLoadResult];
  /** Every batch a batched model node (`model.batching`) ran, successful or not. */
  batch: [BatchResult];
  /** The served versions of a graph changed (a version loaded, replaced or removed, or the default moved). */
  versions: [{ graph: string }];
  /** A rollout moved (started, stepped, paused, resumed, promoted, rolled back, aborted). */
  rollout: [RolloutTransition];
}

export interface RolloutTransition {
  readonly graph: string;
  readonly from: string;
  readonly to: string;
  /** The rollout's phase after the transition. */
  readonly phase: string;
  /** Share of unpinned traffic the new version gets now, in percent. */
  readonly weightPercent: number;
  readonly reason: string;
}

export interface GraphLoadResult {
  readonly graph: string;
  /** The version loaded (undefined when the file failed before its version was known). */
  readonly version?: string;
  readonly state: 'ready' | 'failed';
  readonly seconds: number;
  /** Time each model node's session took to open (ready graphs). */
  readonly models: readonly { readonly node: string; readonly seconds: number }[];
}

export type { BatchResult } from '@infergraph/nodes';

export interface RequestResult {
  readonly graph: string;
  /** The graph version that served the request. */
  readonly version?: string;
  /** For logs only: never a metric label. */
  readonly requestId: string;
  /** "OK" or the InferenceError code. */
  readonly code: string;
  /** The error message when the request failed. */
  readonly error?: string;
  readonly seconds: number;
  /** Routes taken (`router=route,...`), when the graph has routers. */
  readonly route?: string;
  /** The authenticated caller, when the gateway authenticated the request. */
  readonly subject?: string;
  /** Input and output tensors, only when payload logging is on (they can be sensitive). */
  readonly payload?: { readonly inputs: readonly unknown[]; readonly outputs?: readonly unknown[] };
}

export interface GraphRegistryOptions {
  /** Where node work runs (default: in this process); see GraphLoadHooks.bus. */
  readonly bus?: GraphLoadHooks['bus'];
  /** Spans per node call; undefined when tracing is off. */
  readonly tracer?: GraphTracer;
  /**
   * Where graphs may point (MODEL_ROOTS; default PathPolicy.defaults()); every directory given to
   * loadDirectories is added, and each graph's own directory always counts.
   */
  readonly paths?: PathPolicy;
  /** Fetches https:// and s3:// models (libs/model-store); see GraphLoadHooks.models. */
  readonly models?: GraphLoadHooks['models'];
  /** The version each named graph's unversioned path serves (default: its latest version). */
  readonly defaultVersions?: Readonly<Record<string, string>>;
}

/** Map key of one version of a graph. */
const keyOf = (name: string, version: string | undefined): string => `${name}\u0000${version ?? ''}`;

/**
 * The set of graphs this process serves, with each one's load state. A graph may be served in several
 * versions at once (one file each); its unversioned path serves the default version (defaultVersionOf).
 */
export class GraphRegistry {
  /** Every version of every graph, by keyOf(name, version). */
  private readonly entries = new Map<string, GraphEntry>();
  /** Default versions set at run time (a promoted version of a graph pinned in configuration). */
  private readonly pins = new Map<string, string>();
  /** Versions whose rollout promoted them (keyOf): no longer held back from being the default. */
  private readonly promoted = new Set<string>();
  /** The entry each name's unversioned path serves, worked out once per change of the entries or pins. */
  private readonly defaults = new Map<string, GraphEntry | undefined>();
  private pending = 0;
  /** Loads in progress by file: a second load of the same file while one runs shares it. */
  private readonly loading = new Map<string, Promise<GraphEntry>>();
  /** Requests running on each graph version, and what to do once a retired one has none left. */
  private readonly inFlight = new Map<LoadedGraph, number>();
  private readonly onDrained = new Map<LoadedGraph, () => void>();
  /** `drift`: every completed drift window's result. */
  readonly events = new EventEmitter<EngineEvents>();

  constructor(
    private readonly loader: ModelLoader,
    private readonly logger: EngineLogger,
    private readonly options: GraphRegistryOptions = {},
  ) {}

  get tracer(): GraphTracer | undefined {
    return this.options.tracer;
  }

  /** A graph's given version, or its default version when `version` is undefined. */
  get(name: string, version?: string): GraphEntry | undefined {
    if (version !== undefined) return this.entries.get(keyOf(name, version));
    // Asked on every request: the choice is kept until the entries, pins or promotions change.
    if (this.defaults.has(name)) return this.defaults.get(name);
    const chosen = this.defaultVersion(name);
    const entry = this.versionsOf(name).find((e) => (e.version ?? '') === chosen);
    this.defaults.set(name, entry);
    return entry;
  }

  private put(key: string, entry: GraphEntry): void {
    this.entries.set(key, entry);
    this.defaults.clear();
  }

  private drop(key: string): void {
    this.entries.delete(key);
    this.defaults.clear();
  }

  /** Every version of a graph, oldest first (compareVersions). */
  versionsOf(name: string): GraphEntry[] {
    return [...this.entries.values()].filter((e) => e.name === name).sort((a, b) => compareVersions(a.version ?? '', b.version ?? ''));
  }

  /** The version the unversioned path of a graph serves now. */
  defaultVersion(name: string): string | undefined {
    const versions = this.versionsOf(name).map((e) => ({
      version: e.version ?? '',
      servable: e.graph !== undefined,
      held: e.graph?.spec.spec.rollout !== undefined && !this.promoted.has(keyOf(name, e.version)),
    }));
    return defaultVersionOf(versions, this.pins.get(name) ?? this.options.defaultVersions?.[name]);
  }

  isPromoted(name: string, version: string): boolean {
    return this.promoted.has(keyOf(name, version));
  }

  /** A rollout passed: the version may be the default (and is, over a configured pin). */
  promote(name: string, version: string): void {
    this.promoted.add(keyOf(name, version));
    if (this.options.defaultVersions?.[name] !== undefined) this.pins.set(name, version);
    this.defaults.clear();
    this.events.emit('versions', { graph: name });
  }

  list(): GraphEntry[] {
    return [...this.entries.values()].sort((a, b) => a.name.localeCompare(b.name) || compareVersions(a.version ?? '', b.version ?? ''));
  }

  /** True once every graph has finished loading, successfully or not. */
  get settled(): boolean {
    return this.pending === 0;
  }

  /** GRAPHS_DIR entries loaded: roots of every graph this registry loads, beside the options' MODEL_ROOTS. */
  private graphDirs: readonly string[] = [];

  /** Loads every *.yaml / *.yml file of the directories; resolves when all have settled. */
  async loadDirectories(dirs: readonly string[]): Promise<void> {
    this.graphDirs = [...this.graphDirs, ...dirs];
    const files = await graphFilesIn(dirs);
    if (files.length === 0) this.logger.warn(`no graph files (*.yaml) found in ${dirs.join(', ')}`);
    await Promise.all(files.map((f) => this.loadFile(f)));
  }

  /**
   * Loads (or reloads) one graph file. A reload is validated and loaded beside the served version, then
   * replaces it atomically (a broken edit leaves the old one serving, with `reloadError` saying why); the
   * old one is closed once its in-flight requests finished (at the latest after its graph deadline).
   */
  loadFile(file: string): Promise<GraphEntry> {
    const running = this.loading.get(file);
    if (running !== undefined) return running;
    const load = this.load(file).finally(() => this.loading.delete(file));
    this.loading.set(file, load);
    return load;
  }

  /**
   * Loads (or reloads) a graph document the controller sent, as loadFile does a file: `file` is where the
   * graph is at the controller (its relative paths resolve beside it; nothing reads it), and only the
   * configured roots count, not that file's directory.
   */
  loadSource(file: string, source: string): Promise<GraphEntry> {
    return this.load(file, source);
  }

  /** The files every version of a graph was loaded from (failed loads named after their file included). */
  filesOf(name: string): string[] {
    return [...new Set(this.versionsOf(name).map((e) => e.file))];
  }

  /**
   * Stops serving a graph (every version, or one): new requests get 404; each version is closed once its
   * in-flight requests finished.
   */
  remove(name: string, version?: string): boolean {
    const gone = version === undefined ? this.versionsOf(name) : [this.entries.get(keyOf(name, version))].filter((e) => e !== undefined);
    for (const entry of gone) {
      this.drop(keyOf(entry.name, entry.version));
      this.retire(entry.graph);
      this.logger.log(`graph "${name}"${entry.version === undefined ? '' : ` version ${entry.version}`} removed`);
    }
    if (gone.length > 0) this.events.emit('versions', { graph: name });
    return gone.length > 0;
  }

  /** Records a problem with a served file (e.g. it was deleted) without touching what it serves. */
  noteFileProblem(file: string, problem: string): void {
    for (const [key, e] of this.entries) if (e.file === file && e.reloadError !== problem) this.put(key, { ...e, reloadError: problem });
  }

  /**
   * Counts a request on a graph version until the returned function is called: a replaced version is
   * closed once none of its requests is left.
   */
  enter(graph: LoadedGraph): () => void {
    this.inFlight.set(graph, (this.inFlight.get(graph) ?? 0) + 1);
    let left = false;
    return () => {
      if (left) return;
      left = true;
      const n = (this.inFlight.get(graph) ?? 1) - 1;
      if (n > 0) return void this.inFlight.set(graph, n);
      this.inFlight.delete(graph);
      this.onDrained.get(graph)?.();
    };
  }

  /** Requests running on a graph version now. */
  inFlightOf(graph: LoadedGraph): number {
    return this.inFlight.get(graph) ?? 0;
  }

  private async load(file: string, source?: string): Promise<GraphEntry> {
    const provisional = path.basename(file).replace(/\.ya?ml$/, '');
    this.pending++;
    const started = performance.now();
    this.logger.log(`loading graph ${file}`);
    // A file is read once: the hash is of the bytes that are loaded.
    const bytes = source === undefined ? await readFile(file).catch(() => undefined) : undefined;
    const contentHash =
      source !== undefined ? createHash('sha256').update(source, 'utf8').digest('hex') : bytes === undefined ? '' : createHash('sha256').update(bytes).digest('hex');
    const shadow: ShadowStats = { ok: 0, failed: 0, lastError: undefined };
    const onShadowResult = (r: ShadowResult): void => {
      if (r.status === 'ok') {
        shadow.ok++;
        return;
      }
      shadow.failed++;
      shadow.lastError = r.error;
      this.logger.warn(`graph "${r.graph}" shadow node "${r.node}" failed for request ${r.requestId}: ${r.error ?? 'unknown error'}`);
    };
    const failed = (name: string, error: string): GraphEntry =>
      this.record({ name, version: undefined, file, state: 'failed', graph: undefined, error, loadMs: undefined, shadow, contentHash, reloadError: undefined });
    try {
      const paths = (this.options.paths ?? PathPolicy.defaults()).including(this.graphDirs);
      const hooks: GraphLoadHooks = {
        onShadowResult,
        onNodeResult: (r) => this.events.emit('node', r),
        onBatch: (r) => this.events.emit('batch', r),
        bus: this.options.bus,
        paths: source === undefined ? paths : paths.forSentGraphs(),
        ...(this.options.models !== undefined ? { models: this.options.models } : {}),
        ...(this.options.tracer !== undefined ? { tracer: this.options.tracer } : {}),
        drift: {
          onResult: (r) => {
            const minP = Math.min(...r.p_val);
            const line = `drift graph="${r.graph}" node="${r.node}" method=${r.method} window=[${r.window.start},${r.window.end}) size=${r.window.size} is_drift=${r.is_drift} min_p_val=${minP.toPrecision(4)} threshold=${r.threshold.toPrecision(4)}`;
            if (r.is_drift) this.logger.warn(line);
            else this.logger.log(line);
            this.events.emit('drift', r);
          },
          onError: (graphName, node, message) => this.logger.warn(`drift graph="${graphName}" node="${node}" failed: ${message}`),
          onOutliers: (r) => this.events.emit('outlier', r),
        },
      };
      // An unreadable file goes through loadGraphFile for its read error.
      const text = source ?? bytes?.toString('utf8');
      const graph = text === undefined ? await loadGraphFile(file, this.loader, hooks) : await loadGraphSource(text, file, this.loader, hooks);
      const name = graph.spec.metadata.name;
      const version = graph.spec.spec.version;
      const clash = this.clashOf(graph, file);
      if (clash !== undefined) {
        await graph.close();
        return failed(`${name}@${provisional}`, clash);
      }
      const loadMs = Math.round(performance.now() - started);
      const models = graph.models.map((m) => `${m.node}=${path.basename(path.dirname(path.dirname(m.path)))}(${m.provider})`);
      this.logger.log(`graph "${name}" ready in ${loadMs} ms (version ${version}; models: ${models.join(', ') || 'none'})`);
      const entry = this.record({ name, version, file, state: 'ready', graph, error: undefined, loadMs, shadow, contentHash, reloadError: undefined });
      this.events.emit('loaded', { graph: name, version, state: 'ready', seconds: loadMs / 1000, models: graph.models.map((m) => ({ node: m.node, seconds: m.loadSeconds })) });
      return entry;
    } catch (err) {
      const error = err instanceof GraphValidationError ? err.message : `graph ${file}: ${err instanceof Error ? err.message : String(err)}`;
      this.logger.error(error);
      this.events.emit('loaded', { graph: provisional, state: 'failed', seconds: (performance.now() - started) / 1000, models: [] });
      // A broken edit of a served graph leaves the served version in place, with the reason beside it.
      const served = [...this.entries.entries()].find(([, e]) => e.file === file && e.graph !== undefined);
      if (served !== undefined) {
        const [key, entry] = served;
        const kept: GraphEntry = { ...entry, reloadError: `reload failed, version ${entry.version ?? '?'} keeps serving: ${error}` };
        this.put(key, kept);
        return kept;
      }
      return failed(provisional, error);
    } finally {
      this.pending--;
    }
  }

  /**
   * Why a loaded graph cannot be served beside the others: its name and version come from another file.
   * Versions side by side keep their node calls apart on every bus: over gRPC each version's nodes are keyed
   * with it (`NodeKey`) and placed as their own replicas; over Kafka each version has its own node topics.
   */
  private clashOf(graph: LoadedGraph, file: string): string | undefined {
    const name = graph.spec.metadata.name;
    const version = graph.spec.spec.version;
    const same = this.entries.get(keyOf(name, version));
    if (same !== undefined && same.file !== file) return `graph name "${name}" version ${version} is already served from ${same.file}`;
    return undefined;
  }

  /** The state of a drift node of a graph's default version: latest result and bounded history. */
  driftStatus(graph: string, node: string): DriftStatus {
    return this.driftNodeOf(graph, node).status();
  }

  /** One feature of a drift node of a graph's default version: reference and latest window on shared bins. */
  driftHistogram(graph: string, node: string, feature: string, bins: number): FeatureHistogram {
    return this.driftNodeOf(graph, node).histogram(feature, bins);
  }

  private driftNodeOf(graph: string, node: string): DriftNode {
    const entry = this.get(graph);
    if (entry === undefined) throw new InferenceError('NOT_FOUND', `unknown graph "${graph}"`);
    if (entry.graph === undefined) throw new InferenceError('UNAVAILABLE', `graph "${graph}" is ${entry.state}`);
    const drift = entry.graph.driftNodes.get(node);
    if (drift === undefined) {
      const names = [...entry.graph.driftNodes.keys()];
      throw new InferenceError('NOT_FOUND', `graph "${graph}" has no drift node "${node}" (drift nodes: ${names.join(', ') || 'none'})`);
    }
    return drift;
  }

  /** Stops every graph's background work (drift timers and workers) and gives back its model sessions. */
  async close(): Promise<void> {
    await Promise.all([...this.entries.values()].flatMap((e) => (e.graph === undefined ? [] : [e.graph.close()])));
  }

  /** Sets an entry; the file's earlier entry (under any name or version) is replaced and retired. */
  private record(entry: GraphEntry): GraphEntry {
    const key = keyOf(entry.name, entry.version);
    const touched = new Set([entry.name]);
    for (const [k, e] of this.entries) {
      if (k === key || e.file !== entry.file) continue;
      this.drop(k);
      touched.add(e.name);
      if (e.graph !== entry.graph) this.retire(e.graph);
    }
    const previous = this.entries.get(key);
    this.put(key, entry);
    if (previous?.graph !== entry.graph) this.retire(previous?.graph);
    for (const name of touched) this.events.emit('versions', { graph: name });
    return entry;
  }

  /**
   * Closes a graph version no longer served once its in-flight requests finished, or once they had time to
   * (its graph deadline) should one never end.
   */
  private retire(graph: LoadedGraph | undefined): void {
    if (graph === undefined || this.onDrained.has(graph)) return;
    const name = `graph "${graph.spec.metadata.name}" version ${graph.spec.spec.version}`;
    const close = (): void => {
      clearTimeout(timer);
      this.onDrained.delete(graph);
      graph.close().then(
        () => this.logger.log(`${name} drained and closed (${path.basename(graph.file)})`),
        (err: unknown) => this.logger.warn(`closing the replaced ${name}: ${err instanceof Error ? err.message : String(err)}`),
      );
    };
    const timer = setTimeout(close, graph.executor.plan.timeoutMs + 1000);
    timer.unref();
    if (this.inFlightOf(graph) === 0) return close();
    this.onDrained.set(graph, close);
  }
}

/** Every *.yaml / *.yml file directly in the directories, sorted per directory. */
export async function graphFilesIn(dirs: readonly string[]): Promise<string[]> {
  const files: string[] = [];
  for (const dir of dirs) {
    const names = await readdir(dir).catch((err: unknown) => {
      throw new Error(`cannot read graphs directory ${dir}: ${err instanceof Error ? err.message : String(err)}`);
    });
    for (const n of names.sort()) if (/\.ya?ml$/.test(n)) files.push(path.resolve(dir, n));
  }
  return files;
}
