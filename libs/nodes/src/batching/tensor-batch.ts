import type { NumericArray, Tensor, TensorData, TensorMap } from '@infergraph/protocol';

/**
 * Rows a request contributes to a batch: the shared first dimension of all its tensors, or -1 when
 * it has none (a scalar, or tensors that disagree), in which case it must run alone.
 */
export function batchRowsOf(inputs: TensorMap): number {
  let rows = -1;
  for (const t of inputs.values()) {
    const first = t.shape[0];
    if (first === undefined) return -1;
    if (rows === -1) rows = first;
    else if (rows !== first) return -1;
  }
  return rows;
}

/** Whether two requests can share a batch: same tensor names, datatypes and dimensions after the first. */
export function stackable(a: TensorMap, b: TensorMap): boolean {
  if (a.size !== b.size) return false;
  for (const [name, t] of a) {
    const u = b.get(name);
    if (u === undefined || u.datatype !== t.datatype || u.shape.length !== t.shape.length) return false;
    for (let d = 1; d < t.shape.length; d++) if (u.shape[d] !== t.shape[d]) return false;
  }
  return true;
}

/** Joins same-typed tensors along dimension 0 (typed arrays of any element type, or BYTES strings). */
export function stackTensors(name: string, parts: readonly Tensor[]): Tensor {
  const head = parts[0] as Tensor;
  let rows = 0;
  for (const p of parts) rows += p.shape[0] ?? 0;
  const shape = head.shape.slice();
  shape[0] = rows;
  return { name, datatype: head.datatype, shape, data: concatData(parts) };
}

function concatData(parts: readonly Tensor[]): TensorData {
  const first = (parts[0] as Tensor).data;
  if (isStrings(first)) {
    const out: string[] = [];
    for (const p of parts) for (const s of p.data as readonly string[]) out.push(s);
    return out;
  }
  let length = 0;
  for (const p of parts) length += p.data.length;
  // The first part's own constructor: BOOL stays Uint8Array, INT64 BigInt64Array, FP16 bit patterns Uint16Array.
  const out = new (first.constructor as new (length: number) => NumericArray)(length);
  let offset = 0;
  for (const p of parts) {
    (out as Float64Array).set(p.data as Float64Array, offset);
    offset += p.data.length;
  }
  return out;
}

/** Rows [start, start + rows) of a tensor batched along dimension 0; typed arrays are views, not copies. */
export function sliceRows(t: Tensor, start: number, rows: number): Tensor {
  let rowSize = 1;
  for (let d = 1; d < t.shape.length; d++) rowSize *= t.shape[d] as number;
  const shape = t.shape.slice();
  shape[0] = rows;
  const from = start * rowSize;
  const to = from + rows * rowSize;
  const data = isStrings(t.data) ? t.data.slice(from, to) : t.data.subarray(from, to);
  return { name: t.name, datatype: t.datatype, shape, data };
}

function isStrings(data: TensorData): data is readonly string[] {
  return Array.isArray(data);
}
