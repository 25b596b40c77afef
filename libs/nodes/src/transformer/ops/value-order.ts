import type { ComparableValues } from '../tensor-values';

/**
 * Orders flat indices by descending value, NaN first (as the largest, like numpy's argmax and
 * torch's topk) and ties by the lower index.
 */
export function descendingOrder(values: ComparableValues): (a: number, b: number) => number {
  return (a, b) => {
    const x = values[a] ?? 0;
    const y = values[b] ?? 0;
    const xNaN = x !== x;
    const yNaN = y !== y;
    if (xNaN || yNaN) return xNaN && yNaN ? a - b : xNaN ? -1 : 1;
    return x > y ? -1 : x < y ? 1 : a - b;
  };
}
