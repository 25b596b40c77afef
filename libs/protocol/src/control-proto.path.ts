import path from 'node:path';

/** The control-plane service definition (workers joining, gateways watching routes). */
export const CONTROL_PROTO_PATH = path.join(__dirname, '..', 'proto', 'control.proto');

/** Plain-object forms of control.proto messages (proto-loader, keepCase, longs as String). */
export interface WorkerHelloMessage {
  worker_id: string;
  pool: string;
  address: string;
  capacity: { cpu: number; memory: string | number; gpu_count: number; gpu_memory: string | number };
}

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
  body?: 'hello' | 'heartbeat' | 'replica';
}

export interface AssignmentMessage {
  graphs: { name: string; file: string }[];
  replicas: { key: string; replica: number }[];
}

export interface ControllerMessage {
  assignment?: AssignmentMessage | null;
  body?: 'assignment';
}

export interface RoutingTableMessage {
  version: string | number;
  routes: { key: string; addresses: string[] }[];
}
