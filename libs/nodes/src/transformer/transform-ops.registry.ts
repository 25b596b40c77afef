import type { TransformOpName, TransformStep } from '@infergraph/spec';
import { argmaxOp } from './ops/argmax.op';
import { castOp } from './ops/cast.op';
import { clipOp } from './ops/clip.op';
import { concatOp } from './ops/concat.op';
import { labelMapOp } from './ops/label-map.op';
import { log1pOp } from './ops/log1p.op';
import { minMaxScaleOp } from './ops/min-max-scale.op';
import { oneHotOp } from './ops/one-hot.op';
import { renameOp } from './ops/rename.op';
import { reshapeOp } from './ops/reshape.op';
import { selectOp } from './ops/select.op';
import { softmaxOp } from './ops/softmax.op';
import { splitOp } from './ops/split.op';
import { standardizeOp } from './ops/standardize.op';
import { topKOp } from './ops/top-k.op';
import type { StepOf, TransformOp } from './transform-op';

/** Every built-in op by name; the mapped type makes a new op in the schema a compile error here. */
const TRANSFORM_OPS: { readonly [K in TransformOpName]: TransformOp<StepOf<K>> } = {
  standardize: standardizeOp,
  minMaxScale: minMaxScaleOp,
  clip: clipOp,
  log1p: log1pOp,
  cast: castOp,
  reshape: reshapeOp,
  concat: concatOp,
  split: splitOp,
  select: selectOp,
  rename: renameOp,
  oneHot: oneHotOp,
  labelMap: labelMapOp,
  argmax: argmaxOp,
  softmax: softmaxOp,
  topK: topKOp,
};

export function transformOpOf<S extends TransformStep>(step: S): TransformOp<S> {
  // The record pairs each name with the op for exactly that step type; TypeScript cannot
  // correlate the indexed union with S on its own.
  return TRANSFORM_OPS[step.op] as unknown as TransformOp<S>;
}
