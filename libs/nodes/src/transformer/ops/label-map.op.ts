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
    // A plain loop with one message function for all elements (it reads `i`): this runs per request.
    const data = new Array<string>(input.data.length);
    let i = 0;
    const outOfRange = (v: string): string => `tensor "${input.name}" element ${i} is ${v}, but there are ${labels.length} labels (indices 0..${labels.length - 1})`;
    for (; i < data.length; i++) data[i] = labels[indexAt(input, i, labels.length, outOfRange)] ?? '';
    return withTensors(tensors, { name: step.output ?? step.tensor, datatype: 'BYTES', shape: input.shape, data });
  },
};
