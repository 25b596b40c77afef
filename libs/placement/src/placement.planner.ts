import type { CurrentAssignment, FreeCapacity, PendingReplica, PlacementPlan, ReplicaAssignment, ReplicaDemand, WorkerCapacity } from './placement.types';
import { formatBytes, formatCpu, type Rounding } from './quantity.parser';

type Dimension = 'cpu' | 'memory' | 'gpuMemory';
/** cpu in millicores, so that 0.1 + 0.2 cores fit exactly on a 0.3-core worker. */
type Amounts = Record<Dimension, number>;

/** Scarcest first: the order in which a pending reason looks for the binding constraint. */
const BINDING_ORDER: readonly Dimension[] = ['gpuMemory', 'memory', 'cpu'];
const READING_ORDER: readonly Dimension[] = ['cpu', 'memory', 'gpuMemory'];

interface WorkerState {
  readonly id: string;
  readonly pool: string;
  readonly hasGpu: boolean;
  readonly capacity: Readonly<Amounts>;
  readonly free: Amounts;
  /** Replicas held here, per demand key. */
  readonly replicasOf: Map<string, number>;
}

interface Demand {
  readonly key: string;
  readonly pool: string;
  readonly need: Readonly<Amounts>;
  readonly replicas: number;
  /** The worker of each replica index, once placed. */
  readonly slots: (WorkerState | undefined)[];
}

/**
 * Plans which worker runs each replica. Deterministic: the same inputs, in any order, give the same plan.
 *
 * 1. Valid `current` assignments are kept (worker still there, same pool, still fits; a replica doubled up
 *    on a worker moves if a worker without that node could take it), so re-running with
 *    the previous plan's assignments changes nothing and a new demand never displaces a running replica.
 * 2. The rest are placed replica index by replica index (every node gets its first replica before any node
 *    gets its second), larger demands first (gpuMemory, memory, cpu, then key) within an index.
 * 3. A replica goes to the pool worker holding the fewest replicas of its node (spreading), then the one left
 *    with the most free capacity (the smallest remaining fraction over the dimensions the demand uses),
 *    then the smallest worker id.
 * 4. What fits nowhere is pending, with a reason computed against the final free capacity.
 */
export function placeReplicas(
  workers: readonly WorkerCapacity[],
  demands: readonly ReplicaDemand[],
  current: readonly CurrentAssignment[] = [],
): PlacementPlan {
  const states = toWorkerStates(workers);
  const ordered = toDemands(demands).sort(largerFirst);
  keepCurrent(ordered, new Map(states.map((w) => [w.id, w])), current);
  const unplaced: [Demand, number][] = [];
  forEachReplica(ordered, (demand, replica) => {
    if (demand.slots[replica] !== undefined) return;
    const worker = chooseWorker(demand, states);
    if (worker === undefined) unplaced.push([demand, replica]);
    else assign(demand, replica, worker);
  });

  const byKey = [...ordered].sort((a, b) => compareText(a.key, b.key));
  const assignments: ReplicaAssignment[] = byKey.flatMap((d) =>
    d.slots.flatMap((worker, replica) => (worker === undefined ? [] : [{ key: d.key, replica, worker: worker.id }])),
  );
  const reasons = new Map<Demand, string>();
  const pending: PendingReplica[] = unplaced
    .map(([demand, replica]) => {
      const reason = reasons.get(demand) ?? explainPending(demand, states);
      reasons.set(demand, reason);
      return { key: demand.key, replica, reason };
    })
    .sort((a, b) => compareText(a.key, b.key) || a.replica - b.replica);
  const free: Record<string, FreeCapacity> = {};
  for (const w of states) free[w.id] = { cpu: w.free.cpu / 1000, memory: w.free.memory, gpuMemory: w.free.gpuMemory };
  return { assignments, pending, free };
}

function keepCurrent(demands: readonly Demand[], workers: ReadonlyMap<string, WorkerState>, current: readonly CurrentAssignment[]): void {
  const previous = new Map<string, Map<number, string[]>>();
  for (const { key, replica, worker } of current) {
    const byReplica = previous.get(key) ?? new Map<number, string[]>();
    previous.set(key, byReplica);
    byReplica.set(replica, [...(byReplica.get(replica) ?? []), worker]);
  }
  forEachReplica(demands, (demand, replica) => {
    // A replica listed twice keeps the first still-valid worker by id.
    const ids = [...(previous.get(demand.key)?.get(replica) ?? [])].sort(compareText);
    const worker = ids.map((id) => workers.get(id)).find((w) => w !== undefined && qualifies(w, demand) && fits(w, demand));
    if (worker === undefined) return;
    // A doubled-up replica moves when a worker without this node could take it (e.g. one just joined).
    const doubled = (worker.replicasOf.get(demand.key) ?? 0) > 0;
    const spreadable =
      doubled && [...workers.values()].some((w) => w !== worker && (w.replicasOf.get(demand.key) ?? 0) === 0 && qualifies(w, demand) && fits(w, demand));
    if (!spreadable) assign(demand, replica, worker);
  });
}

function chooseWorker(demand: Demand, workers: readonly WorkerState[]): WorkerState | undefined {
  let best: { worker: WorkerState; held: number; score: number } | undefined;
  // Workers are sorted by id, so on a full tie the smaller id, seen first, stays.
  for (const worker of workers) {
    if (!qualifies(worker, demand) || !fits(worker, demand)) continue;
    const held = worker.replicasOf.get(demand.key) ?? 0;
    const score = balanceAfter(worker, demand.need);
    if (best === undefined || held < best.held || (held === best.held && score > best.score)) best = { worker, held, score };
  }
  return best?.worker;
}

