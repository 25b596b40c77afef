import { formatShape, type TensorMap } from '@infergraph/protocol';
import { axisLayout, normalizeAxis } from '../axis-layout';
import { allocate, copyElements, tensorOf } from '../tensor-values';
import type { StepOf, TransformOp } from '../transform-op';
import { findTensor, resolveAxis, withTensors } from './step-checks';

/** Cuts a tensor along an axis into consecutive pieces of the given sizes. */
export const splitOp: TransformOp<StepOf<'split'>> = {
  type(step, tensors, problems) {
    const input = findTensor(tensors, step.tensor, 'tensor', problems);
    if (step.outputs.length !== step.sizes.length) {
      problems.push({
        field: 'outputs',
        message: `${step.outputs.length} outputs for ${step.sizes.length} sizes; name one output per size`,
      });
      return undefined;
    }
    const repeated = step.outputs.find((n, k) => step.outputs.indexOf(n) !== k);
    if (repeated !== undefined) problems.push({ field: 'outputs', message: `output "${repeated}" is listed twice` });
    if (input === undefined) return undefined;
    const axis = resolveAxis(step.axis, input, problems);
    if (axis === undefined) return undefined;
    const dim = input.shape[axis] ?? -1;
    const total = step.sizes.reduce((a, b) => a + b, 0);
    if (dim >= 0 && total !== dim) {
      problems.push({
        field: 'sizes',
        message: `sizes add up to ${total}, but dimension ${axis} of tensor "${input.name}" ${formatShape(input.shape)} is ${dim}`,
      });
    }
    const pieces = step.outputs.map((name, k) => ({
      name,
      datatype: input.datatype,
      shape: input.shape.map((d, i) => (i === axis ? (step.sizes[k] ?? 0) : d)),
    }));
    return withTensors(tensors, ...pieces);
  },

  apply(step, tensors): TensorMap {
    const input = tensorOf(tensors, step.tensor);
    const axis = normalizeAxis(step.axis, input.shape.length);
    const { outer, dim, inner } = axisLayout(input.shape, axis);
    let start = 0;
    const pieces = step.outputs.map((name, k) => {
      const size = step.sizes[k] ?? 0;
      const data = allocate(input.datatype, outer * size * inner);
      for (let o = 0; o < outer; o++) copyElements(input.data, (o * dim + start) * inner, data, o * size * inner, size * inner);
      start += size;
      return { name, datatype: input.datatype, shape: input.shape.map((d, i) => (i === axis ? size : d)), data };
    });
    return withTensors(tensors, ...pieces);
  },
};
