import type { ReplicaDemand, WorkerCapacity } from './placement.types';

// The planner's working model: mutable per call, never exported from the library.

export type Dimension = 'cpu' | 'memory' | 'gpuMemory';
/** cpu in millicores, so that 0.1 + 0.2 cores fit exactly on a 0.3-core worker. */
export type Amounts = Record<Dimension, number>;

/** Scarcest first: the order in which larger demands are found and a pending reason looks for the binding constraint. */
export const BINDING_ORDER: readonly Dimension[] = ['gpuMemory', 'memory', 'cpu'];
export const READING_ORDER: readonly Dimension[] = ['cpu', 'memory', 'gpuMemory'];

export interface WorkerState {
  readonly id: string;
  readonly pool: string;
  readonly hasGpu: boolean;
  readonly capacity: Readonly<Amounts>;
  free: Amounts;
  /** Replicas held here, per demand key. */
  replicasOf: Map<string, number>;
  /** Replicas held here in all. */
  total: number;
}

export interface Demand {
  readonly key: string;
  readonly pool: string;
  readonly need: Readonly<Amounts>;
  readonly replicas: number;
  readonly group: string | undefined;
  /** The worker of each replica index, once placed. */
  readonly slots: (WorkerState | undefined)[];
}

export function qualifies(worker: WorkerState, demand: Demand): boolean {
  return worker.pool === demand.pool && (demand.need.gpuMemory === 0 || worker.hasGpu);
}

export function fits(worker: WorkerState, demand: Demand): boolean {
  return READING_ORDER.every((dim) => worker.free[dim] >= demand.need[dim]);
}

export function heldBy(worker: WorkerState, demand: Demand): number {
  return worker.replicasOf.get(demand.key) ?? 0;
}

export function assign(demand: Demand, replica: number, worker: WorkerState): void {
  demand.slots[replica] = worker;
  for (const dim of READING_ORDER) worker.free[dim] -= demand.need[dim];
  worker.replicasOf.set(demand.key, heldBy(worker, demand) + 1);
  worker.total += 1;
}

export function unassign(demand: Demand, replica: number): void {
  const worker = demand.slots[replica];
  if (worker === undefined) return;
  demand.slots[replica] = undefined;
  for (const dim of READING_ORDER) worker.free[dim] += demand.need[dim];
  worker.replicasOf.set(demand.key, heldBy(worker, demand) - 1);
  worker.total -= 1;
}

/**
 * A worker's load: its largest used fraction over cpu, memory and (with a GPU) gpuMemory, after adding
 * `sign` times `need`. Dimensions the worker has none of do not count.
 */
export function loadAfter(worker: WorkerState, need: Readonly<Amounts>, sign: -1 | 0 | 1): number {
  let load = 0;
  for (const dim of READING_ORDER) {
    const capacity = worker.capacity[dim];
    if (capacity === 0 || (dim === 'gpuMemory' && !worker.hasGpu)) continue;
    load = Math.max(load, (capacity - worker.free[dim] + sign * need[dim]) / capacity);
  }
  return load;
}

/**
 * The placement rule, for a new replica and for one that moves: among the workers that qualify and fit,
 * the fewest replicas of this node, then the lowest load after placing, then the fewest replicas in all,
 * then the smallest id.
 */
export function chooseWorker(demand: Demand, workers: readonly WorkerState[], accept: (worker: WorkerState) => boolean = () => true): WorkerState | undefined {
  let best: { worker: WorkerState; held: number; load: number } | undefined;
  // Workers are sorted by id, so on a full tie the smaller id, seen first, stays.
  for (const worker of workers) {
    if (!qualifies(worker, demand) || !fits(worker, demand) || !accept(worker)) continue;
    const candidate = { worker, held: heldBy(worker, demand), load: loadAfter(worker, demand.need, 1) };
    if (best === undefined || isBetter(candidate, best)) best = candidate;
  }
  return best?.worker;
}

