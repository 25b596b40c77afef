import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { placeReplicas } from './placement.planner';
import type { CurrentAssignment, PlacementPlan, ReplicaDemand, WorkerCapacity } from './placement.types';
import { formatBytes, parseBytes, parseCpu } from './quantity.parser';

// Pure-logic unit test: workers and demands are plain values, nothing runs.

function cpuWorker(id: string, cpu: string | number, memory: string, pool = 'cpu'): WorkerCapacity {
  return { id, pool, cpu: parseCpu(cpu), memory: parseBytes(memory), gpuCount: 0, gpuMemory: 0 };
}

function gpuWorker(id: string, gpuMemory: string, options: { gpuCount?: number; cpu?: number; memory?: string; pool?: string } = {}): WorkerCapacity {
  const { gpuCount = 1, cpu = 8, memory = '32Gi', pool = 'gpu' } = options;
  return { id, pool, cpu, memory: parseBytes(memory), gpuCount, gpuMemory: parseBytes(gpuMemory) };
}

function node(key: string, replicas: number, resources: { pool?: string; cpu?: string | number; memory?: string; gpuMemory?: string }): ReplicaDemand {
  const { pool = 'cpu', cpu = 0, memory = '0', gpuMemory = '0' } = resources;
  return { key, pool, cpu: parseCpu(cpu), memory: parseBytes(memory), gpuMemory: parseBytes(gpuMemory), replicas };
}

/** "g/a#0 cpu-0" <-> { key: 'g/a', replica: 0, worker: 'cpu-0' } */
const placed = (plan: PlacementPlan): string[] => plan.assignments.map((a) => `${a.key}#${a.replica} ${a.worker}`);
const pending = (plan: PlacementPlan): string[] => plan.pending.map((p) => `${p.key}#${p.replica}: ${p.reason}`);
const free = (plan: PlacementPlan): string[] =>
  Object.entries(plan.free).map(([id, f]) => `${id}: cpu ${f.cpu}, memory ${formatBytes(f.memory)}, gpuMemory ${formatBytes(f.gpuMemory)}`);

function current(...lines: string[]): CurrentAssignment[] {
  return lines.map((line) => {
    const match = /^(\S+)#(\d+) (\S+)$/.exec(line);
    assert.ok(match !== null, `bad assignment line ${line}`);
    return { key: match[1] ?? '', replica: Number(match[2]), worker: match[3] ?? '' };
  });
}

