import { formatShape, fromHalfBits, invalidArgument, type Tensor } from '@infergraph/protocol';

/** A [N, F] numeric tensor as N rows of float64 (what detectors consume). */
export function rowsOf(t: Tensor, features: number, node: string): Float64Array[] {
  if (t.shape.length !== 2 || t.shape[1] !== features) {
    throw invalidArgument(`node "${node}": tensor "${t.name}" must have shape [N, ${features}], got ${formatShape(t.shape)}`);
  }
  if (t.datatype === 'BYTES' || t.datatype === 'BOOL') {
    throw invalidArgument(`node "${node}": tensor "${t.name}" must be numeric, got ${t.datatype}`);
  }
  const n = t.shape[0] ?? 0;
  const data = t.data as ArrayLike<number | bigint>;
  const rows: Float64Array[] = [];
  for (let r = 0; r < n; r++) {
    const row = new Float64Array(features);
    for (let f = 0; f < features; f++) {
      const v = data[r * features + f] as number | bigint;
      row[f] = t.datatype === 'FP16' ? fromHalfBits(v as number) : Number(v);
    }
    rows.push(row);
  }
  return rows;
}