function isBetter(a: { worker: WorkerState; held: number; load: number }, b: { worker: WorkerState; held: number; load: number }): boolean {
  if (a.held !== b.held) return a.held < b.held;
  if (a.load !== b.load) return a.load < b.load;
  return a.worker.total < b.worker.total;
}

/** What `restore` needs to undo tentative assignments exactly (no float drift from adding back). */
export interface Snapshot {
  readonly workers: readonly { worker: WorkerState; free: Amounts; replicasOf: Map<string, number>; total: number }[];
  readonly slots: readonly { demand: Demand; slots: (WorkerState | undefined)[] }[];
}

export function snapshot(workers: readonly WorkerState[], demands: readonly Demand[]): Snapshot {
  return {
    workers: workers.map((worker) => ({ worker, free: { ...worker.free }, replicasOf: new Map(worker.replicasOf), total: worker.total })),
    slots: demands.map((demand) => ({ demand, slots: [...demand.slots] })),
  };
}

export function restore(saved: Snapshot): void {
  for (const { worker, free, replicasOf, total } of saved.workers) Object.assign(worker, { free: { ...free }, replicasOf: new Map(replicasOf), total });
  for (const { demand, slots } of saved.slots) demand.slots.splice(0, demand.slots.length, ...slots);
}

/** Replica index by replica index from `from`, in demand order within an index. */
export function forEachReplica(demands: readonly Demand[], visit: (demand: Demand, replica: number) => void, from = 0): void {
  const rounds = Math.max(0, ...demands.map((d) => d.replicas));
  for (let replica = from; replica < rounds; replica += 1) {
    for (const demand of demands) if (replica < demand.replicas) visit(demand, replica);
  }
}

/** Larger first, by the scarcest dimension first, then the smaller label. */
export function compareSize(a: Readonly<Amounts>, b: Readonly<Amounts>): number {
  for (const dim of BINDING_ORDER) if (a[dim] !== b[dim]) return b[dim] - a[dim];
  return 0;
}

export function largerFirst(a: Demand, b: Demand): number {
  return compareSize(a.need, b.need) || compareText(a.key, b.key);
}

/** Code-unit order, independent of locale. */
export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function toWorkerStates(workers: readonly WorkerCapacity[]): WorkerState[] {
  const seen = new Set<string>();
  return workers
    .map((w): WorkerState => {
      if (seen.has(w.id)) throw new Error(`duplicate worker id "${w.id}"`);
      seen.add(w.id);
      const capacity = toAmounts(w, `worker "${w.id}"`);
      checkAmount(w.gpuCount, `worker "${w.id}" gpuCount`);
      return { id: w.id, pool: w.pool, hasGpu: w.gpuCount > 0, capacity, free: { ...capacity }, replicasOf: new Map(), total: 0 };
    })
    .sort((a, b) => compareText(a.id, b.id));
}

export function toDemands(demands: readonly ReplicaDemand[]): Demand[] {
  const seen = new Set<string>();
  return demands.map((d) => {
    if (seen.has(d.key)) throw new Error(`duplicate demand key "${d.key}"`);
    seen.add(d.key);
    if (!Number.isSafeInteger(d.replicas) || d.replicas < 0) {
      throw new Error(`demand "${d.key}" replicas must be a whole number >= 0, got ${d.replicas}`);
    }
    return { key: d.key, pool: d.pool, need: toAmounts(d, `demand "${d.key}"`), replicas: d.replicas, group: d.group, slots: [] };
  });
}

function toAmounts(resources: Readonly<Amounts>, owner: string): Amounts {
  for (const dim of READING_ORDER) checkAmount(resources[dim], `${owner} ${dim}`);
  return { cpu: Math.round(resources.cpu * 1000), memory: resources.memory, gpuMemory: resources.gpuMemory };
}

function checkAmount(value: number, what: string): void {
  if (!Number.isFinite(value) || value < 0) throw new Error(`${what} must be a finite number >= 0, got ${value}`);
}