/** The smallest fraction of capacity left after placing `need`, over the dimensions it uses. */
function balanceAfter(worker: WorkerState, need: Readonly<Amounts>): number {
  const used = READING_ORDER.filter((dim) => need[dim] > 0);
  const dims = used.length > 0 ? used : READING_ORDER.filter((dim) => worker.capacity[dim] > 0);
  return Math.min(1, ...dims.map((dim) => (worker.free[dim] - need[dim]) / worker.capacity[dim]));
}

function qualifies(worker: WorkerState, demand: Demand): boolean {
  return worker.pool === demand.pool && (demand.need.gpuMemory === 0 || worker.hasGpu);
}

function fits(worker: WorkerState, demand: Demand): boolean {
  return READING_ORDER.every((dim) => worker.free[dim] >= demand.need[dim]);
}

function assign(demand: Demand, replica: number, worker: WorkerState): void {
  demand.slots[replica] = worker;
  for (const dim of READING_ORDER) worker.free[dim] -= demand.need[dim];
  worker.replicasOf.set(demand.key, (worker.replicasOf.get(demand.key) ?? 0) + 1);
}

function explainPending(demand: Demand, workers: readonly WorkerState[]): string {
  const inPool = workers.filter((w) => w.pool === demand.pool);
  if (inPool.length === 0) {
    const pools = [...new Set(workers.map((w) => w.pool))].sort(compareText);
    const known = pools.length === 0 ? 'there are no workers' : `workers are in pools ${pools.map((p) => `"${p}"`).join(', ')}`;
    return `no worker in pool "${demand.pool}" (${known})`;
  }
  const eligible = inPool.filter((w) => qualifies(w, demand));
  const [first] = eligible;
  if (first === undefined) return `needs gpuMemory ${amount('gpuMemory', demand.need.gpuMemory, 'up')}, but no worker in pool "${demand.pool}" has a GPU`;
  for (const dim of BINDING_ORDER) {
    if (demand.need[dim] === 0) continue;
    const largest = eligible.reduce((best, w) => (w.free[dim] > best.free[dim] ? w : best), first);
    if (largest.free[dim] < demand.need[dim]) {
      return `needs ${dim} ${amount(dim, demand.need[dim], 'up')}, largest free is ${amount(dim, largest.free[dim], 'down')} on worker ${largest.id}`;
    }
  }
  // Each dimension fits on some worker, but no worker has all of them at once.
  const used = READING_ORDER.filter((dim) => demand.need[dim] > 0);
  const coverage = (w: WorkerState): number => Math.min(...used.map((dim) => w.free[dim] / demand.need[dim]));
  const closest = eligible.reduce((best, w) => (coverage(w) > coverage(best) ? w : best), first);
  const list = (of: Readonly<Amounts>, rounding: Rounding): string => used.map((dim) => `${dim} ${amount(dim, of[dim], rounding)}`).join(', ');
  return (
    `needs ${list(demand.need, 'up')} on one worker, but no worker in pool "${demand.pool}" has all of it free; ` +
    `closest is ${closest.id} with ${list(closest.free, 'down')}`
  );
}

function amount(dim: Dimension, value: number, rounding: Rounding): string {
  return dim === 'cpu' ? formatCpu(value / 1000) : formatBytes(value, rounding);
}

/** Replica index by replica index, in demand order within an index. */
function forEachReplica(demands: readonly Demand[], visit: (demand: Demand, replica: number) => void): void {
  const rounds = Math.max(0, ...demands.map((d) => d.replicas));
  for (let replica = 0; replica < rounds; replica += 1) {
    for (const demand of demands) if (replica < demand.replicas) visit(demand, replica);
  }
}

function largerFirst(a: Demand, b: Demand): number {
  for (const dim of BINDING_ORDER) if (a.need[dim] !== b.need[dim]) return b.need[dim] - a.need[dim];
  return compareText(a.key, b.key);
}

/** Code-unit order, independent of locale. */
function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function toWorkerStates(workers: readonly WorkerCapacity[]): WorkerState[] {
  const seen = new Set<string>();
  return workers
    .map((w) => {
      if (seen.has(w.id)) throw new Error(`duplicate worker id "${w.id}"`);
      seen.add(w.id);
      const capacity = toAmounts(w, `worker "${w.id}"`);
      checkAmount(w.gpuCount, `worker "${w.id}" gpuCount`);
      return { id: w.id, pool: w.pool, hasGpu: w.gpuCount > 0, capacity, free: { ...capacity }, replicasOf: new Map<string, number>() };
    })
    .sort((a, b) => compareText(a.id, b.id));
}

function toDemands(demands: readonly ReplicaDemand[]): Demand[] {
  const seen = new Set<string>();
  return demands.map((d) => {
    if (seen.has(d.key)) throw new Error(`duplicate demand key "${d.key}"`);
    seen.add(d.key);
    if (!Number.isSafeInteger(d.replicas) || d.replicas < 0) {
      throw new Error(`demand "${d.key}" replicas must be a whole number >= 0, got ${d.replicas}`);
    }
    return { key: d.key, pool: d.pool, need: toAmounts(d, `demand "${d.key}"`), replicas: d.replicas, slots: [] };
  });
}

function toAmounts(resources: Readonly<Amounts>, owner: string): Amounts {
  for (const dim of READING_ORDER) checkAmount(resources[dim], `${owner} ${dim}`);
  return { cpu: Math.round(resources.cpu * 1000), memory: resources.memory, gpuMemory: resources.gpuMemory };
}

function checkAmount(value: number, what: string): void {
  if (!Number.isFinite(value) || value < 0) throw new Error(`${what} must be a finite number >= 0, got ${value}`);
}
