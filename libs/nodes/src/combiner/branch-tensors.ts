import {
  formatShape,
  fromHalfBits,
  invalidArgument,
  toHalfBits,
  TYPED_ARRAY_OF,
  type Datatype,
  type NumericArray,
  type Tensor,
  type TensorData,
} from '@infergraph/protocol';
import type { CombinerStrategy } from '@infergraph/spec';
import type { CombinerBranch } from './combine-strategies';

// Shared by the combine strategies: which tensors to combine, agreement checks, weights, and
// conversions between tensor data and float64 working arrays.

export const INTEGER_DATATYPES: readonly Datatype[] = ['INT8', 'INT16', 'INT32', 'INT64', 'UINT8', 'UINT16', 'UINT32', 'UINT64'];

/** The configured tensor name (every branch must hold it), or every name all branches hold, in the first branch's order. */
export function tensorNamesToCombine(strategy: CombinerStrategy, tensor: string | undefined, branches: readonly CombinerBranch[]): string[] {
  if (tensor !== undefined) {
    for (const b of branches) {
      if (!b.tensors.has(tensor)) {
        throw invalidArgument(`combiner (${strategy}): branch "${b.source}" has no tensor "${tensor}" (it has: ${namesOf(b)})`);
      }
    }
    return [tensor];
  }
  const first = branches[0];
  const names = first === undefined ? [] : [...first.tensors.keys()].filter((n) => branches.every((b) => b.tensors.has(n)));
  if (names.length === 0) {
    throw invalidArgument(
      `combiner (${strategy}): the branches share no tensor name (${branches.map((b) => `"${b.source}" has ${namesOf(b)}`).join('; ')})`,
    );
  }
  return names;
}

/** Tensor `name` of every branch, checked to have one datatype and one shape. */
export function agreeingTensors(strategy: CombinerStrategy, name: string, branches: readonly CombinerBranch[]): Tensor[] {
  const tensors = branches.map((b) => b.tensors.get(name) as Tensor);
  const first = tensors[0];
  tensors.forEach((t, i) => {
    if (first === undefined || i === 0) return;
    if (t.datatype !== first.datatype || !sameShape(t.shape, first.shape)) {
      throw invalidArgument(
        `combiner (${strategy}): tensor "${name}" is ${first.datatype} ${formatShape(first.shape)} from branch "${branches[0]?.source}" but ${t.datatype} ${formatShape(t.shape)} from branch "${branches[i]?.source}"; ${strategy} needs one datatype and shape`,
      );
    }
  });
  return tensors;
}

/**
 * Per-branch weights: `weights[source]` normalised over the branches present, or equal weights
 * when the config gives none. A present branch without a weight is an error.
 */
export function branchWeights(
  strategy: CombinerStrategy,
  weights: Readonly<Record<string, number>> | undefined,
  branches: readonly CombinerBranch[],
  normalise = true,
): number[] {
  const raw = branches.map((b) => {
    if (weights === undefined) return 1;
    const w = Object.hasOwn(weights, b.source) ? weights[b.source] : undefined;
    if (w === undefined) {
      throw invalidArgument(`combiner (${strategy}): no weight for branch "${b.source}" (weights: ${Object.keys(weights).join(', ')})`);
    }
    return w;
  });
  if (!normalise) return raw;
  const total = raw.reduce((sum, w) => sum + w, 0);
  return raw.map((w) => w / total);
}

/** Element values as float64 (FP16 decoded from its bits, 64-bit integers converted). */
export function toFloat64(t: Tensor): Float64Array {
  const data = t.data;
  const out = new Float64Array(data.length);
  if (t.datatype === 'FP16') {
    for (let i = 0; i < data.length; i++) out[i] = fromHalfBits(data[i] as number);
  } else {
    for (let i = 0; i < data.length; i++) out[i] = Number(data[i]);
  }
  return out;
}

/** Float64 working values stored in a float datatype (FP16 rounded to its nearest bits). */
export function fromFloat64(datatype: 'FP16' | 'FP32' | 'FP64', values: Float64Array): NumericArray {
  if (datatype === 'FP64') return values;
  if (datatype === 'FP32') return Float32Array.from(values);
  return Uint16Array.from(values, (v) => toHalfBits(v));
}

/** A zeroed array for `count` elements of `datatype` (a string array for BYTES). */
export function allocate(datatype: Datatype, count: number): TensorData {
  if (datatype === 'BYTES') return new Array<string>(count).fill('');
  return new TYPED_ARRAY_OF[datatype](count);
}

export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

function namesOf(b: CombinerBranch): string {
  return [...b.tensors.keys()].join(', ') || 'no tensors';
}
