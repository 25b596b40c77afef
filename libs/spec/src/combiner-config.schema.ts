import { z } from 'zod';
import { tensorSpecSchema } from './tensor-spec.schema';

export const COMBINER_STRATEGIES = ['mean', 'weighted-mean', 'soft-vote', 'hard-vote', 'max', 'concat', 'custom'] as const;
export type CombinerStrategy = (typeof COMBINER_STRATEGIES)[number];

export const combinerConfigSchema = z.strictObject({
  strategy: z.enum(COMBINER_STRATEGIES, { error: `must be one of ${COMBINER_STRATEGIES.join(', ')}` }),
  /**
   * The tensor each input branch contributes. Defaults: "probabilities" for soft-vote, "label" for
   * hard-vote; mean, weighted-mean, max and concat combine every tensor name all branches share.
   */
  tensor: z.string().min(1).optional(),
  /** Per input node; weighted-mean requires them, soft-vote and hard-vote accept them. */
  weights: z.record(z.string(), z.number().positive('must be > 0')).optional(),
  /** concat: the axis to join along (negative counts from the end). */
  axis: z.int().default(-1),
  join: z.enum(['inner', 'any', 'outer'], { error: 'must be inner, any or outer' }).default('inner'),
  /** outer: how long to wait after the first input arrives. */
  joinWindowMs: z.int().min(0).optional(),
  onError: z.enum(['fail', 'skip'], { error: 'must be fail or skip' }).default('fail'),
  /** custom: module path relative to the graph file, and its named export. */
  module: z.string().min(1).optional(),
  export: z.string().min(1).default('combine'),
  /** custom: the tensors the module returns (needed to type the graph). */
  outputs: z.array(tensorSpecSchema).optional(),
});

export type CombinerConfig = z.infer<typeof combinerConfigSchema>;
