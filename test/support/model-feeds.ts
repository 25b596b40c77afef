import type { Datatype, Tensor, TensorData, TensorMap, TensorSpec } from '@infergraph/protocol';

// Feeds for any model of the repository, and outputs in a form assert.deepEqual compares: for tests that
// run one model two ways and compare.

/** Deterministic data of `datatype` for `count` elements. */
export function dataOf(datatype: Datatype, count: number, seed: number): TensorData {
  const at = (i: number): number => ((i * 37 + seed * 11) % 17) - 8;
  switch (datatype) {
    case 'FP32':
      return Float32Array.from({ length: count }, (_, i) => at(i) / 4);
    case 'FP64':
      return Float64Array.from({ length: count }, (_, i) => at(i) / 4);
    case 'INT64':
      return BigInt64Array.from({ length: count }, (_, i) => BigInt(at(i)));
    case 'UINT64':
      return BigUint64Array.from({ length: count }, (_, i) => BigInt(Math.abs(at(i))));
    case 'INT32':
      return Int32Array.from({ length: count }, (_, i) => at(i));
    case 'INT16':
      return Int16Array.from({ length: count }, (_, i) => at(i));
    case 'INT8':
      return Int8Array.from({ length: count }, (_, i) => at(i));
    case 'UINT32':
      return Uint32Array.from({ length: count }, (_, i) => Math.abs(at(i)));
    case 'UINT16':
    case 'FP16': // raw half-precision bits
      return Uint16Array.from({ length: count }, (_, i) => Math.abs(at(i)));
    case 'UINT8':
    case 'BOOL':
      return Uint8Array.from({ length: count }, (_, i) => (datatype === 'BOOL' ? Math.abs(at(i)) % 2 : Math.abs(at(i))));
    case 'BYTES':
      return Array.from({ length: count }, (_, i) => `s${at(i)}`);
    default:
      throw new Error(`no test data for ${String(datatype)}`);
  }
}

export function feedsFor(inputs: readonly TensorSpec[], rows: number): TensorMap {
  return new Map(
    inputs.map((spec, k): [string, Tensor] => {
      const shape = spec.shape.map((d) => (d < 0 ? rows : d));
      return [spec.name, { name: spec.name, datatype: spec.datatype, shape, data: dataOf(spec.datatype, shape.reduce((a, b) => a * b, 1), k) }];
    }),
  );
}

export function plain(outputs: TensorMap): unknown {
  return [...outputs.values()].map((t) => ({ name: t.name, datatype: t.datatype, shape: [...t.shape], data: Array.from(t.data as ArrayLike<unknown>) }));
}
