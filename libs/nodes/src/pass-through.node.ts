import type { TensorMap } from '@infergraph/protocol';
import type { NodeRuntime } from '@infergraph/executor';

/** A transformer with no steps: returns what it receives (after the executor's tensorMap renames). */
export class PassThroughNode implements NodeRuntime {
  infer(inputs: TensorMap): Promise<TensorMap> {
    return Promise.resolve(inputs);
  }
}
