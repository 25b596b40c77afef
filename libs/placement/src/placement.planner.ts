import type {
  CurrentAssignment,
  FreeCapacity,
  PendingReplica,
  PlacementOptions,
  PlacementPlan,
  ReplicaAssignment,
  ReplicaDemand,
  ReplicaMove,
  WorkerCapacity,
} from './placement.types';
import { explainNode, explainPending } from './placement.reason';
import { settle } from './placement.rebalance';
import {
  assign,
  chooseWorker,
  compareSize,
  compareText,
  fits,
  forEachReplica,
  largerFirst,
  qualifies,
  READING_ORDER,
  restore,
  snapshot,
  toDemands,
  toWorkerStates,
  type Amounts,
  type Demand,
  type WorkerState,
} from './placement.state';

/** The demands whose replica 0 is placed as a unit: one graph, or one demand without a group. */
interface Unit {
  readonly group: string | undefined;
  /** Larger first. */
  readonly members: readonly Demand[];
  /** Summed over the members' replica 0. */
  readonly size: Readonly<Amounts>;
  readonly label: string;
}

/** Previous workers of each replica, by key and replica index, smallest id first. */
type Previous = ReadonlyMap<string, ReadonlyMap<number, readonly string[]>>;

/**
 * Plans which worker runs each replica. Deterministic: the same inputs, in any order, give the same plan.
 *
 * 1. Valid `current` assignments are kept (worker still there, same pool, still fits), so re-running with the
 *    previous plan's assignments changes nothing and a new demand never displaces a running replica.
 * 2. Replica 0 of each unit is placed next: a unit is every demand of one `group` (a graph), or a demand
 *    without a group on its own. Units go larger first (summed gpuMemory, memory, cpu, then name), members
 *    larger first within one. A unit is placed all or nothing: if one of its replicas 0 fits nowhere, the
 *    unit's tentative assignments are undone (so it takes no capacity from a later unit that fits) and all its
 *    unplaced replicas wait with one shared reason naming the node that does not fit; its running replicas stay.
 * 3. Then the other replicas, replica index by replica index (every node gets its second before any node its
 *    third), larger demands first within an index, best effort, for units whose replicas 0 are all placed.
 * 4. The placement rule: among the workers of the demand's pool that fit it (GPU memory needs a GPU), the one
 *    holding the fewest replicas of its node (anti-affinity), then the lowest load after placing (load: the
 *    worker's largest used fraction over cpu, memory and, with a GPU, gpuMemory), then the fewest replicas in
 *    all, then the smallest id.
 * 5. Un-doubling (always, as before): a replica sharing its worker with a lower replica index of its node moves
 *    to a worker holding none of that node, when one fits.
 * 6. Rebalancing (`options.maxMoves`, default 0: none): up to that many moves, each from the most loaded worker
 *    (load, then replica count, then id) to the least loaded one of its pool that fits the replica, made only
 *    while the destination ends lighter than the source was (load, then replica count) and holds fewer replicas
 *    of the node than the source (a node never ends on fewer workers, nor with more on one); a move that puts no
 *    second replica of a node on the destination comes first. Two equal workers holding 20 and 0 equal replicas
 *    end 10/10 after 10 moves. When moves made room, steps 2 and 3 run again for what still waits.
 * 7. What fits nowhere is pending, with a reason computed against the final free capacity. `moves` lists every
 *    replica taken off a worker that `current` had it on and that is still given (un-doubled, rebalanced, or no
 *    longer valid there), so the caller can start the new replica before it stops the old one.
 */
