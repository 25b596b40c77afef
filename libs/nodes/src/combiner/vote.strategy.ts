import { formatShape, fromHalfBits, invalidArgument, isFloatDatatype, type Tensor, type TensorMap } from '@infergraph/protocol';
import type { CombinerConfig } from '@infergraph/spec';
import { agreeingTensors, allocate, branchWeights, fromFloat64, INTEGER_DATATYPES, tensorNamesToCombine, toFloat64 } from './branch-tensors';
import type { CombinerBranch } from './combine-strategies';

/**
 * soft-vote: averages the class probabilities [N, C] of every branch (weighted when the config
 * gives weights, normalised over the branches present) and returns `probabilities` in the input
 * datatype and `label` INT64 [N], the most probable class per row (ties: the lowest class index).
 */
export function combineSoftVote(config: CombinerConfig, branches: readonly CombinerBranch[]): TensorMap {
  const [name] = tensorNamesToCombine('soft-vote', config.tensor ?? 'probabilities', branches) as [string];
  const tensors = agreeingTensors('soft-vote', name, branches);
  const first = tensors[0] as Tensor;
  const { datatype, shape } = first;
  if (!isFloatDatatype(datatype) || shape.length !== 2) {
    throw invalidArgument(`combiner (soft-vote): tensor "${name}" must be float probabilities [N, C], got ${datatype} ${formatShape(shape)}`);
  }
  const weights = branchWeights('soft-vote', config.weights, branches);
  const sum = new Float64Array(first.data.length);
  tensors.forEach((t, b) => {
    const w = weights[b] as number;
    const values = toFloat64(t);
    for (let i = 0; i < sum.length; i++) sum[i] = (sum[i] as number) + w * (values[i] as number);
  });
  const probabilities = fromFloat64(datatype, sum);
  // The label follows the probabilities as returned (after rounding to the datatype), so a client
  // never sees a label that disagrees with them.
  const stored = datatype === 'FP16' ? Float64Array.from(probabilities as Uint16Array, fromHalfBits) : (probabilities as Float32Array | Float64Array);
  const [rows = 0, classes = 0] = shape;
  const label = new BigInt64Array(rows);
  for (let r = 0; r < rows; r++) {
    let best = 0;
    for (let c = 1; c < classes; c++) {
      if ((stored[r * classes + c] as number) > (stored[r * classes + best] as number)) best = c;
    }
    label[r] = BigInt(best);
  }
  return new Map<string, Tensor>([
    ['probabilities', { name: 'probabilities', datatype, shape, data: probabilities }],
    ['label', { name: 'label', datatype: 'INT64', shape: [rows], data: label }],
  ]);
}

/**
 * hard-vote: per element (per row for labels [N]), the label with the most votes; with weights a
 * branch's vote counts its weight. A tie goes to the SMALLEST label value, so the result does not
 * depend on the order the branches arrive in. Returns `label` in the input datatype and shape.
 */
export function combineHardVote(config: CombinerConfig, branches: readonly CombinerBranch[]): TensorMap {
  const [name] = tensorNamesToCombine('hard-vote', config.tensor ?? 'label', branches) as [string];
  const tensors = agreeingTensors('hard-vote', name, branches);
  const first = tensors[0] as Tensor;
  const { datatype, shape } = first;
  if (!INTEGER_DATATYPES.includes(datatype)) {
    throw invalidArgument(`combiner (hard-vote): tensor "${name}" is ${datatype}; hard-vote needs integer labels`);
  }
  // Raw weights: unweighted votes count exactly 1 each, so ties are exact.
  const weights = branchWeights('hard-vote', config.weights, branches, false);
  const out = allocate(datatype, first.data.length) as unknown as (number | bigint)[];
  for (let i = 0; i < first.data.length; i++) {
    const tally = new Map<number | bigint, number>();
    tensors.forEach((t, b) => {
      const v = t.data[i] as number | bigint;
      tally.set(v, (tally.get(v) ?? 0) + (weights[b] as number));
    });
    let best: number | bigint | undefined;
    let bestVotes = 0;
    for (const [value, votes] of tally) {
      if (best === undefined || votes > bestVotes + tolerance(votes, bestVotes)) {
        best = value;
        bestVotes = votes;
      } else if (Math.abs(votes - bestVotes) <= tolerance(votes, bestVotes) && value < best) {
        best = value;
      }
    }
    out[i] = best as number | bigint;
  }
  return new Map<string, Tensor>([['label', { name: 'label', datatype, shape, data: out as unknown as Tensor['data'] }]]);
}

// Weighted vote totals are float sums (0.1 + 0.2 against 0.3): compare them with a relative tolerance.
function tolerance(a: number, b: number): number {
  return 1e-9 * Math.max(Math.abs(a), Math.abs(b));
}
