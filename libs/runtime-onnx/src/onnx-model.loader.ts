import * as ort from 'onnxruntime-node';
import type { Tensor, TensorMap, TensorSpec } from '@infergraph/protocol';
import type { ModelLoadOptions, ModelLoader, ModelSession, ModelSignature } from '@infergraph/nodes';
import { ORT_TYPE_OF } from './onnx-datatype.map';
import { readOnnxSignature } from './onnx-signature.reader';
import { readOnnxSignatureFileOffLoop } from './onnx-signature.thread';
import { createOrtSession, type CreatedOrtSession } from './onnx-session.factory';
import type { OrtFeeds, OrtSessionHandle } from './ort-session.handle';
import { ModelThreads, type ThreadedModelSession } from './model-threads';

/** Per-load options of onnxruntime sessions, beyond the port's. */
export interface OnnxModelLoadOptions extends ModelLoadOptions {
  /**
   * Try the CUDA execution provider first, falling back to CPU when it cannot be loaded (the session
   * says which one it got). Undefined: the loader's default (`preferGpu` of its constructor).
   */
  readonly preferGpu?: boolean | undefined;
}

/** A session this loader created, on its own thread or in a model thread. */
type HeldSession = OnnxModelSession | ThreadedModelSession;

interface CachedSession {
  readonly session: Promise<HeldSession>;
  /** Loads not yet given back with `release`. */
  users: number;
}

export interface OnnxModelLoaderOptions {
  /**
   * The default for loads that do not say (see OnnxModelLoadOptions.preferGpu). Workers choose per node
   * instead, with `preferring`.
   */
  readonly preferGpu?: boolean;
  /**
   * Hold sessions in up to this many model threads (ModelThreads), so that opening and running models never
   * block this thread's event loop; 0 or undefined: sessions open and run on the caller's thread.
   */
  readonly modelThreads?: number;
  /** A model thread failed or exited: its sessions are gone. */
  readonly onThreadExit?: (why: string) => void;
  /**
   * Which sessions the model threads hold: `all` (the default); `while-serving`: those opened while the
   * process serves calls (as `servingWhen` tells), where opening on the event loop would stall the calls,
   * sessions opened while it serves none opening and running on the caller's thread, where a run costs least;
   * `large`: those of models of at least `largeModelBytes`, whose runs are long enough that running them
   * beside the event loop's other work (reading, decoding, answering requests) gains more than the thread
   * hop costs, the others on the caller's thread.
   */
  readonly threadsFor?: 'all' | 'while-serving' | 'large';
  /** With `threadsFor: 'large'`: the smallest model, in bytes, a model thread holds (default 1 MiB). */
  readonly largeModelBytes?: number;
}

/**
 * The size from which a model's session goes to a model thread with `threadsFor: 'large'`. Measured on the
 * bench's two models (docs/decisions.md): the 4.5 MB digits MLP answers 1.3× the requests a second in a thread
 * (its run is ~0.25 ms), the 1 KB iris regression loses a third (its run is a few µs, less than the hop).
 */
export const DEFAULT_LARGE_MODEL_BYTES = 1024 * 1024;

/**
 * onnxruntime-node behind the ModelLoader port. One InferenceSession per distinct model content and
 * options, shared by every node and graph that uses it, and counted: `release` gives one load back and
 * frees the session when no load holds it any more.
 */
export class OnnxModelLoader implements ModelLoader {
  private readonly sessions = new Map<string, CachedSession>();
  /** The cache key of each created session, for `release`. */
  private readonly keyOf = new Map<ModelSession, string>();
  private readonly threads: ModelThreads | undefined;
  private serving: () => boolean = () => false;

  constructor(private readonly options: OnnxModelLoaderOptions = {}) {
    const modelThreads = options.modelThreads ?? 0;
    this.threads = modelThreads > 0 ? new ModelThreads({ maxThreads: modelThreads, ...(options.onThreadExit === undefined ? {} : { onThreadExit: options.onThreadExit }) }) : undefined;
  }

  /** Every session opened now goes to a model thread, never touching the caller's event loop. */
  get opensOffLoop(): boolean {
    if (this.threads === undefined) return false;
    switch (this.options.threadsFor ?? 'all') {
      case 'all':
        return true;
      case 'while-serving':
        return this.serving();
      case 'large':
        return false; // only some: those of large models
    }
  }

  /** Whether a session of the model `bytes` opens in a model thread now. */
  private opensInThread(bytes: Uint8Array): boolean {
    if (this.threads === undefined) return false;
    if (this.options.threadsFor === 'large') return bytes.byteLength >= (this.options.largeModelBytes ?? DEFAULT_LARGE_MODEL_BYTES);
    return this.opensOffLoop;
  }

