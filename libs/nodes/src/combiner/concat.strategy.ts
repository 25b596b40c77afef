import { elementCount, formatShape, invalidArgument, type Tensor, type TensorMap } from '@infergraph/protocol';
import type { CombinerConfig } from '@infergraph/spec';
import { allocate, tensorNamesToCombine } from './branch-tensors';
import type { CombinerBranch } from './combine-strategies';

/**
 * concat: joins `config.tensor`, or every tensor name all branches share, along `config.axis`
 * (negative counts from the end) in branch order; the other dimensions must agree.
 */
export function combineConcat(config: CombinerConfig, branches: readonly CombinerBranch[]): TensorMap {
  const out = new Map<string, Tensor>();
  for (const name of tensorNamesToCombine('concat', config.tensor, branches)) {
    out.set(name, concatTensors(name, config.axis, branches));
  }
  return out;
}

function concatTensors(name: string, axis: number, branches: readonly CombinerBranch[]): Tensor {
  const tensors = branches.map((b) => b.tensors.get(name) as Tensor);
  const first = tensors[0] as Tensor;
  const rank = first.shape.length;
  const at = axis < 0 ? rank + axis : axis;
  if (at < 0 || at >= rank) {
    throw invalidArgument(`combiner (concat): axis ${axis} is out of range for tensor "${name}" of rank ${rank} ${formatShape(first.shape)}`);
  }
  tensors.forEach((t, i) => {
    const mismatch =
      t.datatype !== first.datatype || t.shape.length !== rank || t.shape.some((d, k) => k !== at && d !== first.shape[k]);
    if (mismatch) {
      throw invalidArgument(
        `combiner (concat): tensor "${name}" is ${first.datatype} ${formatShape(first.shape)} from branch "${branches[0]?.source}" but ${t.datatype} ${formatShape(t.shape)} from branch "${branches[i]?.source}"; concat along axis ${axis} needs one datatype and equal dimensions except dimension ${at}`,
      );
    }
  });
  const outer = elementCount(first.shape.slice(0, at));
  const inner = elementCount(first.shape.slice(at + 1));
  const shape = first.shape.map((d, k) => (k === at ? tensors.reduce((sum, t) => sum + (t.shape[at] as number), 0) : d));
  const data = allocate(first.datatype, elementCount(shape)) as unknown as unknown[];
  let offset = 0;
  for (let o = 0; o < outer; o++) {
    for (const t of tensors) {
      const chunk = (t.shape[at] as number) * inner;
      const src = t.data as unknown as ArrayLike<unknown>;
      for (let i = o * chunk; i < (o + 1) * chunk; i++) data[offset++] = src[i];
    }
  }
  return { name, datatype: first.datatype, shape, data: data as unknown as Tensor['data'] };
}
