import { invalidArgument, type TensorMap, type TensorSpec } from '@infergraph/protocol';
import type { TransformStep } from '@infergraph/spec';
import { StepDataError, type OpProblem, type SpecSet } from './transform-op';
import type { StepTypingMemo } from './step-typing.memo';
import { transformOpOf } from './transform-ops.registry';

/** What is wrong with step `step`; `field` names its config field at fault, when one is. */
export interface StepProblem {
  readonly step: number;
  readonly field?: string;
  readonly message: string;
}

/**
 * Static typing: the tensors after all steps, from the typed tensors the node receives. `outputs`
 * is undefined once a step's results cannot be known (a missing tensor, a bad axis); typing stops
 * there. Problems that leave the results known (a zero std) do not stop it.
 */
export function typeTransformSteps(
  steps: readonly TransformStep[],
  incoming: readonly TensorSpec[],
): { outputs: TensorSpec[] | undefined; problems: StepProblem[] } {
  const problems: StepProblem[] = [];
  let tensors: SpecSet | undefined = new Map(incoming.map((s) => [s.name, s]));
  for (const [index, step] of steps.entries()) {
    const found: OpProblem[] = [];
    tensors = transformOpOf(step).type(step, tensors, found);
    problems.push(...found.map((p) => ({ step: index, ...p })));
    if (tensors === undefined) break;
  }
  return { outputs: tensors && [...tensors.values()], problems };
}

/**
 * Runtime: applies the steps in order. Each step is first typed against the concrete tensors, so a
 * tensor that does not fit (wrong datatype, shape, missing) or bad data throws INVALID_ARGUMENT
 * with a message starting `step <i> (<op>): `. With a memo, inputs shaped like the last ones that typed
 * cleanly reuse that typing (it depends only on names, datatypes and shapes).
 */
export function applyTransformSteps(steps: readonly TransformStep[], inputs: TensorMap, memo?: StepTypingMemo): TensorMap {
  const known = memo?.lookup(inputs);
  const typings: SpecSet[] | undefined = known === undefined && memo !== undefined ? [] : undefined;
  let tensors = inputs;
  for (const [index, step] of steps.entries()) {
    const op = transformOpOf(step);
    const fail = (message: string): Error => invalidArgument(`step ${index} (${step.op}): ${message}`);
    let typed = known?.[index];
    if (typed === undefined) {
      const problems: OpProblem[] = [];
      typed = op.type(step, specsOf(tensors), problems);
      if (typed === undefined || problems.length > 0) throw fail(problems.map((p) => p.message).join('; '));
      typings?.push(typed);
    }
    try {
      tensors = op.apply(step, tensors, typed);
    } catch (err) {
      if (err instanceof StepDataError) throw fail(err.message);
      throw err;
    }
  }
  if (typings !== undefined) memo?.remember(inputs, typings);
  return tensors;
}

function specsOf(tensors: TensorMap): SpecSet {
  return new Map([...tensors].map(([name, t]) => [name, { name, datatype: t.datatype, shape: t.shape }]));
}
