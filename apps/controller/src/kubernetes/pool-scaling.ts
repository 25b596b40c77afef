import type { ReplicaDemand } from '@infergraph/placement';
import type { GraphCondition, WorkerPoolStatus } from '@infergraph/spec';

/** One worker of a pool, as placement counts it. */
export interface PoolWorkerSize {
  readonly cpu: number;
  readonly memory: number;
  readonly gpuMemory: number;
}

/** Whether a fresh worker of the pool could take a replica of `demand`: more workers would help it. */
export function fitsFreshWorker(demand: ReplicaDemand, pool: string, size: PoolWorkerSize): boolean {
  return demand.pool === pool && demand.cpu <= size.cpu && demand.memory <= size.memory && demand.gpuMemory <= size.gpuMemory;
}

export interface PoolScaleInput {
  readonly min: number;
  readonly max: number;
  /** The Deployment's replicas now (undefined: no Deployment yet). */
  readonly current: number | undefined;
  /** Workers of the pool joined to the controller. */
  readonly joined: number;
  /** Workers of the pool that hold at least one replica. */
  readonly busy: number;
  /** Since when replicas that a fresh worker of this pool could hold have been pending (undefined: none are). */
  readonly pendingSinceMs: number | undefined;
  /** Since when the pool has had more workers than busy ones, with nothing pending (undefined: it has not). */
  readonly surplusSinceMs: number | undefined;
  readonly nowMs: number;
  readonly upAfterMs: number;
  readonly idleAfterMs: number;
}

/**
 * How many workers a pool's Deployment should have: within [min, max]; one more when replicas that a
 * fresh worker could take have waited `upAfterMs` and every worker asked for has joined (so a worker still
 * starting is not counted twice); down to the busy workers (never below min) once the surplus lasted
 * `idleAfterMs`. Pure: times come in.
 */
export function decidePoolReplicas(input: PoolScaleInput): { replicas: number; reason: string } {
  const base = Math.min(input.max, Math.max(input.min, input.current ?? input.min));
  if (input.current === undefined) return { replicas: base, reason: `created with replicas.min (${input.min})` };
  if (base !== input.current) return { replicas: base, reason: `kept within [${input.min}, ${input.max}]` };
  if (input.pendingSinceMs !== undefined) {
    if (base < input.max && input.joined >= base && input.nowMs - input.pendingSinceMs >= input.upAfterMs) {
      return { replicas: base + 1, reason: `replicas pending for capacity for ${input.nowMs - input.pendingSinceMs} ms` };
    }
    return { replicas: base, reason: '' };
  }
  if (input.surplusSinceMs !== undefined && input.nowMs - input.surplusSinceMs >= input.idleAfterMs) {
    const wanted = Math.max(input.min, Math.min(base, input.busy));
    if (wanted < base) return { replicas: wanted, reason: `${base - input.busy} worker(s) idle for ${input.idleAfterMs} ms` };
  }
  return { replicas: base, reason: '' };
}

/** The WorkerPool's status subresource: workers wanted and joined, and whether they are all there. */
export function workerPoolStatusOf(input: {
  readonly generation: number | undefined;
  readonly replicas: number;
  readonly joined: number;
  readonly pendingForCapacity: boolean;
  readonly atMax: boolean;
  /** The pool's Pods, and the scheduler's message for those it cannot place (undefined: none). */
  readonly pods: { readonly total: number; readonly unschedulable: number; readonly schedulerMessage: string | undefined };
  /** What stops the pool: an invalid spec, or a Deployment it cannot write (reason, message). */
  readonly problem: { readonly reason: 'InvalidSpec' | 'DeploymentFailed'; readonly message: string } | undefined;
  readonly previous: readonly GraphCondition[] | undefined;
  readonly now: Date;
}): WorkerPoolStatus {
  const conditions: Omit<GraphCondition, 'lastTransitionTime'>[] = [];
  if (input.problem !== undefined) {
    conditions.push(
      { type: 'Ready', status: 'False', ...input.problem },
      { type: 'Progressing', status: 'False', ...input.problem },
      { type: 'Degraded', status: 'True', ...input.problem },
    );
  } else {
    const ready = input.joined >= input.replicas;
    const joined = `${input.joined} of ${input.replicas} worker(s) joined, ${input.pods.total} pod(s)`;
    conditions.push({ type: 'Ready', status: ready ? 'True' : 'False', reason: ready ? 'WorkersJoined' : 'WaitingForWorkers', message: joined });
    conditions.push({ type: 'Progressing', status: ready ? 'False' : 'True', reason: ready ? 'WorkersJoined' : 'WaitingForWorkers', message: joined });
    const full = input.pendingForCapacity && input.atMax;
    const unschedulable = input.pods.unschedulable > 0;
    conditions.push({
      type: 'Degraded',
      status: full || unschedulable ? 'True' : 'False',
      reason: unschedulable ? 'Unschedulable' : full ? 'AtMaxReplicas' : 'WithinLimits',
      message: unschedulable
        ? `${input.pods.unschedulable} pod(s) cannot be scheduled: ${input.pods.schedulerMessage ?? 'no reason given'}`
        : full
          ? 'replicas are pending for capacity and the pool is at replicas.max'
          : joined,
    });
  }
  const at = input.now.toISOString().replace(/\.\d+Z$/, 'Z');
  return {
    ...(input.generation !== undefined ? { observedGeneration: input.generation } : {}),
    replicas: input.replicas,
    joinedWorkers: input.joined,
    conditions: conditions.map((c) => {
      const before = input.previous?.find((p) => p.type === c.type);
      return { ...c, lastTransitionTime: before !== undefined && before.status === c.status ? before.lastTransitionTime : at };
    }),
  };
}
