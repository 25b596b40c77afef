import { formatShape, type TensorSpec } from '@infergraph/protocol';
import type { GraphProblem } from '@infergraph/spec';
import type { ModelSession } from '../model-session.port';

/**
 * Load-time check of `model.batching`: every input and output of the model must have a dynamic first
 * dimension, the one requests are stacked along. `model` names the model file in the message.
 */
export function checkBatchable(nodeIndex: number, model: string, session: Pick<ModelSession, 'inputs' | 'outputs'>): GraphProblem[] {
  const fixed = [
    ...session.inputs.filter((s) => !batchDimension(s)).map((s) => `input "${s.name}" ${formatShape(s.shape)}`),
    ...session.outputs.filter((s) => !batchDimension(s)).map((s) => `output "${s.name}" ${formatShape(s.shape)}`),
  ];
  if (fixed.length === 0) return [];
  return [
    {
      path: ['spec', 'nodes', nodeIndex, 'model', 'batching'],
      message: `model ${model} cannot be batched: its ${fixed.join(', ')} ${fixed.length === 1 ? 'has' : 'have'} a fixed first dimension; batching stacks requests along a dynamic first dimension (-1). Remove model.batching, or export the model with a dynamic batch dimension`,
    },
  ];
}

function batchDimension(spec: TensorSpec): boolean {
  const first = spec.shape[0];
  return first !== undefined && first < 0;
}
