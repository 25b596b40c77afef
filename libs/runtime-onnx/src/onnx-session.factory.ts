import type * as ort from 'onnxruntime-node';
import type { TensorSpec } from '@infergraph/protocol';
import type { ModelLoadOptions } from '@infergraph/nodes';
import { datatypeOfOrt } from './onnx-datatype.map';
import { openOrtSession, type OrtSessionHandle } from './ort-session.handle';

/** An onnxruntime session with the provider it got and the model's tensor signature. */
export interface CreatedOrtSession {
  readonly session: OrtSessionHandle;
  readonly provider: string;
  /** Why the provider differs from the one asked for (CUDA unavailable), if it does. */
  readonly providerNote: string | undefined;
  readonly inputs: readonly TensorSpec[];
  readonly outputs: readonly TensorSpec[];
}

/**
 * Creates a session from model bytes: synchronous work in onnxruntime-node (parsing, graph optimisation,
 * weight pre-packing), so callers that serve requests run it in a model thread. With `preferGpu`, CUDA is
 * tried first and CPU used when it cannot be loaded. Throws for models the protocol cannot carry.
 */
export async function createOrtSession(bytes: Uint8Array, options: ModelLoadOptions, preferGpu: boolean): Promise<CreatedOrtSession> {
  // Idle intra-op threads must not spin: they would take cores from the event loop that feeds them.
  const sessionOptions: ort.InferenceSession.SessionOptions = { executionProviders: ['cpu'], graphOptimizationLevel: 'all', extra: { session: { intra_op: { allow_spinning: '0' } } } };
  if (options.intraOpThreads !== undefined) sessionOptions.intraOpNumThreads = options.intraOpThreads;
  let fallback: string | undefined;
  if (preferGpu) {
    try {
      return described(await openOrtSession(bytes, { ...sessionOptions, executionProviders: ['cuda'] }), 'cuda', undefined);
    } catch (err) {
      fallback = `CUDA execution provider unavailable (${(err instanceof Error ? err.message : String(err)).split('\n')[0] ?? ''}); using CPU`;
    }
  }
  return described(await openOrtSession(bytes, sessionOptions), 'cpu', fallback);
}

async function described(session: OrtSessionHandle, provider: string, providerNote: string | undefined): Promise<CreatedOrtSession> {
  try {
    return {
      session,
      provider,
      providerNote,
      inputs: session.inputMetadata.map((m) => specOf(m, 'input')),
      outputs: session.outputMetadata.map((m) => specOf(m, 'output')),
    };
  } catch (err) {
    await session.release();
    throw err;
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
