import { formatShape, type TensorMap } from '@infergraph/protocol';
import { axisLayout, forEachLine, normalizeAxis } from '../axis-layout';
import { comparablesOf, gather, tensorOf } from '../tensor-values';
import type { StepOf, TransformOp } from '../transform-op';
import { findTensor, requireKind, resolveAxis, withTensors } from './step-checks';
import { descendingOrder } from './value-order';

/** The k largest values along an axis, sorted descending (ties → lower index), and their INT64 indices. */
export const topKOp: TransformOp<StepOf<'topK'>> = {
  type(step, tensors, problems) {
    const input = findTensor(tensors, step.tensor, 'tensor', problems);
    const { values, indices } = step.outputs;
    if (values === indices) problems.push({ field: 'outputs', message: `values and indices are both named "${values}"` });
    if (input === undefined) return undefined;
    requireKind(step.op, input, 'numeric', problems);
    const axis = resolveAxis(step.axis, input, problems);
    if (axis === undefined) return undefined;
    const dim = input.shape[axis] ?? -1;
    if (dim >= 0 && step.k > dim) {
      problems.push({
        field: 'k',
        message: `k is ${step.k}, but axis ${step.axis} of tensor "${input.name}" ${formatShape(input.shape)} has only ${dim} elements`,
      });
    }
    const shape = input.shape.map((d, i) => (i === axis ? step.k : d));
    return withTensors(tensors, { name: values, datatype: input.datatype, shape }, { name: indices, datatype: 'INT64', shape });
  },

  apply(step, tensors, typed): TensorMap {
    const input = tensorOf(tensors, step.tensor);
    const layout = axisLayout(input.shape, normalizeAxis(step.axis, input.shape.length));
    const { k } = step;
    const before = descendingOrder(comparablesOf(input));
    const picked = new Array<number>(layout.outer * k * layout.inner);
    forEachLine(layout, (start, stride, line) => {
      const order = Array.from({ length: layout.dim }, (_, j) => start + j * stride);
      order.sort(before);
      // Output element j of this line sits at (o * k + j) * inner + i.
      const first = Math.floor(line / layout.inner) * k * layout.inner + (line % layout.inner);
      for (let j = 0; j < k; j++) picked[first + j * layout.inner] = order[j] ?? 0;
    });
    const indices = BigInt64Array.from(picked, (flat) => BigInt(Math.floor(flat / layout.inner) % layout.dim));
    const { values: valuesName, indices: indicesName } = step.outputs;
    return withTensors(
      tensors,
      { ...tensorOf(typed, valuesName), data: gather(input.datatype, input.data, picked) },
      { ...tensorOf(typed, indicesName), data: indices },
    );
  },
};
