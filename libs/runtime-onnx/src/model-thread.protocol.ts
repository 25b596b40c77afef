import type { TensorData, TensorSpec } from '@infergraph/protocol';

// Messages between a ModelThreads pool and its model threads. Both sides post arrays: every request queued
// in one turn of the caller's event loop goes as one message, and a thread answers the runs of one message
// together, so a thread wakes once per batch of calls instead of once per call.

/** A tensor on the wire: name, onnxruntime type name, data, shape. */
export type WireTensor = readonly [name: string, ortType: string, data: TensorData, shape: readonly number[]];

export type ThreadRequest =
  | { readonly op: 'open'; readonly id: number; readonly session: number; readonly bytes: Uint8Array; readonly intraOpThreads: number | undefined; readonly preferGpu: boolean }
  | { readonly op: 'run'; readonly id: number; readonly session: number; readonly feeds: readonly WireTensor[] }
  | { readonly op: 'release'; readonly id: number; readonly session: number };

export interface OpenedSession {
  readonly inputs: readonly TensorSpec[];
  readonly outputs: readonly TensorSpec[];
  readonly provider: string;
  readonly providerNote: string | undefined;
  /** worker_threads threadId of the thread that holds the session. */
  readonly threadId: number;
}

/** One answer: an error, a run's outputs (name, data, dims, in the session's output order), or an open's session. */
export interface ThreadReply {
  readonly id: number;
  readonly error?: string;
  readonly outputs?: readonly (readonly [name: string, data: TensorData, dims: readonly number[]])[];
  readonly opened?: OpenedSession;
}
