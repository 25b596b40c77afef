import assert from 'node:assert/strict';
import type { SampleRows } from './mmd';

// Helpers for the drift specs. Reference values come from scipy and numpy via
// scripts/detectors/reference_values.py, which builds the same deterministic samples.

/** Asserts |actual - expected| <= relTol * |expected| (exact equality when expected is 0). */
export function assertClose(actual: number, expected: number, relTol = 1e-9, label = ''): void {
  const error = expected === 0 ? Math.abs(actual) : Math.abs(actual - expected) / Math.abs(expected);
  assert.ok(error <= relTol, `${label} expected ${expected}, got ${actual} (relative error ${error.toExponential(2)} > ${relTol})`);
}

/** frac(i * step) * scale + offset for i = 1..n; Python's seq() in reference_values.py, bit for bit. */
export function fractionalSequence(n: number, step: number, scale = 1, offset = 0): Float64Array {
  return Float64Array.from({ length: n }, (_, k) => (((k + 1) * step) % 1) * scale + offset);
}

/** n values from N(mean, sd^2) by Box-Muller on a seeded uniform generator. */
export function normalSample(random: () => number, n: number, mean = 0, sd = 1): Float64Array {
  return Float64Array.from({ length: n }, () => mean + sd * Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random()));
}

/** n rows of `dim` independent N(mean, 1) features. */
export function normalRows(random: () => number, n: number, dim: number, mean = 0): SampleRows {
  return Array.from({ length: n }, () => normalSample(random, dim, mean));
}

/** Columns as rows: row i is [columns[0][i], columns[1][i], ...]. */
export function columnsToRows(columns: readonly Float64Array[]): SampleRows {
  return Array.from({ length: columns[0]?.length ?? 0 }, (_, i) => Float64Array.from(columns, (c) => c[i] ?? Number.NaN));
}

/** MMD_X and MMD_Y of reference_values.py as columns: three features on scales 1, 10 and 0.1, y shifted. */
export function mmdReferenceColumns(): { x: Float64Array[]; y: Float64Array[] } {
  return {
    x: [fractionalSequence(24, 0.6180339887498949), fractionalSequence(24, 0.41421356237309515, 10), fractionalSequence(24, 0.7320508075688772, 0.1)],
    y: [fractionalSequence(20, 0.2360679774997898, 1, 0.3), fractionalSequence(20, 0.6457513110645907, 10, 1), fractionalSequence(20, 0.1622776601683795, 0.1, 0.05)],
  };
}
