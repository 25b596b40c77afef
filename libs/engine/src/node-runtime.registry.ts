import { NodeKey, type GraphSpec } from '@infergraph/spec';
import type { EngineLogger, GraphLoadResult } from './graph.registry';
import type { GraphNodeRuntimes, LoadedNodeRuntime } from './node-runtime.loader';

export type ReplicaState = 'LOADING' | 'READY' | 'FAILED';

/** Tells the placing side how one assigned node ("<graph>.<node>") is doing. */
export type ReplicaStateReport = (key: string, state: ReplicaState, reason: string, provider: string) => void;

/** A graph an assignment refers to, with the sha256 of its bytes as the placing side read them. */
export interface AssignedGraph {
  readonly name: string;
  /** The graph's file: where its relative paths resolve (read only when `source` is undefined). */
  readonly file: string;
  readonly contentHash: string;
  /** The graph document as the placing side sent it. */
  readonly source?: string;
  /** Why the graph as sent cannot be used: its nodes fail with this reason. */
  readonly problem?: string;
}

/** Starts loading the named nodes of an assigned graph (loadNodeRuntimes or loadNodeRuntimesFromSource with the process's loaders). */
export type NodeRuntimeOpener = (graph: AssignedGraph, nodes: ReadonlySet<string>) => Promise<GraphNodeRuntimes>;

export interface NodeRuntimeRegistryOptions {
  /** A node started or stopped being served (to re-subscribe node topics, for instance). */
  readonly onServingChange?: () => void;
  /** Each graph's batch of node loads, once all of them settled (load-time metrics). */
  readonly onLoaded?: (result: GraphLoadResult) => void;
  /** A FAILED node is tried again by an assignment that comes this long after the failure (default 10 s). */
  readonly retryFailedAfterMs?: number;
  /**
   * How long a node dropped from the assignment still answers calls (default 10 s): the controller drops a
   * moved replica once its replacement is READY, and gateways learn the new routes a moment later, so calls
   * routed here meanwhile still succeed (make-before-break on the worker's side too).
   */
  readonly dropGraceMs?: number;
}

/** A loaded node version that calls go to; closed once it is replaced or dropped and its calls are done. */
class ServedNode {
  private inFlight = 0;
  private retired = false;

  constructor(
    readonly loaded: LoadedNodeRuntime,
    readonly spec: GraphSpec,
    private readonly logger: EngineLogger,
  ) {}

  async call<T>(fn: (loaded: LoadedNodeRuntime) => Promise<T>): Promise<T> {
    this.inFlight++;
    try {
      return await fn(this.loaded);
    } finally {
      this.inFlight--;
      if (this.retired && this.inFlight === 0) this.close();
    }
  }

  retire(): void {
    this.retired = true;
    if (this.inFlight === 0) this.close();
  }

  private close(): void {
    const key = NodeKey.format(this.spec.metadata.name, this.loaded.node, this.spec.spec.version);
    this.loaded.close().catch((err: unknown) => this.logger.warn(`closing node "${key}": ${messageOf(err)}`));
  }
}

interface Slot {
  readonly key: string;
  /** The graph id (`NodeKey.graphId`): what the assignment names the graph version by. */
  readonly graph: string;
  readonly node: string;
  state: ReplicaState;
  reason: string;
  provider: string;
  /** When it failed, on the monotonic clock (`performance.now()`). */
  failedAt: number;
  /** What calls go to: during a reload, the previous version until the new one is READY. */
  serving: ServedNode | undefined;
  file: string;
  /** Content hashes the latest load is for: the one assigned and the one read. Either means "no change". */
  hashes: string[];
  /** Bumped by every new load and by unassignment: a load that ends after that is discarded. */
  generation: number;
}

/** One version of a graph file as read, whose nodes load on demand. */
interface Source {
  readonly file: string;
  readonly assignedHash: string;
  readonly opened: Promise<GraphNodeRuntimes>;
  /** Nodes whose load the open started and no slot took yet (the others are loaded with `load`). */
  readonly unclaimed: Set<string>;
}

