import { EventEmitter } from 'node:events';
import { createHash } from 'node:crypto';
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import type { GraphTracer, NodeResult, ShadowResult } from '@infergraph/executor';
import { InferenceError } from '@infergraph/protocol';
import type { BatchResult, DriftResult, DriftStatus, ModelLoader } from '@infergraph/nodes';
import { GraphValidationError } from '@infergraph/spec';
import { loadGraphFile, loadGraphSource, type GraphLoadHooks, type LoadedGraph, type OutlierResult } from './graph-file.loader';
import { PathPolicy } from './path.policy';

export type GraphState = 'loading' | 'ready' | 'failed';

export interface GraphEntry {
  readonly name: string;
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
}

export interface GraphLoadResult {
  readonly graph: string;
  readonly state: 'ready' | 'failed';
  readonly seconds: number;
  /** Time each model node's session took to open (ready graphs). */
  readonly models: readonly { readonly node: string; readonly seconds: number }[];
}

export type { BatchResult } from '@infergraph/nodes';

export interface RequestResult {
  readonly graph: string;
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
}

/** The set of graphs this process serves, with each one's load state. */
export class GraphRegistry {
  private readonly entries = new Map<string, GraphEntry>();
  private pending = 0;
  /** Loads in progress by file: a second load of the same file while one runs shares it. */
  private readonly loading = new Map<string, Promise<GraphEntry>>();
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

  get(name: string): GraphEntry | undefined {
    return this.entries.get(name);
  }

  list(): GraphEntry[] {
    return [...this.entries.values()].sort((a, b) => a.name.localeCompare(b.name));
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
    const files: string[] = [];
    for (const dir of dirs) {
      const names = await readdir(dir).catch((err: unknown) => {
        throw new Error(`cannot read graphs directory ${dir}: ${err instanceof Error ? err.message : String(err)}`);
      });
      for (const n of names.sort()) if (/\.ya?ml$/.test(n)) files.push(path.resolve(dir, n));
    }
    if (files.length === 0) this.logger.warn(`no graph files (*.yaml) found in ${dirs.join(', ')}`);
    await Promise.all(files.map((f) => this.loadFile(f)));
  }

  /**
   * Loads (or reloads) one graph file. A reload replaces the served graph atomically once the new one is
   * ready (a broken edit leaves the old one serving); the old one is closed after its requests had time to
   * finish (its graph deadline).
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

  /** Stops serving a graph: new requests get 404; it is closed after its in-flight requests had time to finish. */
  remove(name: string): boolean {
    const entry = this.entries.get(name);
    if (entry === undefined) return false;
    this.entries.delete(name);
    this.retire(entry.graph);
    this.logger.log(`graph "${name}" removed`);
    return true;
  }

  private async load(file: string, source?: string): Promise<GraphEntry> {
    const provisional = path.basename(file).replace(/\.ya?ml$/, '');
    this.pending++;
    const started = performance.now();
    this.logger.log(`loading graph ${file}`);
    const contentHash =
      source !== undefined
        ? createHash('sha256').update(source, 'utf8').digest('hex')
        : await readFile(file).then(
            (bytes) => createHash('sha256').update(bytes).digest('hex'),
            () => '',
          );
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
      const graph = source === undefined ? await loadGraphFile(file, this.loader, hooks) : await loadGraphSource(source, file, this.loader, hooks);
      const name = graph.spec.metadata.name;
      const existing = this.entries.get(name);
      if (existing !== undefined && existing.file !== file) {
        return this.record({
          name: `${name}@${provisional}`,
          file,
          state: 'failed',
          graph: undefined,
          error: `graph name "${name}" is already served from ${existing.file}`,
          loadMs: undefined,
          shadow,
          contentHash,
        });
      }
      const loadMs = Math.round(performance.now() - started);
      const models = graph.models.map((m) => `${m.node}=${path.basename(path.dirname(path.dirname(m.path)))}(${m.provider})`);
      this.events.emit('loaded', { graph: name, state: 'ready', seconds: loadMs / 1000, models: graph.models.map((m) => ({ node: m.node, seconds: m.loadSeconds })) });
      this.logger.log(`graph "${name}" ready in ${loadMs} ms (version ${graph.spec.spec.version}; models: ${models.join(', ') || 'none'})`);
      return this.record({ name, file, state: 'ready', graph, error: undefined, loadMs, shadow, contentHash });
    } catch (err) {
      const error = err instanceof GraphValidationError ? err.message : `graph ${file}: ${err instanceof Error ? err.message : String(err)}`;
      this.logger.error(error);
      this.events.emit('loaded', { graph: provisional, state: 'failed', seconds: (performance.now() - started) / 1000, models: [] });
      // A broken edit of a served graph leaves the served version in place; the failure is logged above.
      const served = [...this.entries.values()].find((e) => e.file === file && e.graph !== undefined);
      if (served !== undefined) return served;
      return this.record({ name: provisional, file, state: 'failed', graph: undefined, error, loadMs: undefined, shadow, contentHash });
    } finally {
      this.pending--;
    }
  }

  /** The state of a drift node: latest result and bounded history. */
  driftStatus(graph: string, node: string): DriftStatus {
    const entry = this.entries.get(graph);
    if (entry === undefined) throw new InferenceError('NOT_FOUND', `unknown graph "${graph}"`);
    if (entry.graph === undefined) throw new InferenceError('UNAVAILABLE', `graph "${graph}" is ${entry.state}`);
    const drift = entry.graph.driftNodes.get(node);
    if (drift === undefined) {
      const names = [...entry.graph.driftNodes.keys()];
      throw new InferenceError('NOT_FOUND', `graph "${graph}" has no drift node "${node}" (drift nodes: ${names.join(', ') || 'none'})`);
    }
    return drift.status();
  }

  /** Stops every graph's background work (drift timers and workers). */
  async close(): Promise<void> {
    await Promise.all([...this.entries.values()].flatMap((e) => (e.graph === undefined ? [] : [e.graph.close()])));
  }

  private record(entry: GraphEntry): GraphEntry {
    const previous = this.entries.get(entry.name);
    this.entries.set(entry.name, entry);
    if (previous?.graph !== entry.graph) this.retire(previous?.graph);
    return entry;
  }

  /** Closes a graph no longer served once requests that started on it have passed their deadline. */
  private retire(graph: LoadedGraph | undefined): void {
    if (graph === undefined) return;
    const timer = setTimeout(() => {
      graph.close().catch((err: unknown) => this.logger.warn(`closing a replaced graph: ${err instanceof Error ? err.message : String(err)}`));
    }, graph.executor.plan.timeoutMs + 1000);
    timer.unref();
  }
}
