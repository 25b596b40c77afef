import assert from 'node:assert/strict';
import { InferenceError, type Datatype, type Tensor, type TensorData, type TensorMap, type TensorSpec } from '@infergraph/protocol';
import { transformStepSchema, type TransformStep } from '@infergraph/spec';
import { applyTransformSteps, typeTransformSteps, type StepProblem } from './transform-steps';

// Helpers for the transformer specs: steps go through the real schema, so defaults (axis: -1,
// range: [0, 1]) apply as they do for a graph file.

export function steps(...raw: unknown[]): TransformStep[] {
  return raw.map((s) => transformStepSchema.parse(s));
}

export function tensor(name: string, datatype: Datatype, shape: number[], data: TensorData): Tensor {
  return { name, datatype, shape, data };
}

export function f32(name: string, shape: number[], values: number[]): Tensor {
  return tensor(name, 'FP32', shape, Float32Array.from(values));
}

export function spec(name: string, datatype: Datatype, shape: number[]): TensorSpec {
  return { name, datatype, shape };
}

/** Applies raw steps to the tensors and returns the resulting tensor set. */
export function run(rawSteps: unknown[], ...inputs: Tensor[]): TensorMap {
  return applyTransformSteps(steps(...rawSteps), new Map(inputs.map((t) => [t.name, t])));
}

export function typeOf(rawSteps: unknown[], ...incoming: TensorSpec[]): { outputs: TensorSpec[] | undefined; problems: StepProblem[] } {
  return typeTransformSteps(steps(...rawSteps), incoming);
}

/** The named tensor of a result, checked for its name, datatype and shape. */
export function output(result: TensorMap, name: string, datatype: Datatype, shape: number[]): Tensor {
  const t = result.get(name);
  assert.ok(t, `no output "${name}" (got ${[...result.keys()].join(', ')})`);
  assert.deepEqual({ name: t.name, datatype: t.datatype, shape: [...t.shape] }, { name, datatype, shape });
  return t;
}

export function valuesOf(t: Tensor): unknown[] {
  return Array.from(t.data as ArrayLike<unknown>);
}

/** Element-wise equality within `tolerance` (infinities and NaN must match exactly). */
export function assertClose(actual: TensorData, expected: readonly number[], tolerance = 1e-6): void {
  const values = Array.from(actual as ArrayLike<number>);
  assert.equal(values.length, expected.length, `expected ${expected.length} elements, got [${values.join(', ')}]`);
  values.forEach((v, i) => {
    const want = expected[i] ?? NaN;
    const close = Number.isFinite(want) ? Math.abs(v - want) <= tolerance : Object.is(v, want);
    assert.ok(close, `element ${i}: expected ${want}, got ${v} (all: [${values.join(', ')}])`);
  });
}

/** Asserts an INVALID_ARGUMENT whose message matches. */
export function assertInvalid(work: () => unknown, message: RegExp): void {
  assert.throws(work, (err: unknown) => {
    assert.ok(err instanceof InferenceError, `expected an InferenceError, got ${String(err)}`);
    assert.equal(err.code, 'INVALID_ARGUMENT');
    assert.match(err.message, message);
    return true;
  });
}

/** The problems as [step, field, message] rows, for deepEqual against a table. */
export function problemRows(problems: readonly StepProblem[]): [number, string | undefined, string][] {
  return problems.map((p) => [p.step, p.field, p.message]);
}
