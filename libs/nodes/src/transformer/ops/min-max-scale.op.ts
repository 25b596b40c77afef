import { type TensorMap } from '@infergraph/protocol';
import { floatTensorLike, numbersOf, tensorOf } from '../tensor-values';
import type { StepOf, TransformOp } from '../transform-op';
import { checkLastAxisParams, featureCount, lastDim, paramAt } from './last-axis-params';
import { findTensor, requireKind, withTensors } from './step-checks';

/** y = (x - min[j]) / (max[j] - min[j]) * (r1 - r0) + r0, j the index along the last axis. */
export const minMaxScaleOp: TransformOp<StepOf<'minMaxScale'>> = {
  type(step, tensors, problems) {
    const input = findTensor(tensors, step.tensor, 'tensor', problems);
    if (input === undefined) return undefined;
    requireKind(step.op, input, 'float', problems);
    const fits = checkLastAxisParams(input, { min: step.min, max: step.max }, problems);
    if (fits) {
      for (let j = 0; j < featureCount(step.min, step.max); j++) {
        const [lo, hi] = [paramAt(step.min, j), paramAt(step.max, j)];
        if (lo === hi) {
          problems.push({ field: 'max', message: `max equals min (${lo}) for feature ${j}; the scale would divide by zero` });
          break;
        }
      }
    }
    return withTensors(tensors, { ...input, name: step.output ?? step.tensor });
  },

  apply(step, tensors): TensorMap {
    const input = tensorOf(tensors, step.tensor);
    const features = lastDim(input.shape);
    const [r0, r1] = step.range;
    const y = numbersOf(input).map((x, i) => {
      const lo = paramAt(step.min, i % features);
      return ((x - lo) / (paramAt(step.max, i % features) - lo)) * (r1 - r0) + r0;
    });
    return withTensors(tensors, floatTensorLike(input, step.output ?? step.tensor, y));
  },
};
