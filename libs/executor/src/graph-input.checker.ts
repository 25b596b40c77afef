import { echoText, formatShape, invalidArgument, shapeMismatch, type Tensor, type TensorSpec } from '@infergraph/protocol';

/** Checks request tensors against the graph's declared inputs: names, datatypes, shapes, and that none is empty. */
export function checkGraphInputs(graph: string, declared: readonly TensorSpec[], actual: readonly Tensor[]): void {
  for (const t of actual) {
    if (!declares(declared, t.name)) {
      throw invalidArgument(`unexpected input "${echoText(t.name)}": graph "${graph}" takes ${describe(declared)}`);
    }
  }
  for (const spec of declared) {
    const t = find(actual, spec.name);
    if (t === undefined) throw invalidArgument(`missing input "${spec.name}": graph "${graph}" takes ${describe(declared)}`);
    if (t.datatype !== spec.datatype) {
      throw invalidArgument(`input "${t.name}": expected datatype ${spec.datatype}, got ${t.datatype}`);
    }
    const problem = shapeMismatch(spec.shape, t.shape);
    if (problem !== undefined) throw invalidArgument(`input "${t.name}": ${problem}`);
    // Models fail on empty tensors in their own ways (onnxruntime: a 500 from deep inside some operators),
    // and an empty request has nothing to answer: the caller's mistake, said here for every graph alike.
    if (t.data.length === 0) {
      throw invalidArgument(`input "${t.name}": shape ${formatShape(t.shape)} holds no elements; send at least one (a dimension of 0 empties the tensor)`);
    }
  }
}

// Plain loops: this runs on every request, and the lists hold one or two tensors.
function declares(specs: readonly TensorSpec[], name: string): boolean {
  for (const s of specs) if (s.name === name) return true;
  return false;
}

function find(tensors: readonly Tensor[], name: string): Tensor | undefined {
  for (const t of tensors) if (t.name === name) return t;
  return undefined;
}

function describe(specs: readonly TensorSpec[]): string {
  return specs.map((s) => `"${s.name}" ${s.datatype} ${formatShape(s.shape)}`).join(', ');
}
