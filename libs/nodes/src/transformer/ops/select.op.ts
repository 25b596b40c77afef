import { type TensorMap } from '@infergraph/protocol';
import { tensorOf } from '../tensor-values';
import type { StepOf, TransformOp } from '../transform-op';
import { findTensors } from './step-checks';

/** Keeps only the listed tensors, in the listed order. */
export const selectOp: TransformOp<StepOf<'select'>> = {
  type(step, tensors, problems) {
    const kept = findTensors(tensors, step.tensors, 'tensors', problems);
    return kept && new Map(kept.map((s) => [s.name, s]));
  },

  apply(step, tensors): TensorMap {
    return new Map(step.tensors.map((n) => [n, tensorOf(tensors, n)]));
  },
};
