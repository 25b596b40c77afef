import type { PendingReplica } from '@infergraph/placement';

/** What a replica reports about itself; a new assignment starts LOADING. */
export type ReplicaState = 'LOADING' | 'READY' | 'FAILED';

/** A replica a worker says it holds (in its hello), with its state. */
export interface HeldReplica {
  readonly key: string;
  readonly replica: number;
  readonly state: ReplicaState;
  readonly reason: string;
  readonly provider: string;
}

/** A worker's hello, as the controller receives it on the control stream. */
export interface WorkerHello {
  readonly id: string;
  readonly pool: string;
  /** host:port where the worker serves node calls. */
  readonly address: string;
  /**
   * What the worker holds now: the truth about it. A restarted controller adopts these replicas (when the
   * graph's content hash matches); replicas placed on the worker but not listed go back to LOADING.
   */
  readonly held?: readonly HeldReplica[];
  /** Content hash of each graph the worker has loaded, by graph id (`NodeKey.graphId`: name, or name@version). */
  readonly loadedGraphs?: Readonly<Record<string, string>>;
  /** The worker is shutting down: nothing new is placed on it and its replicas move elsewhere. */
  readonly draining?: boolean;
  readonly capacity: {
    /** Cores. */
    readonly cpu: number;
    /** Bytes. */
    readonly memory: number;
    readonly gpuCount: number;
    /** Bytes, summed over the worker's GPUs. */
    readonly gpuMemory: number;
  };
}

/** The full set of replicas a worker should run, and the graph files they come from (`name`: the graph id). */
export interface WorkerAssignment {
  /** `contentHash`: sha256 of the graph file the controller placed (a worker reloads on a change). */
  readonly graphs: readonly { readonly name: string; readonly file: string; readonly contentHash: string }[];
  readonly replicas: readonly { readonly key: string; readonly replica: number }[];
}

/** Node key (`"<graph>.<node>"`) to the addresses of workers holding a READY replica of it. */
export interface RoutingTable {
  /** Increments whenever `routes` changes. */
  readonly version: number;
  /**
   * Sorted by key; one address per READY replica, sorted (a worker holding two replicas of a node appears
   * twice, so it takes twice the share); nodes without a READY replica are absent.
   */
  readonly routes: readonly { readonly key: string; readonly addresses: readonly string[] }[];
}

export interface ReplanResult {
  /** Workers whose assignment changed (or who have not been sent one since their hello), sorted. */
  readonly changedWorkers: readonly string[];
  /** Whether the routing table changed since the last `replan` or `reportReplica` said so. */
  readonly routingChanged: boolean;
}

/** What a replica report changed: routes, and assignments (a moved replica's old copy is released). */
export interface ReportResult {
  readonly routingChanged: boolean;
  /** Workers whose assignment changed: the old holders of replicas whose replacement became READY. */
  readonly changedWorkers: readonly string[];
}

export interface ReplicaStatus {
  readonly replica: number;
  readonly worker: string;
  readonly state: ReplicaState;
  readonly reason: string;
  readonly provider: string;
  /** Set on the old copy of a moved replica: it serves until its replacement is READY. */
  readonly leaving?: true;
}

/** The JSON of `GET /v1/cluster`. Quantities of bytes are human-readable ("4Gi"); cpu is in cores. */
export interface ClusterStatus {
  readonly workers: readonly {
    readonly id: string;
    readonly pool: string;
    readonly address: string;
    readonly capacity: { readonly cpu: number; readonly memory: string; readonly gpuCount: number; readonly gpuMemory: string };
    readonly free: { readonly cpu: number; readonly memory: string; readonly gpuMemory: string };
    readonly lastHeartbeatAgeMs: number;
    readonly replicas: number;
    readonly draining: boolean;
  }[];
  readonly graphs: readonly {
    readonly name: string;
    /** Set for a version other than the unversioned "1" (its node keys are `"<name>@<version>.<node>"`). */
    readonly version?: string;
    readonly file: string;
    readonly nodes: readonly { readonly key: string; readonly wanted: number; readonly replicas: readonly ReplicaStatus[] }[];
  }[];
  /** Replicas the last `replan` could not place, with the planner's reason. */
  readonly pending: readonly PendingReplica[];
  /** The most recent worker removals, oldest first. */
  readonly removedWorkers: readonly { readonly id: string; readonly reason: string }[];
  readonly routing: RoutingTable;
}
