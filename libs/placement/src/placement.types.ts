/** A worker process as it advertises itself to the controller. */
export interface WorkerCapacity {
  /** Unique id; between equally good workers, the lexicographically smaller id wins. */
  readonly id: string;
  /** Pool label, e.g. "cpu" or "gpu"; a replica only goes to a worker of its own pool. */
  readonly pool: string;
  /** CPU cores, fractions allowed (0.5); accounted at millicore precision. */
  readonly cpu: number;
  /** Memory in bytes. */
  readonly memory: number;
  /** Number of GPUs; 0 for a CPU-only worker. */
  readonly gpuCount: number;
  /** GPU memory in bytes, summed over the worker's GPUs. */
  readonly gpuMemory: number;
}

/** What every replica of one graph node needs, already parsed into cores and bytes. */
export interface ReplicaDemand {
  /** `graph/node`; unique among the demands of one call. */
  readonly key: string;
  readonly pool: string;
  /** Cores per replica. */
  readonly cpu: number;
  /** Memory bytes per replica. */
  readonly memory: number;
  /** GPU memory bytes per replica; above 0, only workers with a GPU qualify. */
  readonly gpuMemory: number;
  /** Wanted replica count; replicas are numbered 0 .. replicas-1. */
  readonly replicas: number;
  /**
   * The graph this node belongs to (its name, as reasons say `graph "<group>"`). Replica 0 of every demand of
   * one group is placed as a unit or not at all; without a group, a demand is a unit of its own.
   */
  readonly group?: string;
}

/** Replica `replica` of node `key` runs on worker `worker`. */
export interface ReplicaAssignment {
  readonly key: string;
  readonly replica: number;
  readonly worker: string;
}

/** An assignment from the previous plan (or observed running), kept if still valid. */
export type CurrentAssignment = ReplicaAssignment;

/** How far `placeReplicas` may go beyond keeping what runs. */
export interface PlacementOptions {
  /**
   * At most this many rebalancing moves per call (a whole number, or Infinity); default 0: every valid current
   * assignment stays where it is, apart from un-doubling.
   */
  readonly maxMoves?: number;
}

/**
 * Replica `replica` of node `key` runs on worker `from` (per the current assignments) and the plan puts it on
 * `to`: the caller can start it on `to` and keep `from` serving until the new one is ready.
 */
export interface ReplicaMove {
  readonly key: string;
  readonly replica: number;
  readonly from: string;
  readonly to: string;
}

/** A replica no worker can take now, with a reason a person can act on. */
export interface PendingReplica {
  readonly key: string;
  readonly replica: number;
  readonly reason: string;
}

/** What is left on a worker once the plan is applied: cores and bytes. */
export interface FreeCapacity {
  readonly cpu: number;
  readonly memory: number;
  readonly gpuMemory: number;
}

/** The outcome of `placeReplicas`; lists are sorted by key, then replica. */
export interface PlacementPlan {
  readonly assignments: readonly ReplicaAssignment[];
  readonly pending: readonly PendingReplica[];
  /** Every replica taken off a worker it runs on that is still given; `assignments` shows it on `to`. */
  readonly moves: readonly ReplicaMove[];
  /** Free capacity per worker id, for every worker given. */
  readonly free: Readonly<Record<string, FreeCapacity>>;
}
