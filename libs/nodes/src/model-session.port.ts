import type { TensorMap, TensorSpec } from '@infergraph/protocol';

/** A loaded model, as the model node sees it; implemented by runtime adapters (onnxruntime-node). */
export interface ModelSession {
  /** Input tensors from the model file; symbolic dimensions are -1. */
  readonly inputs: readonly TensorSpec[];
  readonly outputs: readonly TensorSpec[];
  /** Execution provider actually in use, e.g. "cpu" or "cuda". */
  readonly provider: string;
  /** Why the provider differs from the one asked for (e.g. CUDA unavailable), if it does. */
  readonly providerNote?: string | undefined;
  run(feeds: TensorMap): Promise<TensorMap>;
}

export interface ModelLoadOptions {
  readonly intraOpThreads?: number | undefined;
}

/** A model's inputs and outputs, read without loading it: enough to type a node that runs elsewhere. */
export type ModelSignature = Pick<ModelSession, 'inputs' | 'outputs'>;

/** Creates sessions from model bytes; implementations cache and reuse them. */
export interface ModelLoader {
  /**
   * A session for the model `bytes` (content key `key`). The loader may take the bytes (a model thread
   * receives them without a copy, leaving the caller's buffer empty): callers hand them over.
   */
  load(key: string, bytes: Uint8Array, options: ModelLoadOptions): Promise<ModelSession>;
  /**
   * The model's signature from its bytes, without a session (no runtime memory, no blocking load); throws
   * what `load` would for a model it cannot describe. Absent: processes open a session to learn it.
   */
  signature?(bytes: Uint8Array): ModelSignature;
  /** `signature` of a model file, reading only what it needs of the file (not the weights). */
  signatureOfFile?(path: string): Promise<ModelSignature>;
  /** Gives one `load` back; a session no load holds any more is closed. Absent: sessions live as long as the loader. */
  release?(session: ModelSession): Promise<void>;
  /**
   * True when `load` does its work off the caller's event loop (a session opened in another thread): such
   * loads need not wait their turn behind other models' opens. Absent: `load` may block the loop.
   */
  readonly opensOffLoop?: boolean;
}
