import { formatShape, invalidArgument, shapeMismatch, type Tensor, type TensorSpec } from '@infergraph/protocol';

/** Checks request tensors against the graph's declared inputs: names, datatypes and shapes. */
export function checkGraphInputs(graph: string, declared: readonly TensorSpec[], actual: readonly Tensor[]): void {
  const expectedNames = declared.map((d) => d.name);
  for (const t of actual) {
    if (!expectedNames.includes(t.name)) {
      throw invalidArgument(`unexpected input "${t.name}": graph "${graph}" takes ${describe(declared)}`);
    }
  }
  for (const spec of declared) {
    const t = actual.find((a) => a.name === spec.name);
    if (t === undefined) throw invalidArgument(`missing input "${spec.name}": graph "${graph}" takes ${describe(declared)}`);
    if (t.datatype !== spec.datatype) {
      throw invalidArgument(`input "${t.name}": expected datatype ${spec.datatype}, got ${t.datatype}`);
    }
    const problem = shapeMismatch(spec.shape, t.shape);
    if (problem !== undefined) throw invalidArgument(`input "${t.name}": ${problem}`);
  }
}

function describe(specs: readonly TensorSpec[]): string {
  return specs.map((s) => `"${s.name}" ${s.datatype} ${formatShape(s.shape)}`).join(', ');
}