export function placeReplicas(
  workers: readonly WorkerCapacity[],
  demands: readonly ReplicaDemand[],
  current: readonly CurrentAssignment[] = [],
  options: PlacementOptions = {},
): PlacementPlan {
  const maxMoves = options.maxMoves ?? 0;
  if (!(Number.isSafeInteger(maxMoves) || maxMoves === Infinity) || maxMoves < 0) {
    throw new Error(`maxMoves must be a whole number >= 0 or Infinity, got ${maxMoves}`);
  }
  const states = toWorkerStates(workers);
  const byId = new Map(states.map((w) => [w.id, w]));
  const ordered = toDemands(demands).sort(largerFirst);
  const previous = toPrevious(current, byId);
  keepCurrent(ordered, byId, previous);

  const units = toUnits(ordered);
  let { waiting } = placeMissing(units, ordered, states);
  let movesLeft = maxMoves;
  // Moves can make room for what waits: settle and place again until neither changes anything.
  for (;;) {
    const settled = settle(ordered, states, movesLeft);
    movesLeft -= settled.rebalanced;
    if (!settled.changed || countMissing(ordered) === 0) break;
    const next = placeMissing(units, ordered, states);
    waiting = next.waiting;
    if (next.placed === 0) break;
  }

  const byKey = [...ordered].sort((a, b) => compareText(a.key, b.key));
  const assignments: ReplicaAssignment[] = byKey.flatMap((d) =>
    d.slots.flatMap((worker, replica) => (worker === undefined ? [] : [{ key: d.key, replica, worker: worker.id }])),
  );
  const moves: ReplicaMove[] = assignments.flatMap(({ key, replica, worker }) => {
    const [from, ...others] = previous.get(key)?.get(replica) ?? [];
    return from === undefined || from === worker || others.includes(worker) ? [] : [{ key, replica, from, to: worker }];
  });
  return { assignments, pending: pendingOf(byKey, waiting, states), moves, free: freeOf(states) };
}

/** Steps 2 and 3: every unit's replicas 0, as units, then the further replicas of the units that are whole. */
function placeMissing(units: readonly Unit[], demands: readonly Demand[], workers: readonly WorkerState[]): { waiting: Map<Unit, Demand>; placed: number } {
  const waiting = new Map<Unit, Demand>();
  const before = countMissing(demands);
  for (const unit of units) {
    const failed = placeAsUnit(unit, workers);
    if (failed !== undefined) waiting.set(unit, failed);
  }
  const held = new Set([...waiting.keys()].flatMap((u) => u.members));
  forEachReplica(
    demands,
    (demand, replica) => {
      if (demand.slots[replica] !== undefined || held.has(demand)) return;
      const worker = chooseWorker(demand, workers);
      if (worker !== undefined) assign(demand, replica, worker);
    },
    1,
  );
  return { waiting, placed: before - countMissing(demands) };
}

function countMissing(demands: readonly Demand[]): number {
  let missing = 0;
  for (const demand of demands) for (let replica = 0; replica < demand.replicas; replica += 1) if (demand.slots[replica] === undefined) missing += 1;
  return missing;
}

function toPrevious(current: readonly CurrentAssignment[], workers: ReadonlyMap<string, WorkerState>): Previous {
  const previous = new Map<string, Map<number, string[]>>();
  for (const { key, replica, worker } of current) {
    if (!workers.has(worker)) continue;
    const byReplica = previous.get(key) ?? new Map<number, string[]>();
    previous.set(key, byReplica);
    byReplica.set(replica, [...(byReplica.get(replica) ?? []), worker].sort(compareText));
  }
  return previous;
}

function keepCurrent(demands: readonly Demand[], workers: ReadonlyMap<string, WorkerState>, previous: Previous): void {
  forEachReplica(demands, (demand, replica) => {
    // A replica listed twice keeps the first still-valid worker by id.
    const worker = (previous.get(demand.key)?.get(replica) ?? [])
      .map((id) => workers.get(id))
      .find((w) => w !== undefined && qualifies(w, demand) && fits(w, demand));
    if (worker !== undefined) assign(demand, replica, worker);
  });
}

function toUnits(demands: readonly Demand[]): Unit[] {
  const groups = new Map<string, Demand[]>();
  const units: Unit[] = [];
  for (const demand of demands) {
    if (demand.group === undefined) units.push(toUnit(undefined, [demand], demand.key));
    else groups.set(demand.group, [...(groups.get(demand.group) ?? []), demand]);
  }
  for (const [group, members] of groups) units.push(toUnit(group, members, group));
  // A graph named like an ungrouped key goes after it, so the order stays total.
  return units.sort((a, b) => compareSize(a.size, b.size) || compareText(a.label, b.label) || Number(a.group !== undefined) - Number(b.group !== undefined));
}

