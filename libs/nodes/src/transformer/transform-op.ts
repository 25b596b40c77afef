import type { TensorMap, TensorSpec } from '@infergraph/protocol';
import type { TransformOpName, TransformStep } from '@infergraph/spec';

/** Tensors by name, in the order a node holds them. */
export type SpecSet = ReadonlyMap<string, TensorSpec>;

export type StepOf<K extends TransformOpName> = Extract<TransformStep, { op: K }>;

/** What is wrong with one step; `field` is the step's config field at fault. */
export interface OpProblem {
  readonly field?: string;
  readonly message: string;
}

/**
 * One built-in op. Run time types the step again on the concrete shapes before `apply`, so every
 * check on datatypes, shapes and config lives in `type` once; `apply` only checks the data.
 */
export interface TransformOp<S extends TransformStep> {
  /** The tensors after the step, or undefined when they cannot be known; pushes what is wrong. */
  type(step: S, tensors: SpecSet, problems: OpProblem[]): SpecSet | undefined;
  /** Computes the step on tensors `type` accepted; `typed` is what `type` returned for them. */
  apply(step: S, tensors: TensorMap, typed: SpecSet): TensorMap;
}

/** Bad tensor data found while applying a step (an index out of range, a value a cast cannot hold). */
export class StepDataError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StepDataError';
  }
}
