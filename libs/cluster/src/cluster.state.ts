import { formatBytes, placeReplicas, type PendingReplica, type ReplicaDemand, type WorkerCapacity } from '@infergraph/placement';
import { NodeKey } from '@infergraph/spec';
import type { ClusterStatus, HeldReplica, ReplanResult, ReplicaState, ReportResult, RoutingTable, WorkerAssignment, WorkerHello } from './cluster.types';

export interface ClusterStateOptions {
  /** A worker whose last heartbeat is older than this is removed by `expire`. */
  readonly heartbeatTimeoutMs: number;
  /**
   * Replicas of a node whose graph does not say (`declaredReplicas: false`), capped by the eligible workers
   * of its pool so the default never doubles a node up on one worker; default 1.
   */
  readonly defaultReplicas?: number;
}

/** A demand as given to `setGraph`: `declaredReplicas: false` lets the cluster default decide the count. */
export type GraphDemand = ReplicaDemand & { readonly declaredReplicas?: boolean };

interface LiveWorker {
  readonly hello: WorkerHello;
  lastHeartbeat: number;
  draining: boolean;
}

interface DesiredGraph {
  readonly file: string;
  readonly demands: readonly GraphDemand[];
  /** sha256 of the graph file: replicas a worker loaded from other content are not adopted. */
  readonly contentHash: string;
}

interface PlacedReplica {
  readonly key: string;
  readonly replica: number;
  readonly worker: string;
  state: ReplicaState;
  reason: string;
  provider: string;
}

/** How many worker removals `status` remembers. */
const REMOVALS_KEPT = 20;

/**
 * The controller's view of the cluster: desired graphs, live workers, where each replica runs and how it is
 * doing. Pure and deterministic: time comes in as arguments, and every list it returns is sorted.
 *
 * Joins, graph changes and removals take effect on placement at the next `replan`; removing a worker or a
 * graph drops its replicas (and their routes) at once.
 *
 * Make-before-break: when a replan moves a READY replica (a draining worker, a rebalance), its old copy is
 * kept as "leaving": still assigned to its worker and still routed until the new copy reports READY.
 * A hello is the truth about a worker: the replicas it lists are adopted (a restarted controller rebuilds
 * its placement from them), and replicas placed on it but not listed go back to LOADING.
 */
export class ClusterState {
  private readonly workers = new Map<string, LiveWorker>();
  private readonly graphs = new Map<string, DesiredGraph>();
  /** By slot, `key#replica`. */
  private placed = new Map<string, PlacedReplica>();
  /** Old copies of moved replicas, by slot, serving until the slot's new copy is READY. */
  private leaving = new Map<string, PlacedReplica>();
  private pending: readonly PendingReplica[] = [];
  /** The assignment each worker was last told about, as JSON; absent until its first one. */
  private readonly sent = new Map<string, string>();
  private readonly removals: { id: string; reason: string }[] = [];
  private routing: RoutingTable = { version: 0, routes: [] };
  private routingContent = '[]';
  private announcedVersion = 0;

  constructor(private readonly options: ClusterStateOptions) {
    if (!Number.isFinite(options.heartbeatTimeoutMs) || options.heartbeatTimeoutMs <= 0) {
      throw new Error(`heartbeatTimeoutMs must be a positive number of milliseconds, got ${options.heartbeatTimeoutMs}`);
    }
  }

