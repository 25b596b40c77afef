import { formatShape, type TensorMap } from '@infergraph/protocol';
import { axisLayout, forEachLine, normalizeAxis } from '../axis-layout';
import { comparablesOf, tensorOf } from '../tensor-values';
import type { StepOf, TransformOp } from '../transform-op';
import { findTensor, requireKind, resolveAxis, withTensors } from './step-checks';
import { descendingOrder } from './value-order';

/** The index of the largest value along an axis (INT64, the axis removed); ties → the lowest index. */
export const argmaxOp: TransformOp<StepOf<'argmax'>> = {
  type(step, tensors, problems) {
    const input = findTensor(tensors, step.tensor, 'tensor', problems);
    if (input === undefined) return undefined;
    requireKind(step.op, input, 'numeric', problems);
    const axis = resolveAxis(step.axis, input, problems);
    if (axis === undefined) return undefined;
    if (input.shape[axis] === 0) {
      problems.push({
        field: 'axis',
        message: `axis ${step.axis} of tensor "${input.name}" ${formatShape(input.shape)} is empty; argmax needs at least one element`,
      });
    }
    return withTensors(tensors, { name: step.output ?? step.tensor, datatype: 'INT64', shape: input.shape.filter((_, d) => d !== axis) });
  },

  apply(step, tensors, typed): TensorMap {
    const input = tensorOf(tensors, step.tensor);
    const layout = axisLayout(input.shape, normalizeAxis(step.axis, input.shape.length));
    const before = descendingOrder(comparablesOf(input));
    const data = new BigInt64Array(layout.outer * layout.inner);
    forEachLine(layout, (start, stride, line) => {
      let best = 0;
      for (let k = 1; k < layout.dim; k++) if (before(start + k * stride, start + best * stride) < 0) best = k;
      data[line] = BigInt(best);
    });
    return withTensors(tensors, { ...tensorOf(typed, step.output ?? step.tensor), data });
  },
};
