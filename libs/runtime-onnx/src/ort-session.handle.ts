import * as ort from 'onnxruntime-node';
import { ORT_TYPE_OF_ONNX_ELEMENT } from './onnx-datatype.map';
import { OrtRunQueue } from './ort-run.queue';

/** Feeds of one run, by input name. */
export type OrtFeeds = Record<string, ort.Tensor>;
/** Outputs of one run, by output name. */
export type OrtResults = Record<string, ort.OnnxValue>;

/** An onnxruntime session as this library runs it, whichever way onnxruntime-node opened it. */
export interface OrtSessionHandle {
  readonly inputMetadata: readonly ort.InferenceSession.ValueMetadata[];
  readonly outputMetadata: readonly ort.InferenceSession.ValueMetadata[];
  readonly outputNames: readonly string[];
  /**
   * Runs on the calling thread and returns when done: the native binding's own call. Undefined when the
   * session was opened through the public API only, which answers one event-loop turn later instead.
   */
  readonly runNow: ((feeds: OrtFeeds) => OrtResults) | undefined;
  /**
   * Runs asynchronously: through the public API, or with the native binding through an OrtRunQueue (the runs
   * of one event-loop turn back to back).
   */
  run(feeds: OrtFeeds): Promise<OrtResults>;
  release(): Promise<void>;
}

/** The parts of `onnxruntime-node/dist/binding` this module uses, checked before use. */
interface NativeBinding {
  readonly binding: { readonly InferenceSession: new () => NativeSession };
  readonly initOrt: () => void;
}

interface NativeValueMetadata {
  readonly name: string;
  readonly isTensor: boolean;
  readonly symbolicDimensions: readonly string[];
  readonly shape: readonly number[];
  /** ONNX TensorProto element type. */
  readonly type: number;
}

interface NativeSession {
  loadModel(buffer: ArrayBufferLike, byteOffset: number, byteLength: number, options: ort.InferenceSession.SessionOptions): void;
  readonly inputMetadata: readonly NativeValueMetadata[];
  readonly outputMetadata: readonly NativeValueMetadata[];
  run(feeds: OrtFeeds, fetches: Record<string, null>, options: ort.InferenceSession.RunOptions): OrtResults;
  dispose(): void;
}

let nativeBinding: Promise<NativeBinding | undefined> | undefined;

/**
 * onnxruntime-node's native binding, the synchronous session its public API wraps; undefined when this
 * onnxruntime-node does not have it where 1.x keeps it (the public API is used then).
 */
function loadNativeBinding(): Promise<NativeBinding | undefined> {
  nativeBinding ??= import('onnxruntime-node/dist/binding.js').then(
    (m: unknown) => {
      const candidate = m as Partial<NativeBinding> | undefined;
      const ctor = candidate?.binding?.InferenceSession;
      if (typeof candidate?.initOrt !== 'function' || typeof ctor !== 'function') return undefined;
      const proto = ctor.prototype as Partial<NativeSession>;
      return typeof proto.loadModel === 'function' && typeof proto.run === 'function' && typeof proto.dispose === 'function' ? (candidate as NativeBinding) : undefined;
    },
    () => undefined,
  );
  return nativeBinding;
}

/**
 * Opens a session from model bytes. Through the native binding when this onnxruntime-node has it: a run
 * is then one synchronous call, where the public API wraps each in a promise answered from a `setImmediate`
 * of its own (see OrtRunQueue for what that changes). `nativeBinding: false` opens through the public API.
 */
export async function openOrtSession(bytes: Uint8Array, options: ort.InferenceSession.SessionOptions, how: { nativeBinding: boolean } = { nativeBinding: true }): Promise<OrtSessionHandle> {
  const native = how.nativeBinding ? await loadNativeBinding() : undefined;
  if (native === undefined) return publicSession(await ort.InferenceSession.create(bytes, options));
  native.initOrt();
  const session = new native.binding.InferenceSession();
  session.loadModel(bytes.buffer, bytes.byteOffset, bytes.byteLength, options);
  try {
    return nativeSession(session);
  } catch (err) {
    session.dispose(); // a model this library cannot describe: its session is not kept
    throw err;
  }
}

function publicSession(session: ort.InferenceSession): OrtSessionHandle {
  return {
    inputMetadata: session.inputMetadata,
    outputMetadata: session.outputMetadata,
    outputNames: session.outputNames,
    runNow: undefined,
    run: (feeds) => session.run(feeds),
    release: () => session.release(),
  };
}

function nativeSession(session: NativeSession): OrtSessionHandle {
  const outputMetadata = session.outputMetadata.map(metadataOf);
  // Every output, every run: what the public API asks for when a caller names none.
  const fetches: Record<string, null> = {};
  for (const m of outputMetadata) fetches[m.name] = null;
  const noOptions: ort.InferenceSession.RunOptions = {};
  const inputMetadata = session.inputMetadata.map(metadataOf);
  const inputNames = new Set(inputMetadata.map((m) => m.name));
  const runNow = (feeds: OrtFeeds): OrtResults => {
    // The public API's checks of the feeds: without them, a missing input fails deep in a kernel.
    let count = 0;
    for (const name in feeds) {
      if (!inputNames.has(name)) throw new Error(`'${name}' is not an input of this model (inputs: ${[...inputNames].join(', ')})`);
      count++;
    }
    if (count !== inputNames.size) for (const name of inputNames) if (feeds[name] === undefined) throw new Error(`input '${name}' is missing from the feeds`);
    return session.run(feeds, fetches, noOptions);
  };
  // The runs of one event-loop turn back to back (see OrtRunQueue), where the session runs synchronously.
  const runs = new OrtRunQueue(runNow);
  let released = false;
  return {
    inputMetadata,
    outputMetadata,
    outputNames: outputMetadata.map((m) => m.name),
    runNow,
    run: (feeds) => runs.run(feeds),
    release: () => {
      if (!released) {
        released = true;
        session.dispose();
      }
      return Promise.resolve();
    },
  };
}

/** The public API's description of a value, from the binding's. */
function metadataOf(m: NativeValueMetadata): ort.InferenceSession.ValueMetadata {
  if (!m.isTensor) return { name: m.name, isTensor: false };
  const type = ORT_TYPE_OF_ONNX_ELEMENT[m.type] as ort.Tensor.Type | undefined;
  if (type === undefined) throw new Error(`model value "${m.name}" has ONNX element type ${m.type}, which onnxruntime-node cannot carry`);
  return { name: m.name, isTensor: true, type, shape: m.shape.map((d, i) => (d >= 0 ? d : (m.symbolicDimensions[i] ?? ''))) };
}
