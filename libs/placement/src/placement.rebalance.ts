import {
  assign,
  chooseWorker,
  compareText,
  fits,
  forEachReplica,
  heldBy,
  loadAfter,
  qualifies,
  unassign,
  type Amounts,
  type Demand,
  type WorkerState,
} from './placement.state';

const NOTHING: Readonly<Amounts> = { cpu: 0, memory: 0, gpuMemory: 0 };

/**
 * Moves placed replicas until neither rule below applies any more; says how many rebalance moves it made and
 * whether it moved anything.
 *
 * - Un-doubling (always, unbounded): a replica that shares its worker with a lower replica index of its node
 *   moves to a worker that holds none of that node, if one qualifies and fits (chosen by the placement rule).
 * - Rebalancing (at most `maxMoves`): see `rebalanceOnce`.
 *
 * Each un-doubling move lowers the sum over nodes and workers of (replicas held)²; a rebalance move never raises
 * that sum and replaces the heavier of its two workers by two lighter ones, so the loop ends even with no bound.
 */
export function settle(demands: readonly Demand[], workers: readonly WorkerState[], maxMoves: number): { rebalanced: number; changed: boolean } {
  let rebalanced = 0;
  let changed = false;
  for (;;) {
    while (undoubleOnce(demands, workers)) changed = true;
    if (rebalanced >= maxMoves || !rebalanceOnce(demands, workers)) return { rebalanced, changed };
    rebalanced += 1;
    changed = true;
  }
}

function undoubleOnce(demands: readonly Demand[], workers: readonly WorkerState[]): boolean {
  let moved = false;
  forEachReplica(demands, (demand, replica) => {
    const worker = demand.slots[replica];
    // The lowest replica index on a worker stays.
    if (worker === undefined || !demand.slots.slice(0, replica).includes(worker)) return;
    const target = chooseWorker(demand, workers, (w) => heldBy(w, demand) === 0);
    if (target === undefined) return;
    unassign(demand, replica);
    assign(demand, replica, target);
    moved = true;
  });
  return moved;
}

interface Weight {
  readonly load: number;
  readonly total: number;
}

/** Heavier first: higher load, then more replicas. */
function heavier(a: Weight, b: Weight): number {
  return b.load - a.load || b.total - a.total;
}

const weightOf = (worker: WorkerState): Weight => ({ load: loadAfter(worker, NOTHING, 0), total: worker.total });

interface Move {
  readonly demand: Demand;
  readonly replica: number;
  readonly to: WorkerState;
  /** The destination already holds a replica of this node. */
  readonly doublesUp: boolean;
  /** The destination's weight before the move. */
  readonly target: Weight;
  /** The larger load of the two workers after the move. */
  readonly evenness: number;
}

function betterMove(a: Move, b: Move): boolean {
  if (a.doublesUp !== b.doublesUp) return !a.doublesUp;
  const order = heavier(b.target, a.target) || compareText(a.to.id, b.to.id) || a.evenness - b.evenness || compareText(a.demand.key, b.demand.key);
  return order === 0 ? a.replica > b.replica : order < 0;
}

/**
 * One move from the heaviest worker (load, then replica count, then id) that has a useful one, to another worker
 * of its pool: the replica must qualify and fit there, the destination must hold fewer replicas of its node than
 * the source (so a node never ends on fewer workers nor more crowded on one), and the destination after the move
 * must still be lighter than the source before it (load, then replica count): two equal workers end 10/10, not
 * 11/9 nor swapping back. Among such moves: one that puts no second replica of a node on the destination, to the
 * lightest destination (load, replica count, id), the one that leaves the pair most even (lowest larger load of
 * the two after), then the smaller key, the higher replica.
 */
function rebalanceOnce(demands: readonly Demand[], workers: readonly WorkerState[]): boolean {
  const held = new Map<WorkerState, [Demand, number][]>();
  forEachReplica(demands, (demand, replica) => {
    const worker = demand.slots[replica];
    if (worker === undefined) return;
    const list = held.get(worker) ?? [];
    list.push([demand, replica]);
    held.set(worker, list);
  });
  const weights = new Map(workers.map((w) => [w, weightOf(w)]));
  const weight = (w: WorkerState): Weight => weights.get(w) ?? weightOf(w);
  const byWeight = [...workers].sort((a, b) => heavier(weight(a), weight(b)) || compareText(a.id, b.id));
  const targets = [...workers].sort((a, b) => heavier(weight(b), weight(a)) || compareText(a.id, b.id));
  for (const from of byWeight) {
    const best = bestMoveFrom(from, held.get(from) ?? [], targets, weight);
    if (best === undefined) continue;
    unassign(best.demand, best.replica);
    assign(best.demand, best.replica, best.to);
    return true;
  }
  return false;
}

/** `targets` lightest first, so the first destination with a move that doubles up no node is the best one. */
function bestMoveFrom(
  from: WorkerState,
  replicas: readonly [Demand, number][],
  targets: readonly WorkerState[],
  weight: (w: WorkerState) => Weight,
): Move | undefined {
  const source = weight(from);
  let best: Move | undefined;
  for (const to of targets) {
    if (best?.doublesUp === false) break;
    if (to === from || to.pool !== from.pool) continue;
    const target = weight(to);
    // A destination never gets lighter by taking a replica.
    if (heavier(target, source) <= 0) continue;
    for (const [demand, replica] of replicas) {
      if (!qualifies(to, demand) || !fits(to, demand)) continue;
      const onTarget = heldBy(to, demand);
      if (onTarget >= heldBy(from, demand)) continue;
      const after: Weight = { load: loadAfter(to, demand.need, 1), total: to.total + 1 };
      if (heavier(after, source) <= 0) continue;
      const evenness = Math.max(after.load, loadAfter(from, demand.need, -1));
      const move: Move = { demand, replica, to, doublesUp: onTarget > 0, target, evenness };
      if (best === undefined || betterMove(move, best)) best = move;
    }
  }
  return best;
}
