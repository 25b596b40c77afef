/**
 * A row-major tensor seen along one axis: `outer` blocks of `dim` slices of `inner` contiguous
 * elements, so element (o, k, i) sits at (o * dim + k) * inner + i.
 */
export interface AxisLayout {
  readonly outer: number;
  readonly dim: number;
  readonly inner: number;
}

export function axisLayout(shape: readonly number[], axis: number): AxisLayout {
  let outer = 1;
  let inner = 1;
  for (let d = 0; d < axis; d++) outer *= shape[d] ?? 1;
  for (let d = axis + 1; d < shape.length; d++) inner *= shape[d] ?? 1;
  return { outer, dim: shape[axis] ?? 1, inner };
}

/** Calls `visit` once per line along the axis with the flat index of its first element and the stride. */
export function forEachLine(layout: AxisLayout, visit: (start: number, stride: number, line: number) => void): void {
  let line = 0;
  for (let o = 0; o < layout.outer; o++) {
    for (let i = 0; i < layout.inner; i++) visit(o * layout.dim * layout.inner + i, layout.inner, line++);
  }
}

/** The axis counted from the front; a negative axis counts from the end. */
export function normalizeAxis(axis: number, rank: number): number {
  return axis < 0 ? axis + rank : axis;
}