const cases: {
  name: string;
  workers: WorkerCapacity[];
  demands: ReplicaDemand[];
  current?: CurrentAssignment[];
  placed: string[];
  pending?: string[];
  free?: string[];
}[] = [
  {
    name: 'leaves every replica pending on an empty cluster',
    workers: [],
    demands: [node('g/a', 2, { cpu: 1 })],
    placed: [],
    pending: ['g/a#0: no worker in pool "cpu" (there are no workers)', 'g/a#1: no worker in pool "cpu" (there are no workers)'],
    free: [],
  },
  {
    name: 'reports every worker fully free when nothing is demanded',
    workers: [cpuWorker('cpu-0', 2, '4Gi'), gpuWorker('gpu-0', '16Gi')],
    demands: [node('g/none', 0, { cpu: 1 })],
    placed: [],
    free: ['cpu-0: cpu 2, memory 4Gi, gpuMemory 0', 'gpu-0: cpu 8, memory 32Gi, gpuMemory 16Gi'],
  },
  {
    name: 'places a replica only on a worker of its own pool and names the pools that exist',
    workers: [cpuWorker('cpu-0', 2, '4Gi'), gpuWorker('gpu-0', '16Gi'), cpuWorker('big-0', 64, '256Gi', 'batch')],
    demands: [node('g/pre', 1, { cpu: 1, memory: '1Gi' }), node('g/clf', 1, { pool: 'gpu', cpu: 1, gpuMemory: '4Gi' }), node('g/x', 1, { pool: 'tpu', cpu: 1 })],
    placed: ['g/clf#0 gpu-0', 'g/pre#0 cpu-0'],
    pending: ['g/x#0: no worker in pool "tpu" (workers are in pools "batch", "cpu", "gpu")'],
    free: ['big-0: cpu 64, memory 256Gi, gpuMemory 0', 'cpu-0: cpu 1, memory 3Gi, gpuMemory 0', 'gpu-0: cpu 7, memory 32Gi, gpuMemory 12Gi'],
  },
  {
    name: 'spreads 2 replicas over 2 workers even when one worker would stay emptier',
    workers: [cpuWorker('cpu-0', 8, '16Gi'), cpuWorker('cpu-1', 2, '4Gi')],
    demands: [node('g/a', 2, { cpu: '500m', memory: '512Mi' })],
    placed: ['g/a#0 cpu-0', 'g/a#1 cpu-1'],
  },
  {
    name: 'puts the third of 3 replicas on the least-loaded of 2 workers',
    workers: [cpuWorker('cpu-1', 2, '8Gi'), cpuWorker('cpu-0', 4, '8Gi')],
    demands: [node('g/a', 3, { cpu: 1, memory: '1Gi' })],
    placed: ['g/a#0 cpu-0', 'g/a#1 cpu-1', 'g/a#2 cpu-0'],
    free: ['cpu-0: cpu 2, memory 6Gi, gpuMemory 0', 'cpu-1: cpu 1, memory 7Gi, gpuMemory 0'],
  },
  {
    name: 'doubles up on a worker only when no other worker of the pool fits',
    workers: [cpuWorker('cpu-0', 8, '16Gi'), cpuWorker('cpu-1', 8, '1Gi')],
    demands: [node('g/a', 2, { cpu: 1, memory: '2Gi' })],
    placed: ['g/a#0 cpu-0', 'g/a#1 cpu-0'],
  },
  {
    name: 'chooses the worker left with the largest fraction of its scarcest used dimension',
    workers: [cpuWorker('cpu-0', 8, '2Gi'), cpuWorker('cpu-1', 4, '8Gi')],
    demands: [node('g/a', 1, { cpu: 1, memory: '1Gi' })],
    placed: ['g/a#0 cpu-1'],
  },
  {
    name: 'breaks ties by worker id, whatever the input order',
    workers: [cpuWorker('w-b', 4, '8Gi'), cpuWorker('w-c', 4, '8Gi'), cpuWorker('w-a', 4, '8Gi')],
    demands: [node('g/b', 1, { cpu: 1, memory: '1Gi' }), node('g/a', 1, { cpu: 1, memory: '1Gi' })],
    placed: ['g/a#0 w-a', 'g/b#0 w-b'],
  },
  {
    name: 'places larger demands first so small ones do not starve them',
    workers: [cpuWorker('cpu-0', 4, '3Gi'), cpuWorker('cpu-1', 4, '2Gi')],
    demands: [node('g/a-small', 1, { cpu: 1, memory: '2Gi' }), node('g/z-big', 1, { cpu: 1, memory: '3Gi' })],
    placed: ['g/a-small#0 cpu-1', 'g/z-big#0 cpu-0'],
  },
  {
    name: 'orders by gpu memory before memory',
    workers: [gpuWorker('gpu-0', '8Gi', { memory: '8Gi' })],
    demands: [node('g/mem', 1, { pool: 'gpu', memory: '6Gi' }), node('g/vram', 1, { pool: 'gpu', memory: '4Gi', gpuMemory: '1Gi' })],
    placed: ['g/vram#0 gpu-0'],
    pending: ['g/mem#0: needs memory 6Gi, largest free is 4Gi on worker gpu-0'],
  },
  {
    name: 'gives every node its first replica before any node its second',
    workers: [cpuWorker('cpu-0', 8, '4Gi')],
    demands: [node('g/a', 2, { cpu: 1, memory: '2Gi' }), node('g/b', 1, { cpu: 1, memory: '1Gi' })],
    placed: ['g/a#0 cpu-0', 'g/b#0 cpu-0'],
    pending: ['g/a#1: needs memory 2Gi, largest free is 1Gi on worker cpu-0'],
  },
  {
    name: 'names the largest free gpu memory when no GPU worker has enough',
    workers: [gpuWorker('gpu-1', '1Gi'), gpuWorker('gpu-0', '2Gi'), cpuWorker('cpu-0', 64, '512Gi', 'gpu')],
    demands: [node('g/llm', 1, { pool: 'gpu', cpu: 2, memory: '8Gi', gpuMemory: '4Gi' })],
    placed: [],
    pending: ['g/llm#0: needs gpuMemory 4Gi, largest free is 2Gi on worker gpu-0'],
  },
  {
    name: 'says when a gpu demand meets a pool without GPUs',
    workers: [cpuWorker('cpu-0', 8, '16Gi'), gpuWorker('fake-0', '8Gi', { gpuCount: 0, pool: 'cpu' })],
    demands: [node('g/clf', 1, { gpuMemory: '1Gi' })],
    placed: [],
    pending: ['g/clf#0: needs gpuMemory 1Gi, but no worker in pool "cpu" has a GPU'],
  },
  {
    name: 'names cpu as the binding constraint with fractional cores',
    workers: [cpuWorker('cpu-0', 1, '8Gi'), cpuWorker('cpu-1', '1500m', '8Gi')],
    demands: [node('g/a', 1, { cpu: 2, memory: '1Gi' })],
    placed: [],
    pending: ['g/a#0: needs cpu 2, largest free is 1.5 on worker cpu-1'],
  },
  {
    name: 'says when each resource is free somewhere but not together on one worker',
    workers: [cpuWorker('cpu-0', 4, '1Gi'), cpuWorker('cpu-1', 1, '8Gi')],
    demands: [node('g/a', 1, { cpu: 2, memory: '4Gi' })],
    placed: [],
    pending: ['g/a#0: needs cpu 2, memory 4Gi on one worker, but no worker in pool "cpu" has all of it free; closest is cpu-1 with cpu 1, memory 8Gi'],
  },
  {
    name: 'rounds a need up and a free amount down so the message never reads as fitting',
    workers: [cpuWorker('cpu-0', 4, '1.49Gi')],
    demands: [node('g/a', 1, { memory: '1.51Gi' })],
    placed: [],
    pending: ['g/a#0: needs memory 1.6Gi, largest free is 1.4Gi on worker cpu-0'],
  },
  {
    name: 'accounts cpu in millicores, so 0.1 and 0.2 cores fill a 0.3-core worker exactly',
    workers: [cpuWorker('cpu-0', 0.3, '1Gi')],
    demands: [node('g/a', 1, { cpu: 0.1 }), node('g/b', 1, { cpu: 0.2 })],
    placed: ['g/a#0 cpu-0', 'g/b#0 cpu-0'],
    free: ['cpu-0: cpu 0, memory 1Gi, gpuMemory 0'],
  },
  {
    name: 'keeps a valid current assignment even where a fresh plan would choose another worker',
    workers: [cpuWorker('cpu-0', 8, '16Gi'), cpuWorker('cpu-1', 2, '4Gi')],
    demands: [node('g/a', 1, { cpu: 1, memory: '1Gi' })],
    current: current('g/a#0 cpu-1'),
    placed: ['g/a#0 cpu-1'],
  },
  {
    name: 'moves a current replica off a worker of the wrong pool, a gone worker or one it no longer fits',
    workers: [cpuWorker('cpu-0', 8, '16Gi'), cpuWorker('cpu-1', 8, '1Gi'), cpuWorker('batch-0', 8, '16Gi', 'batch')],
    demands: [node('g/a', 1, { cpu: 1, memory: '1Gi' }), node('g/b', 1, { cpu: 1, memory: '2Gi' }), node('g/c', 1, { cpu: 1, memory: '1Gi' })],
    current: current('g/a#0 batch-0', 'g/b#0 cpu-1', 'g/c#0 cpu-9'),
    placed: ['g/a#0 cpu-0', 'g/b#0 cpu-0', 'g/c#0 cpu-0'],
  },
  {
    name: 'drops replicas beyond a reduced count and assignments of removed nodes',
    workers: [cpuWorker('cpu-0', 4, '4Gi'), cpuWorker('cpu-1', 4, '4Gi')],
    demands: [node('g/a', 1, { cpu: 1, memory: '1Gi' })],
    current: current('g/a#0 cpu-1', 'g/a#1 cpu-0', 'g/gone#0 cpu-0'),
    placed: ['g/a#0 cpu-1'],
    free: ['cpu-0: cpu 4, memory 4Gi, gpuMemory 0', 'cpu-1: cpu 3, memory 3Gi, gpuMemory 0'],
  },
  {
    name: 'never displaces a running replica for a new larger one',
    workers: [cpuWorker('cpu-0', 4, '4Gi'), cpuWorker('cpu-1', 4, '2Gi')],
    demands: [node('g/small', 1, { memory: '1Gi' }), node('g/big', 1, { memory: '4Gi' })],
    current: current('g/small#0 cpu-0'),
    placed: ['g/small#0 cpu-0'],
    pending: ['g/big#0: needs memory 4Gi, largest free is 3Gi on worker cpu-0'],
  },
  {
    name: 'adds new replicas of a scaled-up node on workers that do not hold one yet',
    workers: [cpuWorker('cpu-0', 4, '4Gi'), cpuWorker('cpu-1', 2, '2Gi'), cpuWorker('cpu-2', 8, '8Gi')],
    demands: [node('g/a', 3, { cpu: 1, memory: '1Gi' })],
    current: current('g/a#0 cpu-2'),
    placed: ['g/a#0 cpu-2', 'g/a#1 cpu-0', 'g/a#2 cpu-1'],
  },
];

