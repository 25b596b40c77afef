import type { InferenceError, TensorMap } from '@infergraph/protocol';

/** How a node ended for one request. Node promises resolve to an outcome and never reject. */
export type NodeOutcome =
  | { readonly status: 'ok'; readonly tensors: TensorMap }
  | { readonly status: 'skipped' }
  | { readonly status: 'failed'; readonly error: InferenceError };

export const SKIPPED: NodeOutcome = Object.freeze({ status: 'skipped' });

export function ok(tensors: TensorMap): NodeOutcome {
  return { status: 'ok', tensors };
}
