import { formatBytes, formatCpu, type Rounding } from './quantity.parser';
import { BINDING_ORDER, compareText, qualifies, READING_ORDER, type Amounts, type Demand, type Dimension, type WorkerState } from './placement.state';

/** Why no worker takes a replica of `demand` now, e.g. `needs memory 6Gi, largest free is 4Gi on worker gpu-0`. */
export function explainPending(demand: Demand, workers: readonly WorkerState[]): string {
  return describe(demand, workers).text;
}

/** The same with the node as its subject, for a reason about a whole graph: `node "g.a" needs ...`. */
export function explainNode(demand: Demand, workers: readonly WorkerState[]): string {
  const { noPool, text } = describe(demand, workers);
  return `node "${demand.key}" ${noPool ? `has ${text}` : text}`;
}

function describe(demand: Demand, workers: readonly WorkerState[]): { noPool: boolean; text: string } {
  const inPool = workers.filter((w) => w.pool === demand.pool);
  if (inPool.length === 0) {
    const pools = [...new Set(workers.map((w) => w.pool))].sort(compareText);
    const known = pools.length === 0 ? 'there are no workers' : `workers are in pools ${pools.map((p) => `"${p}"`).join(', ')}`;
    return { noPool: true, text: `no worker in pool "${demand.pool}" (${known})` };
  }
  return { noPool: false, text: explainShortfall(demand, inPool) };
}

function explainShortfall(demand: Demand, inPool: readonly WorkerState[]): string {
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