describe('replica placement planner', () => {
  for (const c of cases) {
    it(c.name, () => {
      const plan = placeReplicas(c.workers, c.demands, c.current);
      assert.deepEqual(placed(plan), c.placed);
      assert.deepEqual(pending(plan), c.pending ?? []);
      if (c.free !== undefined) assert.deepEqual(free(plan), c.free);
    });
  }

  it('changes nothing when re-run with its own plan as the current assignments', () => {
    const workers = [cpuWorker('cpu-0', 4, '8Gi'), cpuWorker('cpu-1', 2, '4Gi'), gpuWorker('gpu-0', '8Gi'), gpuWorker('gpu-1', '4Gi')];
    const demands = [
      node('g/pre', 3, { cpu: '750m', memory: '1Gi' }),
      node('g/clf', 2, { pool: 'gpu', cpu: 2, memory: '4Gi', gpuMemory: '3Gi' }),
      node('g/llm', 1, { pool: 'gpu', cpu: 4, memory: '16Gi', gpuMemory: '6Gi' }),
      node('g/post', 4, { cpu: 1, memory: '2Gi' }),
    ];
    const first = placeReplicas(workers, demands);
    assert.ok(first.pending.length > 0, 'the scenario should leave something pending');
    assert.deepEqual(placeReplicas(workers, demands, first.assignments), first);
  });

  it('moves the replicas of a worker that disappeared and leaves the others where they are', () => {
    const workers = [cpuWorker('cpu-0', 4, '8Gi'), cpuWorker('cpu-1', 4, '8Gi'), cpuWorker('cpu-2', 4, '8Gi')];
    const demands = [node('g/a', 3, { cpu: 1, memory: '1Gi' }), node('g/b', 2, { cpu: 1, memory: '2Gi' })];
    const before = placeReplicas(workers, demands);
    assert.deepEqual(placed(before), ['g/a#0 cpu-1', 'g/a#1 cpu-0', 'g/a#2 cpu-2', 'g/b#0 cpu-0', 'g/b#1 cpu-2']);

    const after = placeReplicas(
      workers.filter((w) => w.id !== 'cpu-1'),
      demands,
      before.assignments,
    );
    // cpu-0 and cpu-2 tie on replicas of g/a held and on free capacity: the smaller id takes g/a#0.
    assert.deepEqual(placed(after), ['g/a#0 cpu-0', 'g/a#1 cpu-0', 'g/a#2 cpu-2', 'g/b#0 cpu-0', 'g/b#1 cpu-2']);
    assert.deepEqual(pending(after), []);
    assert.deepEqual(Object.keys(after.free), ['cpu-0', 'cpu-2']);
  });

  it('places pending replicas once capacity returns, and spreads a doubled-up node onto it', () => {
    const demands = [node('g/llm', 1, { pool: 'gpu', gpuMemory: '12Gi' }), node('g/clf', 2, { pool: 'gpu', gpuMemory: '2Gi' })];
    const small = [gpuWorker('gpu-0', '8Gi')];
    const before = placeReplicas(small, demands);
    assert.deepEqual(placed(before), ['g/clf#0 gpu-0', 'g/clf#1 gpu-0']);
    assert.deepEqual(pending(before), ['g/llm#0: needs gpuMemory 12Gi, largest free is 4Gi on worker gpu-0']);

    const after = placeReplicas([...small, gpuWorker('gpu-1', '80Gi')], demands, before.assignments);
    assert.deepEqual(placed(after), ['g/clf#0 gpu-0', 'g/clf#1 gpu-1', 'g/llm#0 gpu-1']);
    assert.deepEqual(pending(after), []);
    // Stable from then on: re-running with the new plan moves nothing.
    assert.deepEqual(placed(placeReplicas([...small, gpuWorker('gpu-1', '80Gi')], demands, after.assignments)), placed(after));
  });

  it('moves a doubled-up replica to a worker that joins without that node', () => {
    const one = [cpuWorker('cpu-0', 4, '4Gi')];
    const before = placeReplicas(one, [node('g/a', 2, { cpu: 1 })]);
    assert.deepEqual(placed(before), ['g/a#0 cpu-0', 'g/a#1 cpu-0']);
    const after = placeReplicas([...one, cpuWorker('cpu-1', 4, '4Gi')], [node('g/a', 2, { cpu: 1 })], before.assignments);
    assert.deepEqual(placed(after), ['g/a#0 cpu-0', 'g/a#1 cpu-1']);
  });

  it('keeps a replica listed twice in current once, on the smaller worker id', () => {
    const workers = [cpuWorker('cpu-0', 4, '4Gi'), cpuWorker('cpu-1', 4, '4Gi')];
    const plan = placeReplicas(workers, [node('g/a', 1, { cpu: 1 })], current('g/a#0 cpu-1', 'g/a#0 cpu-0'));
    assert.deepEqual(placed(plan), ['g/a#0 cpu-0']);
    assert.equal(plan.free['cpu-1']?.cpu, 4);
  });

  it('rejects malformed input with the worker or demand it concerns', () => {
    const worker = cpuWorker('cpu-0', 4, '4Gi');
    const bad: [run: () => unknown, message: string][] = [
      [() => placeReplicas([worker, worker], []), 'duplicate worker id "cpu-0"'],
      [() => placeReplicas([], [node('g/a', 1, {}), node('g/a', 2, {})]), 'duplicate demand key "g/a"'],
      [() => placeReplicas([], [node('g/a', 1.5, {})]), 'demand "g/a" replicas must be a whole number >= 0, got 1.5'],
      [() => placeReplicas([{ ...worker, memory: -1 }], []), 'worker "cpu-0" memory must be a finite number >= 0, got -1'],
      [() => placeReplicas([], [{ ...node('g/a', 1, {}), cpu: Number.NaN }]), 'demand "g/a" cpu must be a finite number >= 0, got NaN'],
      [() => placeReplicas([{ ...worker, gpuCount: -1 }], []), 'worker "cpu-0" gpuCount must be a finite number >= 0, got -1'],
    ];
    for (const [run, message] of bad) assert.throws(run, { message });
  });
});

