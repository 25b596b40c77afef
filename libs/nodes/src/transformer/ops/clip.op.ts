import { BIGINT_RANGE, INTEGER_RANGE, isFloatDatatype, type NumericArray, type Tensor, type TensorMap } from '@infergraph/protocol';
import { encodeFloats, numbersOf, tensorOf } from '../tensor-values';
import type { StepOf, TransformOp } from '../transform-op';
import { findTensor, isIntegerDatatype, requireKind, withTensors } from './step-checks';

/** y = min(max(x, min), max); integer tensors keep their datatype (bounds round inward). */
export const clipOp: TransformOp<StepOf<'clip'>> = {
  type(step, tensors, problems) {
    const input = findTensor(tensors, step.tensor, 'tensor', problems);
    if (input === undefined) return undefined;
    requireKind(step.op, input, 'numeric', problems);
    if (step.min === undefined && step.max === undefined) {
      problems.push({ message: 'clip needs min, max or both' });
    } else if (step.min !== undefined && step.max !== undefined) {
      if (step.min > step.max) {
        problems.push({ field: 'max', message: `max (${step.max}) is below min (${step.min})` });
      } else if (isIntegerDatatype(input.datatype) && Math.ceil(step.min) > Math.floor(step.max)) {
        problems.push({ field: 'max', message: `no ${input.datatype} value lies between min (${step.min}) and max (${step.max})` });
      }
    }
    return withTensors(tensors, { ...input, name: step.output ?? step.tensor });
  },

  apply(step, tensors): TensorMap {
    const input = tensorOf(tensors, step.tensor);
    const name = step.output ?? step.tensor;
    return withTensors(tensors, { name, datatype: input.datatype, shape: input.shape, data: clipData(input, step.min, step.max) });
  },
};

function clipData(input: Tensor, min = -Infinity, max = Infinity): NumericArray {
  const { datatype } = input;
  if (isFloatDatatype(datatype)) return encodeFloats(datatype, numbersOf(input).map(clamp(min, max)));
  const bigRange = BIGINT_RANGE[datatype];
  if (bigRange !== undefined) {
    // Bounds beyond the datatype saturate to its range; bigints keep 64-bit values exact.
    return (input.data as BigInt64Array).map(clamp(bigBound(Math.ceil(min), bigRange), bigBound(Math.floor(max), bigRange)));
  }
  const [rangeLo, rangeHi] = INTEGER_RANGE[datatype] ?? [-Infinity, Infinity];
  // A typed array's map returns the same array type, so the datatype stays.
  return (input.data as Int32Array).map(clamp(Math.max(Math.ceil(min), rangeLo), Math.min(Math.floor(max), rangeHi)));
}

/** x limited to [lo, hi]; NaN passes through. */
function clamp<T extends number | bigint>(lo: T, hi: T): (x: T) => T {
  return (x) => (x < lo ? lo : x > hi ? hi : x);
}

function bigBound(bound: number, [lo, hi]: readonly [bigint, bigint]): bigint {
  if (bound <= Number(lo)) return lo;
  if (bound >= Number(hi)) return hi;
  return BigInt(bound);
}
