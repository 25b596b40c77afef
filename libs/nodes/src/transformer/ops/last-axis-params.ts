import { formatShape, type TensorSpec } from '@infergraph/protocol';
import type { OpProblem } from '../transform-op';

// Per-feature parameters (standardize's mean/std, minMaxScale's min/max): one value per index of
// the last axis, or a single value for all of them.

/** The size of the last axis; a scalar counts as one feature. */
export function lastDim(shape: readonly number[]): number {
  return shape.length === 0 ? 1 : (shape[shape.length - 1] ?? 1);
}

/** Checks each parameter's length against the last dimension; returns whether all fit. */
export function checkLastAxisParams(spec: TensorSpec, params: Readonly<Record<string, readonly number[]>>, problems: OpProblem[]): boolean {
  const dim = lastDim(spec.shape);
  let fits = true;
  let perFeature: readonly [string, number] | undefined;
  for (const [field, values] of Object.entries(params)) {
    if (values.length === 1) continue;
    if (dim >= 0 && values.length !== dim) {
      problems.push({
        field,
        message: `${field} has ${values.length} values, but the last dimension of tensor "${spec.name}" ${formatShape(spec.shape)} is ${dim}; give ${dim} values, or 1 for all`,
      });
      fits = false;
    } else if (perFeature !== undefined && perFeature[1] !== values.length) {
      problems.push({ field, message: `${field} has ${values.length} values, but ${perFeature[0]} has ${perFeature[1]}` });
      fits = false;
    }
    perFeature ??= [field, values.length];
  }
  return fits;
}

/** The parameter for feature j (the single value when broadcast). */
export function paramAt(values: readonly number[], j: number): number {
  return (values.length === 1 ? values[0] : values[j]) ?? NaN;
}

/** The number of features the parameters describe (1 when all are broadcast). */
export function featureCount(...params: (readonly number[])[]): number {
  return Math.max(...params.map((p) => p.length));
}