/** mulberry32, seeded: the generated clusters are the same on every run. */
function generator(seed: number): (n: number) => number {
  let state = seed >>> 0;
  return (n) => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = Math.imul(state ^ (state >>> 15), state | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) % n;
  };
}

function generatedCluster(seed: number): { workers: WorkerCapacity[]; demands: ReplicaDemand[] } {
  const pick = generator(seed);
  const pools = ['cpu', 'gpu', 'edge'];
  const workers = Array.from({ length: 1 + pick(6) }, (_, i): WorkerCapacity => {
    const gpuCount = pick(3);
    return { id: `w-${pick(100)}-${i}`, pool: pools[pick(3)] ?? 'cpu', cpu: (1 + pick(16)) / 2, memory: (1 + pick(16)) * 2 ** 29, gpuCount, gpuMemory: gpuCount * pick(5) * 2 ** 30 };
  });
  const demands = Array.from({ length: pick(8) }, (_, i): ReplicaDemand => ({
    key: `g${pick(3)}/n${i}`,
    pool: pools[pick(3)] ?? 'cpu',
    cpu: pick(9) / 4,
    memory: pick(9) * 2 ** 28,
    gpuMemory: pick(3) === 0 ? pick(4) * 2 ** 30 : 0,
    replicas: pick(4),
  }));
  return { workers, demands };
}

