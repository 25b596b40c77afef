import { type TensorMap } from '@infergraph/protocol';
import { floatTensorLike, numbersOf, tensorOf } from '../tensor-values';
import type { StepOf, TransformOp } from '../transform-op';
import { checkLastAxisParams, lastDim, paramAt } from './last-axis-params';
import { findTensor, requireKind, withTensors } from './step-checks';

/** y = (x - mean[j]) / std[j], j the index along the last axis. */
export const standardizeOp: TransformOp<StepOf<'standardize'>> = {
  type(step, tensors, problems) {
    const input = findTensor(tensors, step.tensor, 'tensor', problems);
    if (input === undefined) return undefined;
    requireKind(step.op, input, 'float', problems);
    checkLastAxisParams(input, { mean: step.mean, std: step.std }, problems);
    const zero = step.std.indexOf(0);
    if (zero >= 0) problems.push({ field: 'std', message: `std[${zero}] is 0; every std must be non-zero` });
    return withTensors(tensors, { ...input, name: step.output ?? step.tensor });
  },

  apply(step, tensors): TensorMap {
    const input = tensorOf(tensors, step.tensor);
    const features = lastDim(input.shape);
    const y = numbersOf(input).map((x, i) => (x - paramAt(step.mean, i % features)) / paramAt(step.std, i % features));
    return withTensors(tensors, floatTensorLike(input, step.output ?? step.tensor, y));
  },
};