/**
 * The graph nodes a worker serves, each on its own ("<graph>.<node>"), as assigned by a controller.
 * Every new node reports LOADING at once, loads concurrently with the others, and reports READY (or
 * FAILED with the reason) as soon as its own runtime is loaded. A graph whose content hash changes
 * is reloaded while the previous version keeps serving, new calls moving to the new version once it is
 * READY; a dropped node still answers for a grace period (routes elsewhere reach gateways a moment after
 * the drop), then its runtime is closed when its calls are done.
 */
export class NodeRuntimeRegistry {
  private readonly slots = new Map<string, Slot>();
  private readonly sources = new Map<string, Source>();
  private readonly loading = new Set<Promise<void>>();
  private readonly retryFailedAfterMs: number;
  /** Dropped nodes still answering during their grace period, by key. */
  private readonly lingering = new Map<string, { readonly serving: ServedNode; readonly timer: NodeJS.Timeout }>();
  /** The latest assignment's reporter: replica numbers may change while a load runs. */
  private report: ReplicaStateReport = () => undefined;

  constructor(
    private readonly open: NodeRuntimeOpener,
    private readonly logger: EngineLogger,
    private readonly options: NodeRuntimeRegistryOptions = {},
  ) {
    this.retryFailedAfterMs = options.retryFailedAfterMs ?? 10_000;
  }

  /**
   * Applies an assignment: serves exactly `keys`. Reports LOADING for each new key before returning
   * and starts the loads it needs; READY and FAILED follow as each load settles. Keys it already has
   * get their current state reported again (the assignment may add replicas of a node loaded here,
   * which are READY at once) and load nothing, so an assignment that changes nothing here is cheap.
   */
  assign(graphs: readonly AssignedGraph[], keys: readonly string[], report: ReplicaStateReport): void {
    this.report = report;
    const refs = new Map(graphs.map((g) => [g.name, g]));
    const wanted = new Set(keys);
    let dropped = false;
    for (const [key, slot] of this.slots) {
      if (wanted.has(key)) continue;
      this.slots.delete(key);
      slot.generation++;
      if (slot.serving !== undefined) this.linger(key, slot.serving);
      dropped ||= slot.serving !== undefined;
    }
    const toLoad = new Map<string, Slot[]>();
    const now = performance.now();
    const reported = new Set<string>();
    const say = (slot: Slot): void => {
      reported.add(slot.key);
      this.report(slot.key, slot.state, slot.reason, slot.provider);
    };
    for (const key of wanted) {
      // A malformed key names no assigned graph: its slot fails below with that reason.
      const parsed = NodeKey.parse(key);
      const graph = parsed === undefined ? key : NodeKey.graphId(parsed.graph, parsed.version);
      const node = parsed?.node ?? '';
      const ref = refs.get(graph);
      let slot = this.slots.get(key);
      if (slot === undefined) {
        slot = { key, graph, node, state: 'LOADING', reason: '', provider: '', failedAt: 0, serving: undefined, file: '', hashes: [], generation: 0 };
        this.slots.set(key, slot);
        if (ref !== undefined && ref.problem === undefined) say(slot);
      }
      if (ref === undefined || ref.problem !== undefined) {
        if (this.fail(slot, ref?.problem ?? `the assignment names no graph file for "${key}"`)) reported.add(key);
        continue;
      }
      const unchanged = slot.file === ref.file && slot.hashes.includes(ref.contentHash);
      if (unchanged && !(slot.state === 'FAILED' && now - slot.failedAt >= this.retryFailedAfterMs)) continue;
      if (slot.serving === undefined && slot.state !== 'LOADING') {
        slot.state = 'LOADING';
        slot.reason = '';
        slot.provider = '';
        say(slot);
      }
      // A reload of a node that serves keeps its state: the previous version serves until the new one is READY.
      slot.file = ref.file;
      slot.hashes = [ref.contentHash];
      slot.generation++;
      toLoad.set(graph, [...(toLoad.get(graph) ?? []), slot]);
    }
    for (const key of wanted) {
      const slot = this.slots.get(key);
      if (slot !== undefined && !reported.has(key)) say(slot);
    }
    for (const name of this.sources.keys()) {
      if (![...this.slots.values()].some((s) => s.graph === name)) this.sources.delete(name);
    }
    for (const [graph, slots] of toLoad) {
      const loading = this.loadGraph(refs.get(graph) as AssignedGraph, slots).finally(() => this.loading.delete(loading));
      this.loading.add(loading);
    }
    if (dropped) this.options.onServingChange?.();
  }

