import path from 'node:path';

/** The control-plane service definition (workers joining, gateways watching routes). */
export const CONTROL_PROTO_PATH = path.join(__dirname, '..', 'proto', 'control.proto');

/** Plain-object forms of control.proto messages (proto-loader, keepCase, longs as String). */
export interface WorkerHelloMessage {
  worker_id: string;
  pool: string;
  address: string;
  capacity: { cpu: number; memory: string | number; gpu_count: number; gpu_memory: string | number } | null;
  /** Replicas the worker holds now (a restarted controller adopts them). */
  held?: ReplicaStateMessage[];
  /** The graphs of those replicas, as loaded (file and content hash). */
  graphs?: GraphRefMessage[];
  /** Random per process start. */
  incarnation?: string;
  draining?: boolean;
}

export interface GraphRefMessage {
  name: string;
  /** Where the graph is at the controller; its relative paths resolve beside it. Never read by the receiver. */
  file: string;
  /** sha256 (hex) of the graph document's UTF-8 bytes. */
  content_hash: string;
  /** The graph document (assignments and catalogues); empty in a worker's hello. */
  source?: string;
}

/**
 * The most bytes one control-plane message may have (grpc-js refuses larger ones on receipt): assignments
 * and catalogues carry graph documents, each at most MAX_GRAPH_BYTES (256 KiB), so this holds 200 of them.
 */
export const CONTROL_MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

export interface ReplicaStateMessage {
  key: string;
  replica: number;
  state: 'LOADING' | 'READY' | 'FAILED';
  reason: string;
  provider: string;
}

export interface WorkerMessage {
  hello?: WorkerHelloMessage | null;
  heartbeat?: { in_flight: number; loads?: { key: string; in_flight: number }[] } | null;
  replica?: ReplicaStateMessage | null;
  drain?: { in_flight: number } | null;
  body?: 'hello' | 'heartbeat' | 'replica' | 'drain';
}

export interface AssignmentMessage {
  graphs: GraphRefMessage[];
  replicas: { key: string; replica: number }[];
  epoch: string;
}

export interface ControllerMessage {
  assignment?: AssignmentMessage | null;
  release?: { reason: string } | null;
  body?: 'assignment' | 'release';
}

export interface RoutingTableMessage {
  version: string | number;
  routes: { key: string; addresses: string[] }[];
  /** The controller incarnation; changes on every controller start. */
  epoch: string;
  /** False only while a restarted controller waits for its workers to rejoin. */
  synced: boolean;
}

export interface CatalogueMessage {
  epoch: string;
  graphs: GraphRefMessage[];
}