  /** With `threadsFor: 'while-serving'`: tells whether the process serves calls now. */
  servingWhen(serving: () => boolean): void {
    this.serving = serving;
  }

  /** Model threads and the sessions each holds; empty when sessions live on the caller's thread. */
  threadStats(): { threadId: number; sessions: number; runs: number }[] {
    return this.threads?.stats() ?? [];
  }

  load(key: string, bytes: Uint8Array, options: OnnxModelLoadOptions): Promise<ModelSession> {
    const preferGpu = options.preferGpu ?? this.options.preferGpu === true;
    const cacheKey = `${key}|${options.intraOpThreads ?? ''}|${preferGpu ? 'gpu' : 'cpu'}`;
    let cached = this.sessions.get(cacheKey);
    if (cached === undefined) {
      const session: Promise<HeldSession> = this.threads !== undefined && this.opensInThread(bytes) ? this.threads.open(bytes, options, preferGpu) : createSession(bytes, options, preferGpu);
      cached = { session, users: 0 };
      this.sessions.set(cacheKey, cached);
      session.then(
        (created) => this.keyOf.set(created, cacheKey),
        () => this.sessions.delete(cacheKey),
      );
    }
    cached.users++;
    return cached.session;
  }

  signature(bytes: Uint8Array): ModelSignature {
    return readOnnxSignature(bytes);
  }

  signatureOfFile(path: string): Promise<ModelSignature> {
    return readOnnxSignatureFileOffLoop(path);
  }

  /** A view of this loader (same sessions) whose loads prefer the GPU, or not, unless they say otherwise. */
  preferring(preferGpu: boolean): ModelLoader & { release(session: ModelSession): Promise<void> } {
    const opensOffLoop = (): boolean => this.opensOffLoop;
    return {
      // Asked at each load: with threadsFor 'while-serving' the answer changes as calls come and go.
      get opensOffLoop(): boolean {
        return opensOffLoop();
      },
      load: (key, bytes, options: OnnxModelLoadOptions) => this.load(key, bytes, { ...options, preferGpu: options.preferGpu ?? preferGpu }),
      signature: (bytes) => this.signature(bytes),
      signatureOfFile: (path) => this.signatureOfFile(path),
      release: (session) => this.release(session),
    };
  }

  /** Gives back one load of `session`; the last one frees it. Sessions it did not create are ignored. */
  async release(session: ModelSession): Promise<void> {
    const cacheKey = this.keyOf.get(session);
    const cached = cacheKey === undefined ? undefined : this.sessions.get(cacheKey);
    if (cacheKey === undefined || cached === undefined || --cached.users > 0) return;
    this.sessions.delete(cacheKey);
    this.keyOf.delete(session);
    await (session as HeldSession).release();
  }

  async close(): Promise<void> {
    const all = [...this.sessions.values()];
    this.sessions.clear();
    this.keyOf.clear();
    await Promise.allSettled(all.map(async (c) => (await c.session).release()));
    await this.threads?.close();
  }
}

async function createSession(bytes: Uint8Array, options: ModelLoadOptions, preferGpu: boolean): Promise<OnnxModelSession> {
  const created = await createOrtSession(bytes, options, preferGpu);
  return new OnnxModelSession(created);
}

/** A session on the loader's own thread. */
class OnnxModelSession implements ModelSession {
  readonly inputs: readonly TensorSpec[];
  readonly outputs: readonly TensorSpec[];
  readonly provider: string;
  readonly providerNote: string | undefined;
  private readonly session: OrtSessionHandle;

  constructor(created: CreatedOrtSession) {
    this.session = created.session;
    this.inputs = created.inputs;
    this.outputs = created.outputs;
    this.provider = created.provider;
    this.providerNote = created.providerNote;
  }

  async run(feeds: TensorMap): Promise<TensorMap> {
    const ortFeeds: OrtFeeds = {};
    for (const t of feeds.values()) {
      ortFeeds[t.name] = new ort.Tensor(ORT_TYPE_OF[t.datatype] as ort.Tensor.Type, t.data, t.shape);
    }
    const results = await this.session.run(ortFeeds);
    const out = new Map<string, Tensor>();
    for (const spec of this.outputs) {
      const value = results[spec.name];
      if (value === undefined) continue;
      out.set(spec.name, {
        name: spec.name,
        datatype: spec.datatype,
        shape: value.dims, // a new array per output tensor of every run: no copy needed
        data: value.data,
      });
    }
    return out;
  }

  release(): Promise<void> {
    return this.session.release();
  }
}
