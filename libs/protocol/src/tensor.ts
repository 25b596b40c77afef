import type { Datatype } from './datatype';
import { echoList } from './error-echo';
import { invalidArgument } from './inference.error';

export type NumericArray =
  | Uint8Array
  | Uint16Array
  | Uint32Array
  | BigUint64Array
  | Int8Array
  | Int16Array
  | Int32Array
  | BigInt64Array
  | Float32Array
  | Float64Array;

export type TensorData = NumericArray | readonly string[];

/** A named, typed, row-major tensor: the unit that flows between graph nodes. */
export interface Tensor {
  readonly name: string;
  readonly datatype: Datatype;
  readonly shape: readonly number[];
  readonly data: TensorData;
}

/** Tensors keyed by name, as a node receives or produces them. */
export type TensorMap = ReadonlyMap<string, Tensor>;

/** Declared type of a tensor; -1 marks a dynamic dimension. */
export interface TensorSpec {
  readonly name: string;
  readonly datatype: Datatype;
  readonly shape: readonly number[];
}

export function elementCount(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/**
 * The highest rank a request's tensor may have. numpy 2 allows 64 dimensions (numpy 1 allowed 32), so no
 * array a V2 client builds is refused; the cap stops absurd shapes (100,000 dimensions of 1) at the edge.
 */
export const MAX_TENSOR_RANK = 64;

/** Refuses (400) a shape of more than `MAX_TENSOR_RANK` dimensions; `field` names it, e.g. `inputs[0].shape`. */
export function checkTensorRank(rank: number, field: string): void {
  if (rank > MAX_TENSOR_RANK) throw invalidArgument(`${field}: rank ${rank} exceeds the maximum of ${MAX_TENSOR_RANK}`);
}

/**
 * The element count of a shape from a request (or a worker's answer), refusing (400) a shape of more than
 * `MAX_TENSOR_RANK` dimensions, or one whose non-zero dimensions multiply past 2^53 - 1: no buffer holds
 * that many elements, and past it the product stops being exact (it even depends on the order:
 * `[0, 2^53 - 1, 2^53 - 1]` counted 0 elements, `[2^53 - 1, 2^53 - 1, 0]` NaN). `field` names the shape,
 * e.g. `inputs[0].shape`; its dimensions must already be non-negative integers.
 */
export function checkedElementCount(shape: readonly number[], field: string): number {
  checkTensorRank(shape.length, field);
  let nonZero = 1;
  let empty = false;
  for (const d of shape) {
    if (d === 0) empty = true;
    else nonZero *= d;
  }
  if (nonZero > Number.MAX_SAFE_INTEGER) {
    throw invalidArgument(`${field}: shape ${formatShape(shape)} declares more than ${Number.MAX_SAFE_INTEGER} (2^53 - 1) elements`);
  }
  return empty ? 0 : nonZero;
}

/** A shape for a message: `[1, 4]`; past `MAX_ECHOED_ITEMS` dimensions, the first ones and the rank. */
export function formatShape(shape: readonly number[]): string {
  return `[${echoList(shape)}]`;
}

/** Whether a concrete shape fits a declared one (same rank, equal fixed dimensions). */
export function shapeMismatch(declared: readonly number[], actual: readonly number[]): string | undefined {
  if (declared.length !== actual.length) {
    return `expected rank ${declared.length} ${formatShape(declared)}, got rank ${actual.length} ${formatShape(actual)}`;
  }
  for (let i = 0; i < declared.length; i++) {
    const want = declared[i];
    if (want !== undefined && want >= 0 && want !== actual[i]) {
      return `dimension ${i} must be ${want} (declared ${formatShape(declared)}), got ${formatShape(actual)}`;
    }
  }
  return undefined;
}

/** Whether two declared shapes can hold the same tensor (dynamic dims match anything). */
export function shapesCompatible(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  return a.every((d, i) => {
    const other = b[i] ?? -1;
    return d < 0 || other < 0 || d === other;
  });
}
