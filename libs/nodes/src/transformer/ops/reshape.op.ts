import { elementCount, formatShape, type TensorMap } from '@infergraph/protocol';
import { tensorOf } from '../tensor-values';
import type { StepOf, TransformOp } from '../transform-op';
import { findTensor, withTensors } from './step-checks';

/** Same elements in a new shape; one -1 takes whatever size makes the element count match. */
export const reshapeOp: TransformOp<StepOf<'reshape'>> = {
  type(step, tensors, problems) {
    const input = findTensor(tensors, step.tensor, 'tensor', problems);
    if (input === undefined) return undefined;
    const name = step.output ?? step.tensor;
    const inferred = step.shape.filter((d) => d === -1).length;
    if (inferred > 1) {
      problems.push({
        field: 'shape',
        message: `shape ${formatShape(step.shape)} has ${inferred} dimensions of -1; at most one can be inferred`,
      });
      return undefined;
    }
    // With a dynamic input dimension the count is only known at run time; -1 stays dynamic until then.
    if (input.shape.some((d) => d < 0)) return withTensors(tensors, { ...input, name, shape: step.shape });
    const count = elementCount(input.shape);
    const known = elementCount(step.shape.filter((d) => d !== -1));
    if (inferred === 0 ? known !== count : count % known !== 0) {
      problems.push({
        field: 'shape',
        message: `cannot reshape tensor "${input.name}" ${formatShape(input.shape)} (${count} elements) to ${formatShape(step.shape)}`,
      });
      return undefined;
    }
    return withTensors(tensors, { ...input, name, shape: step.shape.map((d) => (d === -1 ? count / known : d)) });
  },

  apply(step, tensors, typed): TensorMap {
    const input = tensorOf(tensors, step.tensor);
    const name = step.output ?? step.tensor;
    return withTensors(tensors, { ...input, name, shape: tensorOf(typed, name).shape });
  },
};
