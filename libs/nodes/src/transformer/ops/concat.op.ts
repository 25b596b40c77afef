import { formatShape, type TensorMap, type TensorSpec } from '@infergraph/protocol';
import { axisLayout, normalizeAxis } from '../axis-layout';
import { allocate, copyElements, tensorOf } from '../tensor-values';
import type { OpProblem, StepOf, TransformOp } from '../transform-op';
import { describeTensor, findTensors, resolveAxis, withTensors } from './step-checks';

/** Joins tensors of one datatype and rank along an axis. */
export const concatOp: TransformOp<StepOf<'concat'>> = {
  type(step, tensors, problems) {
    const inputs = findTensors(tensors, step.tensors, 'tensors', problems);
    const first = inputs?.[0];
    if (inputs === undefined || first === undefined) return undefined;
    const mismatched = inputs.filter((s) => s.datatype !== first.datatype || s.shape.length !== first.shape.length);
    for (const s of mismatched) {
      problems.push({
        field: 'tensors',
        message: `concat needs tensors of one datatype and rank: ${describeTensor(s)} does not match ${describeTensor(first)}${s.datatype === first.datatype ? '' : '; cast one of them first'}`,
      });
    }
    if (mismatched.length > 0) return undefined;
    const axis = resolveAxis(step.axis, first, problems);
    if (axis === undefined) return undefined;
    const shape = concatShape(inputs, axis, problems);
    return shape && withTensors(tensors, { name: step.output, datatype: first.datatype, shape });
  },

  apply(step, tensors, typed): TensorMap {
    const inputs = step.tensors.map((n) => tensorOf(tensors, n));
    const output = tensorOf(typed, step.output);
    const axis = normalizeAxis(step.axis, output.shape.length);
    const { outer, inner } = axisLayout(output.shape, axis);
    const data = allocate(output.datatype, outer * (output.shape[axis] ?? 0) * inner);
    let at = 0;
    for (let o = 0; o < outer; o++) {
      for (const t of inputs) {
        const chunk = (t.shape[axis] ?? 0) * inner;
        copyElements(t.data, o * chunk, data, at, chunk);
        at += chunk;
      }
    }
    return withTensors(tensors, { ...output, data });
  },
};

/** The output shape: the sum along the axis, the shared size elsewhere (-1 stays dynamic). */
function concatShape(inputs: readonly TensorSpec[], axis: number, problems: OpProblem[]): number[] | undefined {
  const first = inputs[0]?.shape ?? [];
  const shape: number[] = [];
  for (let d = 0; d < first.length; d++) {
    const dims = inputs.map((s) => s.shape[d] ?? -1);
    if (d === axis) {
      shape.push(dims.some((n) => n < 0) ? -1 : dims.reduce((a, b) => a + b, 0));
      continue;
    }
    const known = inputs.filter((s) => (s.shape[d] ?? -1) >= 0);
    const clash = known.find((s) => s.shape[d] !== known[0]?.shape[d]);
    if (clash !== undefined && known[0] !== undefined) {
      problems.push({
        field: 'tensors',
        message: `dimension ${d} differs between "${known[0].name}" ${formatShape(known[0].shape)} and "${clash.name}" ${formatShape(clash.shape)}; only axis ${axis} may differ`,
      });
      return undefined;
    }
    shape.push(known[0]?.shape[d] ?? -1);
  }
  return shape;
}
