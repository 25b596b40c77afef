import { InferenceError, type TensorMap } from '@infergraph/protocol';
import type { NodeRuntime } from '@infergraph/executor';
import type { TransformStep } from '@infergraph/spec';
import { StepTypingMemo } from './step-typing.memo';
import { applyTransformSteps } from './transform-steps';

/**
 * A transformer node built from the spec's steps. The running tensor set starts as the node's
 * inputs; tensors no step touches pass through unchanged.
 */
export class StepsTransformerNode implements NodeRuntime {
  private readonly typing = new StepTypingMemo();

  constructor(
    private readonly nodeName: string,
    private readonly steps: readonly TransformStep[],
  ) {}

  infer(inputs: TensorMap): Promise<TensorMap> {
    try {
      return Promise.resolve(applyTransformSteps(this.steps, inputs, this.typing));
    } catch (err) {
      if (err instanceof InferenceError) {
        return Promise.reject(new InferenceError(err.code, `node "${this.nodeName}": ${err.message}`, { cause: err }));
      }
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
  }
}
