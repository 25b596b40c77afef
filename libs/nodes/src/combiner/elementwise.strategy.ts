import { fromHalfBits, invalidArgument, isFloatDatatype, type Tensor, type TensorMap } from '@infergraph/protocol';
import type { CombinerConfig } from '@infergraph/spec';
import { agreeingTensors, allocate, branchWeights, fromFloat64, tensorNamesToCombine, toFloat64 } from './branch-tensors';
import type { CombinerBranch } from './combine-strategies';

/**
 * mean, weighted-mean and max: element by element over the branches, for `config.tensor` or every
 * tensor name all branches share. Means need a float datatype and keep it; max takes any numeric one.
 */
export function combineElementwise(
  config: CombinerConfig & { strategy: 'mean' | 'weighted-mean' | 'max' },
  branches: readonly CombinerBranch[],
): TensorMap {
  if (config.strategy === 'weighted-mean' && config.weights === undefined) {
    throw invalidArgument('combiner (weighted-mean): needs weights, a positive weight per input');
  }
  const weights = config.strategy === 'max' ? [] : branchWeights(config.strategy, config.strategy === 'mean' ? undefined : config.weights, branches);
  const out = new Map<string, Tensor>();
  for (const name of tensorNamesToCombine(config.strategy, config.tensor, branches)) {
    const tensors = agreeingTensors(config.strategy, name, branches);
    const first = tensors[0] as Tensor;
    if (config.strategy === 'max') {
      out.set(name, { name, datatype: first.datatype, shape: first.shape, data: elementwiseMax(tensors) });
      continue;
    }
    const datatype = first.datatype;
    if (!isFloatDatatype(datatype)) {
      throw invalidArgument(`combiner (${config.strategy}): tensor "${name}" is ${datatype}; a mean needs FP16, FP32 or FP64`);
    }
    const sum = new Float64Array(first.data.length);
    tensors.forEach((t, b) => {
      const w = weights[b] as number;
      const values = toFloat64(t);
      for (let i = 0; i < sum.length; i++) sum[i] = (sum[i] as number) + w * (values[i] as number);
    });
    out.set(name, { name, datatype, shape: first.shape, data: fromFloat64(datatype, sum) });
  }
  return out;
}

/** Elementwise maximum in the tensors' own datatype; a NaN in any branch gives NaN, as Math.max does. */
function elementwiseMax(tensors: readonly Tensor[]): Tensor['data'] {
  const first = tensors[0] as Tensor;
  const { datatype } = first;
  if (datatype === 'BYTES') throw invalidArgument(`combiner (max): tensor "${first.name}" is BYTES; max needs a numeric datatype`);
  const out = allocate(datatype, first.data.length) as unknown as (number | bigint)[];
  // FP16 holds bit patterns: compare the decoded values, keep the winning bits.
  const key = datatype === 'FP16' ? (v: number | bigint): number | bigint => fromHalfBits(v as number) : (v: number | bigint): number | bigint => v;
  for (let i = 0; i < first.data.length; i++) {
    let best = first.data[i] as number | bigint;
    let bestKey = key(best);
    for (let b = 1; b < tensors.length; b++) {
      if (typeof bestKey === 'number' && Number.isNaN(bestKey)) break;
      const v = (tensors[b] as Tensor).data[i] as number | bigint;
      const k = key(v);
      if ((typeof k === 'number' && Number.isNaN(k)) || k > bestKey) {
        best = v;
        bestKey = k;
      }
    }
    out[i] = best;
  }
  return out as unknown as Tensor['data'];
}
