import { type TensorMap } from '@infergraph/protocol';
import { axisLayout, forEachLine, normalizeAxis } from '../axis-layout';
import { floatTensorLike, numbersOf, tensorOf } from '../tensor-values';
import type { StepOf, TransformOp } from '../transform-op';
import { findTensor, requireKind, resolveAxis, withTensors } from './step-checks';

/** exp(x - max) / sum(exp(x - max)) along an axis; subtracting the max keeps exp from overflowing. */
export const softmaxOp: TransformOp<StepOf<'softmax'>> = {
  type(step, tensors, problems) {
    const input = findTensor(tensors, step.tensor, 'tensor', problems);
    if (input === undefined) return undefined;
    requireKind(step.op, input, 'float', problems);
    resolveAxis(step.axis, input, problems);
    return withTensors(tensors, { ...input, name: step.output ?? step.tensor });
  },

  apply(step, tensors): TensorMap {
    const input = tensorOf(tensors, step.tensor);
    const layout = axisLayout(input.shape, normalizeAxis(step.axis, input.shape.length));
    const y = numbersOf(input);
    forEachLine(layout, (start, stride) => {
      const end = start + layout.dim * stride;
      let max = -Infinity;
      for (let i = start; i < end; i += stride) max = Math.max(max, y[i] ?? 0);
      let sum = 0;
      for (let i = start; i < end; i += stride) sum += y[i] = Math.exp((y[i] ?? 0) - max);
      for (let i = start; i < end; i += stride) y[i] = (y[i] ?? 0) / sum;
    });
    return withTensors(tensors, floatTensorLike(input, step.output ?? step.tensor, y));
  },
};
