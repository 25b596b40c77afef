import * as ort from 'onnxruntime-node';
import type { Tensor, TensorMap, TensorSpec } from '@infergraph/protocol';
import type { ModelLoadOptions, ModelLoader, ModelSession, ModelSignature } from '@infergraph/nodes';
import { ORT_TYPE_OF, datatypeOfOrt } from './onnx-datatype.map';
import { readOnnxSignature } from './onnx-signature.reader';

/** Per-load options of onnxruntime sessions, beyond the port's. */
export interface OnnxModelLoadOptions extends ModelLoadOptions {
  /**
   * Try the CUDA execution provider first, falling back to CPU when it cannot be loaded (the session
   * says which one it got). Undefined: the loader's default (`preferGpu` of its constructor).
   */
  readonly preferGpu?: boolean | undefined;
}

interface CachedSession {
  readonly session: Promise<OnnxModelSession>;
  /** Loads not yet given back with `release`. */
  users: number;
}

/**
 * onnxruntime-node behind the ModelLoader port. One InferenceSession per distinct model content and
 * options, shared by every node and graph that uses it, and counted: `release` gives one load back and
 * frees the session when no load holds it any more.
 */
export class OnnxModelLoader implements ModelLoader {
  private readonly sessions = new Map<string, CachedSession>();
  /** The cache key of each created session, for `release`. */
  private readonly keyOf = new Map<ModelSession, string>();

  /**
   * `preferGpu`: the default for loads that do not say (see OnnxModelLoadOptions.preferGpu). Workers
   * choose per node instead, with `preferring`.
   */
  constructor(private readonly options: { preferGpu?: boolean } = {}) {}

  load(key: string, bytes: Uint8Array, options: OnnxModelLoadOptions): Promise<ModelSession> {
    const preferGpu = options.preferGpu ?? this.options.preferGpu === true;
    const cacheKey = `${key}|${options.intraOpThreads ?? ''}|${preferGpu ? 'gpu' : 'cpu'}`;
    let cached = this.sessions.get(cacheKey);
    if (cached === undefined) {
      const session = createSession(bytes, options, preferGpu);
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

  /** A view of this loader (same sessions) whose loads prefer the GPU, or not, unless they say otherwise. */
  preferring(preferGpu: boolean): ModelLoader & { release(session: ModelSession): Promise<void> } {
    return {
      load: (key, bytes, options: OnnxModelLoadOptions) => this.load(key, bytes, { ...options, preferGpu: options.preferGpu ?? preferGpu }),
      signature: (bytes) => this.signature(bytes),
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
    await (session as OnnxModelSession).release();
  }

  async close(): Promise<void> {
    const all = [...this.sessions.values()];
    this.sessions.clear();
    this.keyOf.clear();
    await Promise.allSettled(all.map(async (c) => (await c.session).release()));
  }
}

async function createSession(bytes: Uint8Array, options: ModelLoadOptions, preferGpu: boolean): Promise<OnnxModelSession> {
  // Idle intra-op threads must not spin: they would take cores from the event loop that feeds them.
  const sessionOptions: ort.InferenceSession.SessionOptions = { executionProviders: ['cpu'], graphOptimizationLevel: 'all', extra: { session: { intra_op: { allow_spinning: '0' } } } };
  if (options.intraOpThreads !== undefined) sessionOptions.intraOpNumThreads = options.intraOpThreads;
  let fallback: string | undefined;
  if (preferGpu) {
    try {
      const gpu = await ort.InferenceSession.create(bytes, { ...sessionOptions, executionProviders: ['cuda'] });
      return new OnnxModelSession(gpu, 'cuda', undefined);
    } catch (err) {
      fallback = `CUDA execution provider unavailable (${(err instanceof Error ? err.message : String(err)).split('\n')[0] ?? ''}); using CPU`;
    }
  }
  const session = await ort.InferenceSession.create(bytes, sessionOptions);
  return new OnnxModelSession(session, 'cpu', fallback);
}

class OnnxModelSession implements ModelSession {
  readonly inputs: readonly TensorSpec[];
  readonly outputs: readonly TensorSpec[];

  constructor(
    private readonly session: ort.InferenceSession,
    readonly provider: string,
    readonly providerNote: string | undefined,
  ) {
    this.inputs = session.inputMetadata.map((m) => specOf(m, 'input'));
    this.outputs = session.outputMetadata.map((m) => specOf(m, 'output'));
  }

  async run(feeds: TensorMap): Promise<TensorMap> {
    const ortFeeds: Record<string, ort.Tensor> = {};
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

function specOf(meta: ort.InferenceSession.ValueMetadata, role: 'input' | 'output'): TensorSpec {
  if (!meta.isTensor) {
    throw new Error(
      `model ${role} "${meta.name}" is not a tensor (a sequence or map, such as skl2onnx's ZipMap); re-export the model with tensor outputs (skl2onnx: options={'zipmap': False})`,
    );
  }
  const datatype = datatypeOfOrt(meta.type);
  if (datatype === undefined) {
    throw new Error(`model ${role} "${meta.name}" has element type ${meta.type}, which the Open Inference Protocol cannot carry`);
  }
  return { name: meta.name, datatype, shape: meta.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : -1)) };
}
