import {
  BIGINT_RANGE,
  fromHalfBits,
  INTEGER_RANGE,
  toHalfBits,
  TYPED_ARRAY_OF,
  type NumericArray,
  type NumericDatatype,
  type Tensor,
  type TensorMap,
} from '@infergraph/protocol';
import { tensorOf } from '../tensor-values';
import { StepDataError, type StepOf, type TransformOp } from '../transform-op';
import { findTensor, withTensors } from './step-checks';

/**
 * Converts between numeric datatypes and BOOL. Floats truncate toward zero into integers; a value
 * the target cannot hold (NaN, infinity, out of range) is bad data, never wrapped or saturated.
 */
export const castOp: TransformOp<StepOf<'cast'>> = {
  type(step, tensors, problems) {
    const input = findTensor(tensors, step.tensor, 'tensor', problems);
    if (input === undefined) return undefined;
    if (input.datatype === 'BYTES') {
      problems.push({ field: 'tensor', message: `tensor "${input.name}" is BYTES; cast converts numeric and BOOL tensors only` });
    }
    if (step.to === 'BYTES') {
      problems.push({
        field: 'to',
        message: 'cannot cast to BYTES; cast converts to numeric datatypes and BOOL (use labelMap to map indices to strings)',
      });
    }
    return withTensors(tensors, { name: step.output ?? step.tensor, datatype: step.to, shape: input.shape });
  },

  apply(step, tensors): TensorMap {
    const input = tensorOf(tensors, step.tensor);
    const to = step.to as NumericDatatype;
    const data = input.datatype === to ? input.data : castData(input, to);
    return withTensors(tensors, { name: step.output ?? step.tensor, datatype: to, shape: input.shape, data });
  },
};

type Element = number | bigint;

function castData(input: Tensor, to: NumericDatatype): NumericArray {
  const read = readerOf(input);
  const out = new TYPED_ARRAY_OF[to](input.data.length);
  const convert = converterTo(to, (i, v, why) => new StepDataError(`tensor "${input.name}" element ${i} is ${String(v)}; ${why}`));
  const target = out as unknown as { [index: number]: Element };
  for (let i = 0; i < out.length; i++) target[i] = convert(read(i), i);
  return out;
}

function readerOf(input: Tensor): (i: number) => Element {
  const data = input.data as ArrayLike<Element>;
  if (input.datatype === 'FP16') return (i) => fromHalfBits(data[i] as number);
  return (i) => data[i] ?? 0;
}

type Fault = (index: number, value: Element, why: string) => StepDataError;

function converterTo(to: NumericDatatype, fault: Fault): (v: Element, i: number) => Element {
  switch (to) {
    case 'FP32':
    case 'FP64':
      return (v) => Number(v);
    case 'FP16':
      return (v) => toHalfBits(Number(v));
    case 'BOOL':
      return (v) => (v === 0 || v === 0n ? 0 : 1);
    case 'INT64':
    case 'UINT64':
      return bigIntegerConverter(to, fault);
    case 'INT8':
    case 'INT16':
    case 'INT32':
    case 'UINT8':
    case 'UINT16':
    case 'UINT32':
      return integerConverter(to, fault);
  }
}

function integerConverter(to: NumericDatatype, fault: Fault): (v: Element, i: number) => number {
  const [lo, hi] = INTEGER_RANGE[to] ?? [0, 0];
  const outOfRange = `outside the ${to} range [${lo}, ${hi}]`;
  return (v, i) => {
    if (typeof v === 'bigint') {
      if (v < BigInt(lo) || v > BigInt(hi)) throw fault(i, v, outOfRange);
      return Number(v);
    }
    if (!Number.isFinite(v)) throw fault(i, v, `cannot cast it to ${to}`);
    const truncated = Math.trunc(v) || 0; // -0 becomes 0
    if (truncated < lo || truncated > hi) throw fault(i, v, outOfRange);
    return truncated;
  };
}

function bigIntegerConverter(to: 'INT64' | 'UINT64', fault: Fault): (v: Element, i: number) => bigint {
  const [lo, hi] = BIGINT_RANGE[to] ?? [0n, 0n];
  const outOfRange = `outside the ${to} range [${lo}, ${hi}]`;
  return (v, i) => {
    if (typeof v === 'number' && !Number.isFinite(v)) throw fault(i, v, `cannot cast it to ${to}`);
    const big = typeof v === 'bigint' ? v : BigInt(Math.trunc(v));
    if (big < lo || big > hi) throw fault(i, v, outOfRange);
    return big;
  };
}
