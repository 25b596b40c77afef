import { z } from 'zod';
import { DATATYPES } from '@infergraph/protocol';

// Built-in transformer steps. Each step reads tensors from the node's running tensor set and writes
// its result back (under `output`, or over its input when `output` is omitted).

const tensor = z.string().min(1, 'must name a tensor');
const numbers = z.array(z.number()).min(1, 'must list at least one number');
const axis = z.int().default(-1);

export const transformStepSchema = z.discriminatedUnion(
  'op',
  [
    z.strictObject({ op: z.literal('standardize'), tensor, mean: numbers, std: numbers, output: tensor.optional() }),
    z.strictObject({
      op: z.literal('minMaxScale'),
      tensor,
      min: numbers,
      max: numbers,
      range: z.tuple([z.number(), z.number()]).default([0, 1]),
      output: tensor.optional(),
    }),
    z.strictObject({ op: z.literal('clip'), tensor, min: z.number().optional(), max: z.number().optional(), output: tensor.optional() }),
    z.strictObject({ op: z.literal('log1p'), tensor, output: tensor.optional() }),
    z.strictObject({ op: z.literal('cast'), tensor, to: z.enum(DATATYPES), output: tensor.optional() }),
    z.strictObject({
      op: z.literal('reshape'),
      tensor,
      shape: z.array(z.int().refine((d) => d === -1 || d >= 1, 'dimensions must be >= 1, or -1 (at most once)')).min(1),
      output: tensor.optional(),
    }),
    z.strictObject({ op: z.literal('concat'), tensors: z.array(tensor).min(2, 'must list at least two tensors'), axis, output: tensor }),
    z.strictObject({
      op: z.literal('split'),
      tensor,
      axis,
      sizes: z.array(z.int().min(1)).min(2, 'must list at least two sizes'),
      outputs: z.array(tensor).min(2),
    }),
    z.strictObject({ op: z.literal('select'), tensors: z.array(tensor).min(1) }),
    z.strictObject({ op: z.literal('rename'), map: z.record(z.string(), tensor) }),
    z.strictObject({ op: z.literal('oneHot'), tensor, depth: z.int().min(1).max(65_536), output: tensor.optional() }),
    z.strictObject({ op: z.literal('labelMap'), tensor, labels: z.array(z.string()).min(1), output: tensor.optional() }),
    z.strictObject({ op: z.literal('argmax'), tensor, axis, output: tensor.optional() }),
    z.strictObject({ op: z.literal('softmax'), tensor, axis, output: tensor.optional() }),
    z.strictObject({
      op: z.literal('topK'),
      tensor,
      k: z.int().min(1),
      axis,
      outputs: z.strictObject({ values: tensor, indices: tensor }),
    }),
  ],
  { error: 'unknown op; expected one of standardize, minMaxScale, clip, log1p, cast, reshape, concat, split, select, rename, oneHot, labelMap, argmax, softmax, topK' },
);

export type TransformStep = z.infer<typeof transformStepSchema>;
export type TransformOpName = TransformStep['op'];
