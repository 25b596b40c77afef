import {
  fromHalfBits,
  toHalfBits,
  TYPED_ARRAY_OF,
  type Datatype,
  type NumericArray,
  type Tensor,
  type TensorData,
} from '@infergraph/protocol';
import { StepDataError } from './transform-op';

// Element access for the ops: FP16 travels as half bits and 64-bit integers as bigints, so math
// reads through these helpers instead of indexing tensor data directly.

export type FloatDatatype = 'FP16' | 'FP32' | 'FP64';

/** Values to order or index by: 64-bit integers stay exact as bigints, the rest become doubles. */
export type ComparableValues = Float64Array | BigInt64Array | BigUint64Array;

/** A tensor the step's typing has already found; its absence here is a bug, not bad input. */
export function tensorOf<T = Tensor>(tensors: ReadonlyMap<string, T>, name: string): T {
  const t = tensors.get(name);
  if (t === undefined) throw new Error(`tensor "${name}" vanished between typing and applying a step`);
  return t;
}

/** A numeric tensor's elements as doubles (FP16 decoded, 64-bit integers rounded to the nearest double). */
export function numbersOf(t: Tensor): Float64Array {
  if (t.datatype === 'FP16') return Float64Array.from(t.data as Uint16Array, fromHalfBits);
  if (t.datatype === 'INT64' || t.datatype === 'UINT64') return Float64Array.from(t.data as BigInt64Array, Number);
  return Float64Array.from(t.data as ArrayLike<number>);
}

export function comparablesOf(t: Tensor): ComparableValues {
  if (t.datatype === 'INT64') return t.data as BigInt64Array;
  if (t.datatype === 'UINT64') return t.data as BigUint64Array;
  return numbersOf(t);
}

/** Doubles stored as a float datatype (FP16 rounded to half bits). */
export function encodeFloats(datatype: FloatDatatype, values: Float64Array): NumericArray {
  switch (datatype) {
    case 'FP16':
      return Uint16Array.from(values, toHalfBits);
    case 'FP32':
      return Float32Array.from(values);
    case 'FP64':
      return values;
  }
}

/** A tensor shaped like a float input, holding doubles computed from it. */
export function floatTensorLike(like: Tensor, name: string, values: Float64Array): Tensor {
  return { name, datatype: like.datatype, shape: like.shape, data: encodeFloats(like.datatype as FloatDatatype, values) };
}

/**
 * Integer element i of an integer tensor as a non-negative index below `limit`; otherwise a
 * StepDataError built by `describe` from the element's exact value.
 */
export function indexAt(t: Tensor, i: number, limit: number, describe: (value: string) => string): number {
  const v = (t.data as ArrayLike<number | bigint>)[i] ?? 0;
  if (typeof v === 'bigint' ? v < 0n || v >= BigInt(limit) : v < 0 || v >= limit) {
    throw new StepDataError(describe(String(v)));
  }
  return Number(v);
}

/** A zeroed array for `length` elements of a datatype (empty strings for BYTES). */
export function allocate(datatype: Datatype, length: number): NumericArray | string[] {
  if (datatype === 'BYTES') return new Array<string>(length).fill('');
  return new TYPED_ARRAY_OF[datatype](length);
}

/** Copies `count` elements between arrays of one datatype. */
export function copyElements(src: TensorData, srcStart: number, dst: NumericArray | string[], dstStart: number, count: number): void {
  if (Array.isArray(dst)) {
    const from = src as readonly string[];
    for (let k = 0; k < count; k++) dst[dstStart + k] = from[srcStart + k] ?? '';
    return;
  }
  const bytes = dst.BYTES_PER_ELEMENT;
  bytesOf(dst).set(bytesOf(src as NumericArray).subarray(srcStart * bytes, (srcStart + count) * bytes), dstStart * bytes);
}

/** out[j] = src[indices[j]], for arrays of one datatype. */
export function gather(datatype: Datatype, src: TensorData, indices: ArrayLike<number>): TensorData {
  const out = allocate(datatype, indices.length) as unknown as { [index: number]: unknown };
  const from = src as unknown as { readonly [index: number]: unknown };
  for (let j = 0; j < indices.length; j++) out[j] = from[indices[j] ?? 0];
  return out as unknown as TensorData;
}

function bytesOf(a: NumericArray): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}