  /** The assigned keys. */
  keys(): string[] {
    return [...this.slots.keys()];
  }

  has(key: string): boolean {
    return this.slots.has(key);
  }

  /** Every assigned key is READY (true with none assigned). */
  get ready(): boolean {
    return [...this.slots.values()].every((s) => s.state === 'READY');
  }

  /** The state of an assigned key (or one dropped within its grace period), undefined otherwise. */
  stateOf(key: string): { state: ReplicaState; reason: string; provider: string } | undefined {
    const slot = this.slots.get(key);
    if (slot === undefined) return this.lingering.has(key) ? { state: 'READY', reason: 'no longer assigned here; answering during its grace period', provider: '' } : undefined;
    return { state: slot.state, reason: slot.reason, provider: slot.provider };
  }

  /** The runtime calls to `key` go to now, with its graph; undefined while none is loaded. */
  serving(key: string): { loaded: LoadedNodeRuntime; spec: GraphSpec } | undefined {
    const served = this.servingOf(key);
    return served === undefined ? undefined : { loaded: served.loaded, spec: served.spec };
  }

  private servingOf(key: string): ServedNode | undefined {
    return this.slots.get(key)?.serving ?? this.lingering.get(key)?.serving;
  }

  /** Keeps a dropped node answering for the grace period, then retires it (closed after its calls). */
  private linger(key: string, serving: ServedNode): void {
    const previous = this.lingering.get(key);
    if (previous !== undefined) {
      clearTimeout(previous.timer);
      previous.serving.retire();
    }
    const timer = setTimeout(() => {
      if (this.lingering.get(key)?.serving !== serving) return;
      this.lingering.delete(key);
      serving.retire();
    }, this.options.dropGraceMs ?? 10_000);
    timer.unref();
    this.lingering.set(key, { serving, timer });
  }

  /** Every node with a runtime to call. */
  served(): { loaded: LoadedNodeRuntime; spec: GraphSpec }[] {
    return [...this.slots.values()].flatMap((s) => (s.serving === undefined ? [] : [{ loaded: s.serving.loaded, spec: s.serving.spec }]));
  }

  /**
   * Runs one call on the runtime serving `key`, counted so that a replaced or dropped version is
   * closed only after its calls are done. Undefined when no runtime serves the key.
   */
  call<T>(key: string, fn: (loaded: LoadedNodeRuntime) => Promise<T>): Promise<T> | undefined {
    return this.servingOf(key)?.call(fn);
  }

  /** Resolves once no load is in progress (including loads started meanwhile). */
  async idle(): Promise<void> {
    while (this.loading.size > 0) await Promise.allSettled([...this.loading]);
  }

  /** Stops serving everything; closes runtimes after their calls and loads still in progress as they end. */
  async close(): Promise<void> {
    for (const slot of this.slots.values()) {
      slot.generation++;
      slot.serving?.retire();
    }
    this.slots.clear();
    for (const { serving, timer } of this.lingering.values()) {
      clearTimeout(timer);
      serving.retire();
    }
    this.lingering.clear();
    this.sources.clear();
    await this.idle();
  }

