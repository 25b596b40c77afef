import { type TensorMap } from '@infergraph/protocol';
import { indexAt, tensorOf } from '../tensor-values';
import type { StepOf, TransformOp } from '../transform-op';
import { findTensor, requireKind, withTensors } from './step-checks';

/** Integer indices of shape S → FP32 one-hot vectors of shape S + [depth]. */
export const oneHotOp: TransformOp<StepOf<'oneHot'>> = {
  type(step, tensors, problems) {
    const input = findTensor(tensors, step.tensor, 'tensor', problems);
    if (input === undefined) return undefined;
    requireKind(step.op, input, 'integer', problems);
    return withTensors(tensors, { name: step.output ?? step.tensor, datatype: 'FP32', shape: [...input.shape, step.depth] });
  },

  apply(step, tensors): TensorMap {
    const input = tensorOf(tensors, step.tensor);
    const { depth } = step;
    const data = new Float32Array(input.data.length * depth);
    for (let i = 0; i < input.data.length; i++) {
      const hot = indexAt(input, i, depth, (v) => `tensor "${input.name}" element ${i} is ${v}, outside [0, ${depth}) for depth ${depth}`);
      data[i * depth + hot] = 1;
    }
    return withTensors(tensors, { name: step.output ?? step.tensor, datatype: 'FP32', shape: [...input.shape, depth], data });
  },
};
