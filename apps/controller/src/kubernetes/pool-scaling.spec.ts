import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decidePoolReplicas, fitsFreshWorker, workerPoolStatusOf, type PoolScaleInput } from './pool-scaling';

const base: PoolScaleInput = { min: 1, max: 3, current: 1, joined: 1, busy: 1, pendingSinceMs: undefined, surplusSinceMs: undefined, nowMs: 10_000, upAfterMs: 2000, idleAfterMs: 30_000 };

describe('decidePoolReplicas', () => {
  const table: { name: string; input: Partial<PoolScaleInput>; want: number }[] = [
    { name: 'creates a missing Deployment with min', input: { current: undefined }, want: 1 },
    { name: 'keeps a steady pool', input: {}, want: 1 },
    { name: 'adds a worker once replicas waited upAfterMs for capacity', input: { pendingSinceMs: 8000 }, want: 2 },
    { name: 'waits while the pending time is shorter than upAfterMs', input: { pendingSinceMs: 9000 }, want: 1 },
    { name: 'waits for the worker already asked for to join', input: { current: 2, joined: 1, pendingSinceMs: 0 }, want: 2 },
    { name: 'never goes past max', input: { current: 3, joined: 3, busy: 3, pendingSinceMs: 0 }, want: 3 },
    { name: 'brings a Deployment edited past max back', input: { current: 5, joined: 5, busy: 5 }, want: 3 },
    { name: 'removes idle workers after idleAfterMs, down to the busy ones', input: { current: 3, joined: 3, busy: 1, surplusSinceMs: 0, nowMs: 30_000 }, want: 1 },
    { name: 'keeps idle workers until idleAfterMs passed', input: { current: 3, joined: 3, busy: 1, surplusSinceMs: 1, nowMs: 30_000 }, want: 3 },
    { name: 'never goes below min', input: { min: 2, current: 2, joined: 2, busy: 0, surplusSinceMs: 0, nowMs: 60_000 }, want: 2 },
  ];
  for (const c of table) {
    it(`${c.name} (${c.want})`, () => assert.equal(decidePoolReplicas({ ...base, ...c.input }).replicas, c.want));
  }

  it('says why it scales up', () => {
    assert.match(decidePoolReplicas({ ...base, pendingSinceMs: 7000 }).reason, /pending for capacity for 3000 ms/);
  });
});

describe('fitsFreshWorker', () => {
  const size = { cpu: 2, memory: 4 * 1024 ** 3, gpuMemory: 0 };
  const demand = { key: 'g.n', pool: 'cpu', cpu: 1, memory: 1024 ** 3, gpuMemory: 0, replicas: 1 };
  it('counts a replica of the pool that one empty worker could hold', () => assert.equal(fitsFreshWorker(demand, 'cpu', size), true));
  it('does not count a replica larger than any worker of the pool (more workers would not help)', () => assert.equal(fitsFreshWorker({ ...demand, cpu: 64 }, 'cpu', size), false));
  it('does not count a replica of another pool', () => assert.equal(fitsFreshWorker(demand, 'gpu', size), false));
  it('does not count a GPU replica for a pool without GPU memory', () => assert.equal(fitsFreshWorker({ ...demand, gpuMemory: 1 }, 'cpu', size), false));
});

describe('workerPoolStatusOf', () => {
  const noPods = { total: 2, unschedulable: 0, schedulerMessage: undefined };
  it('is Ready once every wanted worker joined, and Degraded when capacity is pending at max', () => {
    const now = new Date('2026-12-04T17:00:00Z');
    const waiting = workerPoolStatusOf({ generation: 1, replicas: 2, joined: 1, pendingForCapacity: false, atMax: false, pods: noPods, problem: undefined, previous: undefined, now });
    assert.equal(waiting.conditions?.find((c) => c.type === 'Ready')?.status, 'False');
    const full = workerPoolStatusOf({ generation: 1, replicas: 2, joined: 2, pendingForCapacity: true, atMax: true, pods: noPods, problem: undefined, previous: undefined, now });
    assert.deepEqual(
      full.conditions?.map((c) => [c.type, c.status, c.reason]),
      [
        ['Ready', 'True', 'WorkersJoined'],
        ['Progressing', 'False', 'WorkersJoined'],
        ['Degraded', 'True', 'AtMaxReplicas'],
      ],
    );
    assert.equal(full.joinedWorkers, 2);
  });

  it('says why the pool is stuck: an invalid spec, or a Deployment it cannot write', () => {
    const now = new Date('2026-12-04T17:00:00Z');
    const s = workerPoolStatusOf({ generation: 2, replicas: 0, joined: 0, pendingForCapacity: false, atMax: false, pods: noPods, problem: { reason: 'DeploymentFailed', message: 'Deployment cpu-workers: 409 already exists' }, previous: undefined, now });
    assert.deepEqual(s.conditions?.find((c) => c.type === 'Degraded'), { type: 'Degraded', status: 'True', reason: 'DeploymentFailed', message: 'Deployment cpu-workers: 409 already exists', lastTransitionTime: '2026-12-04T17:00:00Z' });
  });

  it('is Degraded with the scheduler’s message when pods cannot be scheduled', () => {
    const s = workerPoolStatusOf({
      generation: 1,
      replicas: 1,
      joined: 0,
      pendingForCapacity: false,
      atMax: false,
      pods: { total: 1, unschedulable: 1, schedulerMessage: '0/3 nodes are available: 3 Insufficient nvidia.com/gpu.' },
      problem: undefined,
      previous: undefined,
      now: new Date('2026-12-04T17:00:00Z'),
    });
    const degraded = s.conditions?.find((c) => c.type === 'Degraded');
    assert.deepEqual([degraded?.status, degraded?.reason], ['True', 'Unschedulable']);
    assert.match(degraded?.message ?? '', /1 pod\(s\) cannot be scheduled: 0\/3 nodes are available: 3 Insufficient nvidia\.com\/gpu\./);
  });
});