  private async loadGraph(ref: AssignedGraph, slots: readonly Slot[]): Promise<void> {
    const started = performance.now();
    const generations = new Map(slots.map((s) => [s, s.generation]));
    const current = (slot: Slot): boolean => this.slots.get(slot.key) === slot && generations.get(slot) === slot.generation;
    const source = this.sourceFor(ref, new Set(slots.map((s) => s.node)));
    let graph: GraphNodeRuntimes;
    try {
      graph = await source.opened;
    } catch (err) {
      if (this.sources.get(ref.name) === source) this.sources.delete(ref.name);
      for (const slot of slots) if (current(slot)) this.fail(slot, messageOf(err));
      this.options.onLoaded?.({ graph: ref.name, state: 'failed', seconds: (performance.now() - started) / 1000, models: [] });
      return;
    }
    const id = NodeKey.graphId(graph.spec.metadata.name, graph.spec.spec.version);
    if (id !== ref.name) {
      const problem = `the assignment names graph "${ref.name}", but ${ref.file} is graph "${graph.spec.metadata.name}" version ${graph.spec.spec.version} ("${id}")`;
      for (const slot of slots) if (current(slot)) this.fail(slot, problem);
      return;
    }
    if (ref.contentHash !== '' && graph.contentHash !== ref.contentHash) {
      this.logger.warn(`graph "${ref.name}": ${ref.file} changed since it was assigned (sha256 ${graph.contentHash}, assigned ${ref.contentHash}); loading what is there now`);
    }
    const outcomes = await Promise.all(
      slots.map(async (slot) => {
        if (current(slot)) slot.hashes = [ref.contentHash, graph.contentHash];
        // The open started the loads of the nodes it was made for; each is taken once, later ones load anew.
        const begun = source.unclaimed.delete(slot.node) ? graph.nodes.get(slot.node) : undefined;
        try {
          const loaded = await (begun ?? graph.load(slot.node));
          if (!current(slot)) {
            await loaded.close();
            return undefined;
          }
          const previous = slot.serving;
          slot.serving = new ServedNode(loaded, graph.spec, this.logger);
          previous?.retire();
          slot.state = 'READY';
          slot.reason = loaded.providerNote ?? '';
          slot.provider = loaded.provider;
          this.logger.log(`node "${slot.key}" ready in ${Math.round(loaded.loadSeconds * 1000)} ms (${loaded.provider}${previous === undefined ? '' : `; replaces the previous version of ${ref.file}`})`);
          this.report(slot.key, 'READY', slot.reason, slot.provider);
          this.options.onServingChange?.();
          return loaded;
        } catch (err) {
          if (current(slot)) this.fail(slot, messageOf(err));
          return undefined;
        }
      }),
    );
    const loaded = outcomes.filter((o) => o !== undefined);
    this.options.onLoaded?.({
      graph: ref.name,
      state: loaded.length === slots.length ? 'ready' : 'failed',
      seconds: (performance.now() - started) / 1000,
      models: loaded.flatMap((o) => (o.model === undefined ? [] : [{ node: o.node, seconds: o.model.loadSeconds }])),
    });
  }

  /** The open version of the assigned file, or a new one that starts loading `nodes`. */
  private sourceFor(ref: AssignedGraph, nodes: ReadonlySet<string>): Source {
    const cached = this.sources.get(ref.name);
    if (cached !== undefined && cached.file === ref.file && cached.assignedHash === ref.contentHash) return cached;
    const source: Source = { file: ref.file, assignedHash: ref.contentHash, opened: this.open(ref, nodes), unclaimed: new Set(nodes) };
    source.opened.catch(() => undefined); // awaited by every load of this version
    this.sources.set(ref.name, source);
    return source;
  }

  /** Marks a slot FAILED; reports it (and returns true) unless it had failed for that reason already. */
  private fail(slot: Slot, reason: string): boolean {
    const changed = slot.state !== 'FAILED' || slot.reason !== reason;
    slot.state = 'FAILED';
    slot.reason = reason;
    slot.provider = '';
    slot.failedAt = performance.now();
    if (!changed) return false;
    this.logger.error(`node "${slot.key}" failed to load${slot.serving === undefined ? '' : ' (its previous version still answers calls routed here)'}: ${reason}`);
    this.report(slot.key, 'FAILED', reason, '');
    return true;
  }
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