  /**
   * Adds a worker, or takes a repeated hello as a reconnect. The replicas it says it holds are adopted
   * (see the class comment); it is sent its assignment again at the next replan.
   */
  upsertWorker(hello: WorkerHello, now: number): void {
    if (hello.id === '') throw new Error('worker hello has an empty id');
    placeReplicas([toCapacity(hello)], []); // validates the capacity, with the planner's message
    this.workers.set(hello.id, { hello: { ...hello, capacity: { ...hello.capacity } }, lastHeartbeat: now, draining: hello.draining === true });
    const held = new Map((hello.held ?? []).map((h) => [slot(h.key, h.replica), h]));
    for (const [s, p] of [...this.placed, ...this.leaving]) {
      if (p.worker !== hello.id) continue;
      const h = held.get(s);
      Object.assign(p, h === undefined ? { state: 'LOADING', reason: '', provider: '' } : { state: h.state, reason: h.reason, provider: h.provider });
      held.delete(s);
    }
    for (const h of held.values()) this.adopt(hello, h);
    this.sent.delete(hello.id);
    this.refreshRoutes();
  }

  /** Marks a worker as draining: the next replan moves its replicas away (make-before-break). */
  drainWorker(id: string): boolean {
    const worker = this.workers.get(id);
    if (worker === undefined) return false;
    worker.draining = true;
    return true;
  }

  /** Draining workers that hold nothing anymore (every replica replaced or no longer wanted), sorted. */
  drainedWorkers(): string[] {
    const holding = new Set([...this.placed.values(), ...this.leaving.values()].map((p) => p.worker));
    return [...this.workers]
      .filter(([id, w]) => w.draining && !holding.has(id))
      .map(([id]) => id)
      .sort(compareText);
  }

  /** Records a heartbeat; false for a worker that is not (or no longer) known, which must say hello again. */
  heartbeat(id: string, now: number): boolean {
    const worker = this.workers.get(id);
    if (worker === undefined) return false;
    worker.lastHeartbeat = Math.max(worker.lastHeartbeat, now);
    return true;
  }

  /** Removes a worker and forgets its replicas; false if it was not known. */
  removeWorker(id: string, reason: string): boolean {
    if (!this.workers.delete(id)) return false;
    this.sent.delete(id);
    this.placed = new Map([...this.placed].filter(([, p]) => p.worker !== id));
    this.leaving = new Map([...this.leaving].filter(([, p]) => p.worker !== id));
    this.removals.push({ id, reason });
    if (this.removals.length > REMOVALS_KEPT) this.removals.shift();
    this.refreshRoutes();
    return true;
  }

  /** Removes the workers whose last heartbeat is older than the timeout; returns their ids, sorted. */
  expire(now: number): string[] {
    const timeout = this.options.heartbeatTimeoutMs;
    const expired = [...this.workers]
      .filter(([, w]) => now - w.lastHeartbeat > timeout)
      .map(([id]) => id)
      .sort(compareText);
    for (const id of expired) {
      const age = now - (this.workers.get(id)?.lastHeartbeat ?? now);
      this.removeWorker(id, `no heartbeat for ${age}ms (timeout ${timeout}ms)`);
    }
    return expired;
  }