function toUnit(group: string | undefined, members: Demand[], label: string): Unit {
  const size: Amounts = { cpu: 0, memory: 0, gpuMemory: 0 };
  for (const demand of members) {
    if (demand.replicas === 0) continue;
    for (const dim of ['cpu', 'memory', 'gpuMemory'] as const) size[dim] += demand.need[dim];
  }
  return { group, members, size, label };
}

/** Places the unit's missing replicas 0, or none of them: returns the first member that fits nowhere, after undoing the rest. */
function placeAsUnit(unit: Unit, workers: readonly WorkerState[]): Demand | undefined {
  const missing = unit.members.filter((d) => d.replicas > 0 && d.slots[0] === undefined);
  const saved = snapshot(workers, missing);
  for (const demand of missing) {
    const worker = chooseWorker(demand, workers);
    if (worker === undefined) {
      restore(saved);
      return demand;
    }
    assign(demand, 0, worker);
  }
  return undefined;
}

function pendingOf(demands: readonly Demand[], waiting: ReadonlyMap<Unit, Demand>, workers: readonly WorkerState[]): PendingReplica[] {
  const graphOf = new Map<Demand, { group: string; unit: Unit; failed: Demand }>();
  for (const [unit, failed] of waiting) {
    if (unit.group !== undefined) for (const demand of unit.members) graphOf.set(demand, { group: unit.group, unit, failed });
  }
  const reasons = new Map<Demand | Unit, string>();
  const reasonFor = (demand: Demand): string => {
    const graph = graphOf.get(demand);
    const about = graph?.unit ?? demand;
    const reason = reasons.get(about) ?? (graph === undefined ? explainPending(demand, workers) : explainGraph(graph.group, graph.unit, graph.failed, workers));
    reasons.set(about, reason);
    return reason;
  };
  return demands.flatMap((demand) =>
    Array.from({ length: demand.replicas }, (_, replica) => replica)
      .filter((replica) => demand.slots[replica] === undefined)
      .map((replica) => ({ key: demand.key, replica, reason: reasonFor(demand) })),
  );
}

/**
 * One reason for every waiting replica of a graph, from the final free capacity alone (so re-running with the plan
 * gives the same words): the first missing node (larger first) that no worker of its pool could hold even empty,
 * else the first that fits on no worker now, else the first that fits nowhere once the ones before it are placed.
 */
function explainGraph(group: string, unit: Unit, failedAtTrial: Demand, workers: readonly WorkerState[]): string {
  const prefix = `graph "${group}" waits as a unit`;
  const missing = unit.members.filter((d) => d.replicas > 0 && d.slots[0] === undefined);
  const stuck =
    missing.find((d) => !workers.some((w) => qualifies(w, d) && fitsEmpty(w, d))) ?? missing.find((d) => !workers.some((w) => qualifies(w, d) && fits(w, d)));
  if (stuck !== undefined) return `${prefix}: ${explainNode(stuck, workers)}`;
  const saved = snapshot(workers, missing);
  try {
    for (const demand of missing) {
      const worker = chooseWorker(demand, workers);
      if (worker === undefined) return `${prefix}: after placing its other nodes, ${explainNode(demand, workers)}`;
      assign(demand, 0, worker);
    }
  } finally {
    restore(saved);
  }
  // Greedy placement is not monotone: the nodes fit together now, on less capacity than the graph had when tried.
  return `${prefix}: node "${failedAtTrial.key}" did not fit beside its other nodes when the graph was tried`;
}

function fitsEmpty(worker: WorkerState, demand: Demand): boolean {
  return READING_ORDER.every((dim) => worker.capacity[dim] >= demand.need[dim]);
}

function freeOf(workers: readonly WorkerState[]): Record<string, FreeCapacity> {
  const free: Record<string, FreeCapacity> = {};
  for (const w of workers) free[w.id] = { cpu: w.free.cpu / 1000, memory: w.free.memory, gpuMemory: w.free.gpuMemory };
  return free;
}