describe('replica placement planner on generated clusters', () => {
  it('never overcommits a worker and accounts for every replica exactly once', () => {
    const totals = { placed: 0, pending: 0, doubled: 0 };
    for (let seed = 1; seed <= 300; seed += 1) {
      const { workers, demands } = generatedCluster(seed);
      const plan = placeReplicas(workers, demands);
      totals.placed += plan.assignments.length;
      totals.pending += plan.pending.length;
      totals.doubled += plan.assignments.length - new Set(plan.assignments.map((a) => `${a.key} ${a.worker}`)).size;
      const seen = [...plan.assignments, ...plan.pending].map((r) => `${r.key}#${r.replica}`).sort();
      const wanted = demands.flatMap((d) => Array.from({ length: d.replicas }, (_, r) => `${d.key}#${r}`)).sort();
      assert.deepEqual(seen, wanted, `seed ${seed}`);
      for (const w of workers) {
        const mine = plan.assignments.filter((a) => a.worker === w.id).map((a) => demands.find((d) => d.key === a.key));
        const used = (dim: 'cpu' | 'memory' | 'gpuMemory'): number => mine.reduce((sum, d) => sum + (d?.[dim] ?? 0), 0);
        assert.ok(used('cpu') <= w.cpu + 1e-9 && used('memory') <= w.memory && used('gpuMemory') <= w.gpuMemory, `seed ${seed}: ${w.id} overcommitted`);
        assert.ok(mine.every((d) => d?.pool === w.pool && (d.gpuMemory === 0 || w.gpuCount > 0)), `seed ${seed}: ${w.id} holds a foreign replica`);
        assert.equal(plan.free[w.id]?.memory, w.memory - used('memory'), `seed ${seed}`);
      }
    }
    // Guards the generator: the invariants above must have been tried on placed, pending and doubled-up replicas.
    assert.ok(totals.placed > 100 && totals.pending > 100 && totals.doubled > 20, JSON.stringify(totals));
  });

  it('doubles up a node on a worker only while a worker with fewer of its replicas cannot take one', () => {
    for (let seed = 1; seed <= 300; seed += 1) {
      const { workers, demands } = generatedCluster(seed);
      const plan = placeReplicas(workers, demands);
      for (const d of demands) {
        const held = (id: string): number => plan.assignments.filter((a) => a.key === d.key && a.worker === id).length;
        const eligible = workers.filter((w) => w.pool === d.pool && (d.gpuMemory === 0 || w.gpuCount > 0));
        for (const crowded of eligible) {
          for (const other of eligible) {
            if (held(crowded.id) < held(other.id) + 2) continue;
            const room = plan.free[other.id];
            assert.ok(room !== undefined);
            const fits = room.cpu >= d.cpu - 1e-9 && room.memory >= d.memory && room.gpuMemory >= d.gpuMemory;
            assert.ok(!fits, `seed ${seed}: ${d.key} crowds ${crowded.id} while ${other.id} has room`);
          }
        }
      }
    }
  });

  it('gives the same plan for inputs in any order, and again when re-run with it as current', () => {
    for (let seed = 1; seed <= 300; seed += 1) {
      const { workers, demands } = generatedCluster(seed);
      const plan = placeReplicas(workers, demands);
      assert.deepEqual(placeReplicas([...workers].reverse(), [...demands].reverse()), plan, `seed ${seed}`);
      assert.deepEqual(placeReplicas(workers, demands, [...plan.assignments].reverse()), plan, `seed ${seed}`);
    }
  });

  it('keeps every replica of the surviving workers when one worker disappears', () => {
    for (let seed = 1; seed <= 300; seed += 1) {
      const { workers, demands } = generatedCluster(seed);
      const before = placeReplicas(workers, demands);
      const gone = workers[seed % workers.length]?.id;
      const after = placeReplicas(
        workers.filter((w) => w.id !== gone),
        demands,
        before.assignments,
      );
      const survivors = before.assignments.filter((a) => a.worker !== gone);
      assert.deepEqual(
        after.assignments.filter((a) => survivors.some((s) => s.key === a.key && s.replica === a.replica)),
        survivors,
        `seed ${seed}`,
      );
      assert.ok(after.assignments.every((a) => a.worker !== gone));
    }
  });
});