  /**
   * Adds or replaces a desired graph version under its graph id (`NodeKey.graphId`: `"<name>"` or
   * `"<name>@<version>"`); every demand key must be `"<id>.<node>"`. Versions of one graph are separate graphs here.
   */
  setGraph(name: string, file: string, demands: readonly GraphDemand[], contentHash = ''): void {
    if (NodeKey.parseGraphId(name) === undefined) throw new Error(`graph id "${name}" must be a graph name, optionally followed by "@<version>" (not "@1"), with no "." in the name`);
    const stray = demands.find((d) => NodeKey.graphIdOf(d.key) !== name);
    if (stray !== undefined) throw new Error(`graph "${name}" (${file}): demand key "${stray.key}" must start with "${name}."`);
    try {
      placeReplicas([], demands); // validates keys and amounts now, not at the next replan
    } catch (error) {
      throw new Error(`graph "${name}" (${file}): ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
    this.graphs.set(name, { file, demands: demands.map((d) => ({ ...d })), contentHash });
  }

  /** Changes how many replicas of one node are wanted (the autoscaler); takes effect at the next replan. */
  setReplicas(key: string, replicas: number): boolean {
    for (const [name, g] of this.graphs) {
      const index = g.demands.findIndex((d) => d.key === key);
      if (index < 0) continue;
      const current = g.demands[index] as ReplicaDemand;
      if (current.replicas === replicas) return false;
      this.graphs.set(name, { ...g, demands: g.demands.map((d, i) => (i === index ? { ...d, replicas, declaredReplicas: true } : d)) });
      return true;
    }
    return false;
  }

  /** Replicas wanted of a node right now (undefined for an unknown key). */
  wantedReplicas(key: string): number | undefined {
    return this.effectiveDemands().find((d) => d.key === key)?.replicas;
  }

  /** Every desired graph's demands with the cluster default applied to undeclared replica counts, grouped by graph. */
  private effectiveDemands(): ReplicaDemand[] {
    const defaultReplicas = this.options.defaultReplicas ?? 1;
    const eligible = (d: ReplicaDemand): number =>
      [...this.workers.values()].filter((w) => !w.draining && w.hello.pool === d.pool && (d.gpuMemory === 0 || w.hello.capacity.gpuCount > 0)).length;
    return [...this.graphs].flatMap(([name, g]) =>
      g.demands.map(({ declaredReplicas, ...d }) => ({
        ...d,
        group: name,
        replicas: declaredReplicas === false ? Math.max(1, Math.min(defaultReplicas, eligible(d))) : d.replicas,
      })),
    );
  }

  /** Removes a desired graph and forgets its replicas; false if it was not known. */
  removeGraph(name: string): boolean {
    if (!this.graphs.delete(name)) return false;
    const ofGraph = (key: string): boolean => NodeKey.graphIdOf(key) === name;
    this.placed = new Map([...this.placed].filter(([, p]) => !ofGraph(p.key)));
    this.leaving = new Map([...this.leaving].filter(([, p]) => !ofGraph(p.key)));
    this.pending = this.pending.filter((p) => !ofGraph(p.key));
    this.refreshRoutes();
    return true;
  }

  /**
   * Records a worker's report on one of its replicas; a report on a replica it is not assigned is stale and
   * ignored. A replacement turning READY releases the old copy (its worker's assignment changes).
   */
  reportReplica(workerId: string, key: string, replica: number, state: ReplicaState, reason: string, provider: string): ReportResult {
    const s = slot(key, replica);
    const placed = this.placed.get(s);
    const target = placed?.worker === workerId ? placed : this.leaving.get(s)?.worker === workerId ? this.leaving.get(s) : undefined;
    if (target === undefined) return { routingChanged: false, changedWorkers: [] };
    Object.assign(target, { state, reason, provider });
    this.settleLeaving();
    this.refreshRoutes();
    return { routingChanged: this.announceRouting(), changedWorkers: this.changedAssignments() };
  }

  /**
   * Places every wanted replica, keeping running ones where they are (up to `maxMoves` of them move to even
   * out the workers); new assignments start LOADING and a moved READY replica stays as "leaving" until its
   * replacement is READY. Draining workers get nothing.
   */
  replan(options: { maxMoves?: number } = {}): ReplanResult {
    const workers = [...this.workers.values()].filter((w) => !w.draining).map((w) => toCapacity(w.hello));
    const demands = this.effectiveDemands();
    const plan = placeReplicas(workers, demands, [...this.placed.values()], { maxMoves: options.maxMoves ?? 0 });
    const next = new Map<string, PlacedReplica>();
    for (const { key, replica, worker } of plan.assignments) {
      const s = slot(key, replica);
      const previous = this.placed.get(s);
      if (previous?.worker === worker) {
        next.set(s, previous);
        continue;
      }
      next.set(s, { key, replica, worker, state: 'LOADING', reason: '', provider: '' });
      if (previous !== undefined) this.keepLeaving(s, previous);
    }
    // A wanted replica that lost its place (its worker drains and no other can take it) keeps serving.
    const wanted = new Set(demands.flatMap((d) => Array.from({ length: d.replicas }, (_, r) => slot(d.key, r))));
    for (const [s, previous] of this.placed) if (!next.has(s) && wanted.has(s)) this.keepLeaving(s, previous);
    for (const s of [...this.leaving.keys()]) if (!wanted.has(s)) this.leaving.delete(s);
    this.placed = next;
    this.pending = plan.pending;
    this.settleLeaving();
    this.refreshRoutes();
    return { changedWorkers: this.changedAssignments(), routingChanged: this.announceRouting() };
  }

  /** Everything a worker should run now (leaving copies included); empty for an unknown worker. */
  assignmentFor(workerId: string): WorkerAssignment {
    const replicas = this.placedOn(workerId).map(({ key, replica }) => ({ key, replica }));
    // Each key parsed once (every replica report recomputes every worker's assignment).
    const held = new Set(replicas.map((r) => NodeKey.graphIdOf(r.key)));
    const graphs = [...this.graphs]
      .filter(([name]) => held.has(name))
      .map(([name, g]) => ({ name, file: g.file, contentHash: g.contentHash }))
      .sort((a, b) => compareText(a.name, b.name));
    return { graphs, replicas };
  }

  /** Hellos of the live workers (what each declared: pool, address, capacity). */
  liveWorkers(): WorkerHello[] {
    return [...this.workers.values()].map((w) => w.hello);
  }

  routes(): RoutingTable {
    return this.routing;
  }

  status(now: number): ClusterStatus {
    const effective = this.effectiveDemands();
    const demandOf = new Map(effective.map((d) => [d.key, d] as const));
    const workers = [...this.workers.values()]
      .sort((a, b) => compareText(a.hello.id, b.hello.id))
      .map(({ hello, lastHeartbeat }) => {
        const held = this.placedOn(hello.id).filter((p) => this.placed.get(slot(p.key, p.replica)) === p);
        const used = { milliCpu: 0, memory: 0, gpuMemory: 0 };
        for (const p of held) {
          const d = demandOf.get(p.key);
          if (d === undefined) continue;
          used.milliCpu += Math.round(d.cpu * 1000);
          used.memory += d.memory;
          used.gpuMemory += d.gpuMemory;
        }
        const { cpu, memory, gpuCount, gpuMemory } = hello.capacity;
        return {
          id: hello.id,
          pool: hello.pool,
          address: hello.address,
          capacity: { cpu, memory: formatBytes(memory), gpuCount, gpuMemory: formatBytes(gpuMemory) },
          free: {
            cpu: (Math.round(cpu * 1000) - used.milliCpu) / 1000,
            memory: formatBytes(memory - used.memory, 'down'),
            gpuMemory: formatBytes(gpuMemory - used.gpuMemory, 'down'),
          },
          lastHeartbeatAgeMs: now - lastHeartbeat,
          replicas: held.length,
          draining: this.workers.get(hello.id)?.draining === true,
        };
      });
    const graphs = [...this.graphs]
      .sort(([a], [b]) => compareText(a, b))
      .map(([id, g]) => ({
        ...graphNameOf(id),
        file: g.file,
        nodes: g.demands.map((d) => ({
          key: d.key,
          wanted: demandOf.get(d.key)?.replicas ?? d.replicas,
          replicas: this.sortedPlaced()
            .filter((p) => p.key === d.key)
            .map((p) => {
              const { replica, worker, state, reason, provider } = p;
              return { replica, worker, state, reason, provider, ...(this.leaving.get(slot(p.key, replica)) === p ? { leaving: true as const } : {}) };
            }),
        })),
      }));
    return { workers, graphs, pending: [...this.pending], removedWorkers: [...this.removals], routing: this.routing };
  }

  private placedOn(workerId: string): PlacedReplica[] {
    return this.sortedPlaced().filter((p) => p.worker === workerId);
  }

  /** Target copies and leaving copies, by key, replica, then worker. */
  private sortedPlaced(): PlacedReplica[] {
    return [...this.placed.values(), ...this.leaving.values()].sort(
      (a, b) => compareText(a.key, b.key) || a.replica - b.replica || compareText(a.worker, b.worker),
    );
  }

  /** Keeps the old copy of a moved replica serving, if it serves and nothing older already does. */
  private keepLeaving(s: string, previous: PlacedReplica): void {
    if (previous.state !== 'READY' || !this.workers.has(previous.worker) || this.leaving.has(s)) return;
    this.leaving.set(s, previous);
  }

  /** Drops leaving copies whose replacement is READY, or that sit where the slot now is again. */
  private settleLeaving(): void {
    for (const [s, old] of this.leaving) {
      const target = this.placed.get(s);
      if (target?.state === 'READY' || target?.worker === old.worker || !this.workers.has(old.worker)) this.leaving.delete(s);
    }
  }

  /** Takes on a replica a worker says it holds: its slot if free, else a free replica index of its node. */
  private adopt(hello: WorkerHello, h: HeldReplica): void {
    const name = NodeKey.graphIdOf(h.key) ?? '';
    const graph = this.graphs.get(name);
    const demand = this.effectiveDemands().find((d) => d.key === h.key);
    if (graph === undefined || demand === undefined || hello.loadedGraphs?.[name] !== graph.contentHash) return;
    const taken = (r: number): boolean => this.placed.has(slot(h.key, r));
    const index = h.replica < demand.replicas && !taken(h.replica) ? h.replica : Array.from({ length: demand.replicas }, (_, r) => r).find((r) => !taken(r));
    if (index === undefined) return; // more copies than wanted: the next assignment drops it
    this.placed.set(slot(h.key, index), { key: h.key, replica: index, worker: hello.id, state: h.state, reason: h.reason, provider: h.provider });
  }

  /** Workers whose assignment differs from the one they were last sent, sorted; marks them as sent. */
  private changedAssignments(): string[] {
    const changed: string[] = [];
    for (const id of [...this.workers.keys()].sort(compareText)) {
      const assignment = JSON.stringify(this.assignmentFor(id));
      if (this.sent.get(id) === assignment) continue;
      this.sent.set(id, assignment);
      changed.push(id);
    }
    return changed;
  }

  private refreshRoutes(): void {
    const byKey = new Map<string, string[]>();
    for (const p of [...this.placed.values(), ...this.leaving.values()]) {
      const address = this.workers.get(p.worker)?.hello.address;
      if (p.state !== 'READY' || address === undefined) continue;
      const addresses = byKey.get(p.key);
      if (addresses === undefined) byKey.set(p.key, [address]);
      else addresses.push(address);
    }
    const routes = [...byKey]
      .map(([key, addresses]) => ({ key, addresses: addresses.sort(compareText) }))
      .sort((a, b) => compareText(a.key, b.key));
    const content = JSON.stringify(routes);
    if (content === this.routingContent) return;
    this.routingContent = content;
    this.routing = { version: this.routing.version + 1, routes };
  }

  /** True once per change of the table, so the controller publishes each change exactly once. */
  private announceRouting(): boolean {
    const changed = this.routing.version !== this.announcedVersion;
    this.announcedVersion = this.routing.version;
    return changed;
  }
}

/** A graph id as `/v1/cluster` shows it: the graph's name, and its version when the id names one. */
function graphNameOf(id: string): { name: string; version?: string } {
  const parsed = NodeKey.parseGraphId(id);
  return parsed?.version === undefined ? { name: parsed?.graph ?? id } : { name: parsed.graph, version: parsed.version };
}

function toCapacity(hello: WorkerHello): WorkerCapacity {
  return { id: hello.id, pool: hello.pool, ...hello.capacity };
}

function slot(key: string, replica: number): string {
  return `${key}#${replica}`;
}

/** Code-unit order, independent of locale. */
function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
