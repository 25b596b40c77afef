import type { GraphStreamOptions, StreamedGraph } from './kafka-graph.stream';
import type { PipelineStats } from './pipelined.consumer';

/** How the stream thread connects (its own client: its own producer and consumer connections). */
export interface StreamThreadSettings {
  readonly brokers: readonly string[];
  readonly clientId: string;
  /** Producer linger (KafkaClientOptions.lingerMs). */
  readonly lingerMs: number;
}

/**
 * Most records in one message to the event loop, and most answers in one message back. Smaller messages let
 * the two threads overlap (the loop answers one chunk while the thread produces the answers of the one before):
 * 16 and 64 measured the same, 256 or a whole event-loop turn 5–10 % slower (docs/decisions.md).
 */
export const MESSAGE_CHUNK = 64;

/** What the stream thread starts with (its workerData). */
export interface StreamThreadData {
  readonly settings: StreamThreadSettings;
  readonly options: GraphStreamOptions;
  readonly graphs: readonly StreamedGraph[];
}

/**
 * One record handed to the event loop. Its value is `bytes[valueStart, valueEnd)` of the message it came in
 * (valueEnd -1: no value); the key stays in the thread, which produces the answer.
 */
export interface ThreadRecord {
  readonly id: number;
  /** Index into StreamThreadData.graphs. */
  readonly graph: number;
  readonly partition: number;
  readonly offset: string;
  readonly valueStart: number;
  readonly valueEnd: number;
  readonly headers: Record<string, string>;
}

/** A record's answer: produced with the request's key; `echo` sends the request's own value (errors topic). */
export type ThreadAnswer =
  | { readonly id: number; readonly topic: string; readonly value: string | Uint8Array | null; readonly echo: boolean; readonly headers: Record<string, string> }
  /** Not answered (a full batch queue past its retries, or stopping): the record is consumed again. */
  | { readonly id: number; readonly unanswered: string };

export type ThreadToLoop =
  | { readonly type: 'started' }
  | { readonly type: 'failed'; readonly message: string }
  | { readonly type: 'records'; readonly bytes: ArrayBuffer; readonly records: readonly ThreadRecord[] }
  | { readonly type: 'stats'; readonly stats: PipelineStats }
  | { readonly type: 'log'; readonly level: 'log' | 'warn'; readonly message: string }
  | { readonly type: 'stopped' };

export type LoopToThread = { readonly type: 'answers'; readonly answers: readonly ThreadAnswer[] } | { readonly type: 'stop' };
