import { formatBytes, placeReplicas, type PendingReplica, type ReplicaDemand, type WorkerCapacity } from '@infergraph/placement';
import type { ClusterStatus, ReplanResult, ReplicaState, RoutingTable, WorkerAssignment, WorkerHello } from './cluster.types';

export interface ClusterStateOptions {
  /** A worker whose last heartbeat is older than this is removed by `expire`. */
  readonly heartbeatTimeoutMs: number;
}

interface LiveWorker {
  readonly hello: WorkerHello;
  lastHeartbeat: number;
}

interface DesiredGraph {
  readonly file: string;
  readonly demands: readonly ReplicaDemand[];
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
 */
export class ClusterState {
  private readonly workers = new Map<string, LiveWorker>();
  private readonly graphs = new Map<string, DesiredGraph>();
  /** By slot, `key#replica`. */
  private placed = new Map<string, PlacedReplica>();
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

  /** Adds a worker, or takes a repeated hello as a reconnect: its replicas go back to LOADING and it is sent its assignment again. */
  upsertWorker(hello: WorkerHello, now: number): void {
    if (hello.id === '') throw new Error('worker hello has an empty id');
    placeReplicas([toCapacity(hello)], []); // validates the capacity, with the planner's message
    this.workers.set(hello.id, { hello: { ...hello, capacity: { ...hello.capacity } }, lastHeartbeat: now });
    for (const p of this.placed.values()) if (p.worker === hello.id) Object.assign(p, { state: 'LOADING', reason: '', provider: '' });
    this.sent.delete(hello.id);
    this.refreshRoutes();
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

  /** Adds or replaces a desired graph; every demand key must be `"<name>.<node>"`. */
  setGraph(name: string, file: string, demands: readonly ReplicaDemand[]): void {
    if (name === '' || name.includes('.')) throw new Error(`graph name "${name}" must be non-empty and contain no "."`);
    const stray = demands.find((d) => !d.key.startsWith(`${name}.`));
    if (stray !== undefined) throw new Error(`graph "${name}" (${file}): demand key "${stray.key}" must start with "${name}."`);
    try {
      placeReplicas([], demands); // validates keys and amounts now, not at the next replan
    } catch (error) {
      throw new Error(`graph "${name}" (${file}): ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
    this.graphs.set(name, { file, demands: demands.map((d) => ({ ...d })) });
  }

  /** Changes how many replicas of one node are wanted (the autoscaler); takes effect at the next replan. */
  setReplicas(key: string, replicas: number): boolean {
    for (const [name, g] of this.graphs) {
      const index = g.demands.findIndex((d) => d.key === key);
      if (index < 0) continue;
      const current = g.demands[index] as ReplicaDemand;
      if (current.replicas === replicas) return false;
      this.graphs.set(name, { file: g.file, demands: g.demands.map((d, i) => (i === index ? { ...d, replicas } : d)) });
      return true;
    }
    return false;
  }

  /** Replicas wanted of a node right now (undefined for an unknown key). */
  wantedReplicas(key: string): number | undefined {
    for (const g of this.graphs.values()) {
      const d = g.demands.find((x) => x.key === key);
      if (d !== undefined) return d.replicas;
    }
    return undefined;
  }

  /** Removes a desired graph and forgets its replicas; false if it was not known. */
  removeGraph(name: string): boolean {
    if (!this.graphs.delete(name)) return false;
    const ofGraph = (key: string): boolean => key.startsWith(`${name}.`);
    this.placed = new Map([...this.placed].filter(([, p]) => !ofGraph(p.key)));
    this.pending = this.pending.filter((p) => !ofGraph(p.key));
    this.refreshRoutes();
    return true;
  }

  /** Records a worker's report on one of its replicas; a report on a replica it is not assigned is stale and ignored. */
  reportReplica(
    workerId: string,
    key: string,
    replica: number,
    state: ReplicaState,
    reason: string,
    provider: string,
  ): { routingChanged: boolean } {
    const placed = this.placed.get(slot(key, replica));
    if (placed?.worker !== workerId) return { routingChanged: false };
    Object.assign(placed, { state, reason, provider });
    this.refreshRoutes();
    return { routingChanged: this.announceRouting() };
  }

  /** Places every wanted replica, keeping running ones where they are; new assignments start LOADING. */
  replan(): ReplanResult {
    const workers = [...this.workers.values()].map((w) => toCapacity(w.hello));
    const demands = [...this.graphs.values()].flatMap((g) => g.demands);
    const plan = placeReplicas(workers, demands, [...this.placed.values()]);
    const next = new Map<string, PlacedReplica>();
    for (const { key, replica, worker } of plan.assignments) {
      const previous = this.placed.get(slot(key, replica));
      next.set(slot(key, replica), previous?.worker === worker ? previous : { key, replica, worker, state: 'LOADING', reason: '', provider: '' });
    }
    this.placed = next;
    this.pending = plan.pending;
    const changedWorkers: string[] = [];
    for (const id of [...this.workers.keys()].sort(compareText)) {
      const assignment = JSON.stringify(this.assignmentFor(id));
      if (this.sent.get(id) === assignment) continue;
      this.sent.set(id, assignment);
      changedWorkers.push(id);
    }
    this.refreshRoutes();
    return { changedWorkers, routingChanged: this.announceRouting() };
  }

  /** Everything a worker should run now; empty for an unknown worker. */
  assignmentFor(workerId: string): WorkerAssignment {
    const replicas = this.placedOn(workerId).map(({ key, replica }) => ({ key, replica }));
    const graphs = [...this.graphs]
      .filter(([name]) => replicas.some((r) => r.key.startsWith(`${name}.`)))
      .map(([name, g]) => ({ name, file: g.file }))
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
    const demandOf = new Map([...this.graphs.values()].flatMap((g) => g.demands.map((d) => [d.key, d] as const)));
    const workers = [...this.workers.values()]
      .sort((a, b) => compareText(a.hello.id, b.hello.id))
      .map(({ hello, lastHeartbeat }) => {
        const held = this.placedOn(hello.id);
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
        };
      });
    const graphs = [...this.graphs]
      .sort(([a], [b]) => compareText(a, b))
      .map(([name, g]) => ({
        name,
        file: g.file,
        nodes: g.demands.map((d) => ({
          key: d.key,
          wanted: d.replicas,
          replicas: this.sortedPlaced()
            .filter((p) => p.key === d.key)
            .map(({ replica, worker, state, reason, provider }) => ({ replica, worker, state, reason, provider })),
        })),
      }));
    return { workers, graphs, pending: [...this.pending], removedWorkers: [...this.removals], routing: this.routing };
  }

  private placedOn(workerId: string): PlacedReplica[] {
    return this.sortedPlaced().filter((p) => p.worker === workerId);
  }

  private sortedPlaced(): PlacedReplica[] {
    return [...this.placed.values()].sort((a, b) => compareText(a.key, b.key) || a.replica - b.replica);
  }

  private refreshRoutes(): void {
    const byKey = new Map<string, Set<string>>();
    for (const p of this.placed.values()) {
      const address = this.workers.get(p.worker)?.hello.address;
      if (p.state !== 'READY' || address === undefined) continue;
      byKey.set(p.key, (byKey.get(p.key) ?? new Set()).add(address));
    }
    const routes = [...byKey]
      .map(([key, addresses]) => ({ key, addresses: [...addresses].sort(compareText) }))
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
