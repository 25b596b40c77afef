import { invalidArgument, type TensorMap } from '@infergraph/protocol';
import type { CombinerConfig } from '@infergraph/spec';
import { combineConcat } from './concat.strategy';
import { combineElementwise } from './elementwise.strategy';
import { combineHardVote, combineSoftVote } from './vote.strategy';

/** What one input node contributed to a combiner. */
export interface CombinerBranch {
  /** The producing node. */
  readonly source: string;
  readonly tensors: TensorMap;
}

/**
 * Combines the branches (in the declared input order; with join any or outer, only those that
 * arrived) by a built-in strategy. Strategy `custom` runs a user module and is not handled here.
 * Request problems (disagreeing datatypes or shapes, a missing tensor) are INVALID_ARGUMENT.
 */
export function combineBranches(config: CombinerConfig, branches: readonly CombinerBranch[]): TensorMap {
  if (config.strategy === 'custom') throw new Error('combineBranches does not run strategy custom; call the custom module instead');
  if (branches.length === 0) throw invalidArgument(`combiner (${config.strategy}): no branch arrived to combine`);
  switch (config.strategy) {
    case 'mean':
    case 'weighted-mean':
    case 'max':
      return combineElementwise({ ...config, strategy: config.strategy }, branches);
    case 'soft-vote':
      return combineSoftVote(config, branches);
    case 'hard-vote':
      return combineHardVote(config, branches);
    case 'concat':
      return combineConcat(config, branches);
  }
}
