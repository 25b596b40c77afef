import { type TensorMap } from '@infergraph/protocol';
import { floatTensorLike, numbersOf, tensorOf } from '../tensor-values';
import { StepDataError, type StepOf, type TransformOp } from '../transform-op';
import { findTensor, requireKind, withTensors } from './step-checks';

/** y = ln(1 + x); values below -1 are bad data. */
export const log1pOp: TransformOp<StepOf<'log1p'>> = {
  type(step, tensors, problems) {
    const input = findTensor(tensors, step.tensor, 'tensor', problems);
    if (input === undefined) return undefined;
    requireKind(step.op, input, 'float', problems);
    return withTensors(tensors, { ...input, name: step.output ?? step.tensor });
  },

  apply(step, tensors): TensorMap {
    const input = tensorOf(tensors, step.tensor);
    const y = numbersOf(input).map((x, i) => {
      if (x < -1) throw new StepDataError(`tensor "${input.name}" element ${i} is ${x}; log1p needs values >= -1`);
      return Math.log1p(x);
    });
    return withTensors(tensors, floatTensorLike(input, step.output ?? step.tensor, y));
  },
};
