import { formatShape, isFloatDatatype, type Datatype, type TensorSpec } from '@infergraph/protocol';
import { suggest, type TransformOpName } from '@infergraph/spec';
import { normalizeAxis } from '../axis-layout';
import type { OpProblem, SpecSet } from '../transform-op';

// Typing checks shared by the ops. Each pushes a problem naming the tensor and the field at fault.

const INTEGER_DATATYPES: readonly Datatype[] = ['INT8', 'INT16', 'INT32', 'INT64', 'UINT8', 'UINT16', 'UINT32', 'UINT64'];

export function isIntegerDatatype(datatype: Datatype): boolean {
  return INTEGER_DATATYPES.includes(datatype);
}

export function findTensor(tensors: SpecSet, name: string, field: string, problems: OpProblem[]): TensorSpec | undefined {
  const spec = tensors.get(name);
  if (spec === undefined) {
    const names = [...tensors.keys()];
    const available = names.map((n) => `"${n}"`).join(', ') || 'none';
    problems.push({ field, message: `no tensor "${name}" at this step (tensors: ${available})${suggest(name, names)}` });
  }
  return spec;
}

/** Every named tensor, or undefined when one is missing (each missing one is reported). */
export function findTensors(tensors: SpecSet, names: readonly string[], field: string, problems: OpProblem[]): TensorSpec[] | undefined {
  const found = names.map((n) => findTensor(tensors, n, field, problems));
  return found.every((s) => s !== undefined) ? found : undefined;
}

export type DatatypeKind = 'float' | 'integer' | 'numeric';

const KIND_TEXT: Readonly<Record<DatatypeKind, string>> = {
  float: 'a float tensor (FP16, FP32 or FP64)',
  integer: 'an integer tensor (INT8..INT64 or UINT8..UINT64)',
  numeric: 'an integer or float tensor',
};

function isKind(datatype: Datatype, kind: DatatypeKind): boolean {
  switch (kind) {
    case 'float':
      return isFloatDatatype(datatype);
    case 'integer':
      return isIntegerDatatype(datatype);
    case 'numeric':
      return isFloatDatatype(datatype) || isIntegerDatatype(datatype);
  }
}

export function requireKind(op: TransformOpName, spec: TensorSpec, kind: DatatypeKind, problems: OpProblem[]): boolean {
  if (isKind(spec.datatype, kind)) return true;
  const hint = spec.datatype === 'BYTES' ? '' : '; add a cast step before it';
  problems.push({ field: 'tensor', message: `tensor "${spec.name}" is ${spec.datatype}, but ${op} needs ${KIND_TEXT[kind]}${hint}` });
  return false;
}

/** The axis counted from the front (negative counts from the end), or undefined when out of range. */
export function resolveAxis(axis: number, spec: TensorSpec, problems: OpProblem[]): number | undefined {
  const rank = spec.shape.length;
  const resolved = normalizeAxis(axis, rank);
  if (resolved >= 0 && resolved < rank) return resolved;
  const valid = rank === 0 ? 'it is a scalar and has none' : `valid axes: ${-rank}..${rank - 1}`;
  problems.push({
    field: 'axis',
    message: `axis ${axis} is out of range for tensor "${spec.name}" ${formatShape(spec.shape)} (${valid})`,
  });
  return undefined;
}

/** The tensor set with these tensors added, or replaced in place when the name exists. */
export function withTensors<T extends { readonly name: string }>(tensors: ReadonlyMap<string, T>, ...added: T[]): Map<string, T> {
  const next = new Map(tensors);
  for (const t of added) next.set(t.name, t);
  return next;
}

export function describeTensor(spec: TensorSpec): string {
  return `"${spec.name}" ${spec.datatype} ${formatShape(spec.shape)}`;
}
