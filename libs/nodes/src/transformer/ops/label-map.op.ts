import { type TensorMap } from '@infergraph/protocol';
import { indexAt, tensorOf } from '../tensor-values';
import type { StepOf, TransformOp } from '../transform-op';
import { findTensor, requireKind, withTensors } from './step-checks';

/** Integer class indices → their labels, as a BYTES tensor of the same shape. */
export const labelMapOp: TransformOp<StepOf<'labelMap'>> = {
  type(step, tensors, problems) {
    const input = findTensor(tensors, step.tensor, 'tensor', problems);
    if (input === undefined) return undefined;
    requireKind(step.op, input, 'integer', problems);
    return withTensors(tensors, { name: step.output ?? step.tensor, datatype: 'BYTES', shape: input.shape });
  },

  apply(step, tensors): TensorMap {
    const input = tensorOf(tensors, step.tensor);
    const { labels } = step;
    const data = Array.from({ length: input.data.length }, (_, i) => {
      const index = indexAt(
        input,
        i,
        labels.length,
        (v) => `tensor "${input.name}" element ${i} is ${v}, but there are ${labels.length} labels (indices 0..${labels.length - 1})`,
      );
      return labels[index] ?? '';
    });
    return withTensors(tensors, { name: step.output ?? step.tensor, datatype: 'BYTES', shape: input.shape, data });
  },
};
