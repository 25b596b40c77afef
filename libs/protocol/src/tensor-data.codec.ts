import {
  BIGINT_RANGE,
  INTEGER_RANGE,
  TYPED_ARRAY_OF,
  bytesPerElement,
  isFloatDatatype,
  type Datatype,
  type NumericDatatype,
} from './datatype';
import { MAX_ECHOED_ITEMS, echoText } from './error-echo';
import { fromHalfBits, toHalfBits } from './half-float';
import { invalidArgument } from './inference.error';
import { formatShape, type TensorData } from './tensor';

const NON_FINITE: Readonly<Record<string, number>> = { NaN: NaN, Infinity: Infinity, '-Infinity': -Infinity };

/**
 * Flattens row-major JSON data. The protocol allows flat data, or data nested like the shape;
 * nested data must match the shape at every level. Iterative, not recursive: the depth of the data is
 * the caller's to choose, and must not be able to overflow the stack.
 */
export function flattenJsonData(data: unknown, shape: readonly number[], field: string): unknown[] {
  if (!Array.isArray(data)) {
    throw invalidArgument(`${field}: expected an array of tensor elements, got ${describe(data)}`);
  }
  if (data.length === 0 || !Array.isArray(data[0])) return data;
  const rank = shape.length;
  if (rank === 0) throw invalidArgument(`${field}: nested data is deeper than shape ${formatShape(shape)}`);
  const out: unknown[] = [];
  // The array being read at each depth, and the index of the entry read next in it.
  const arrays: unknown[][] = [];
  const next: number[] = [];
  const at = (depth: number): string => {
    let path = field;
    for (let d = 0; d < Math.min(depth, MAX_ECHOED_ITEMS); d++) path += `[${(next[d] as number) - 1}]`;
    return depth > MAX_ECHOED_ITEMS ? `${path}…` : path;
  };
  const enter = (value: unknown, depth: number): void => {
    if (!Array.isArray(value)) {
      throw invalidArgument(`${at(depth)}: nested data must follow shape ${formatShape(shape)}; expected an array at depth ${depth}`);
    }
    if (value.length !== shape[depth]) {
      throw invalidArgument(`${at(depth)}: nested data must follow shape ${formatShape(shape)}; expected ${shape[depth]} entries at depth ${depth}, got ${value.length}`);
    }
    arrays[depth] = value;
    next[depth] = 0;
  };
  enter(data, 0);
  let depth = 0;
  while (depth >= 0) {
    const value = arrays[depth] as unknown[];
    if (depth === rank - 1) {
      for (const item of value) {
        if (Array.isArray(item)) throw invalidArgument(`${at(depth)}: nested data is deeper than shape ${formatShape(shape)}`);
        out.push(item);
      }
      depth--;
      continue;
    }
    const index = next[depth] as number;
    if (index === value.length) {
      depth--;
      continue;
    }
    next[depth] = index + 1;
    enter(value[index], depth + 1);
    depth++;
  }
  return out;
}

/** Converts JSON elements to the in-memory array for `datatype`, naming the first bad element. */
export function decodeJsonElements(values: readonly unknown[], datatype: Datatype, field: string): TensorData {
  const bad = (index: number, expected: string): never => {
    throw invalidArgument(`${field}[${index}]: expected ${expected} for ${datatype}, got ${describe(values[index])}`);
  };
  switch (datatype) {
    case 'BYTES': {
      const out: string[] = new Array<string>(values.length);
      for (let i = 0; i < values.length; i++) {
        const v = values[i];
        if (typeof v !== 'string') bad(i, 'a string');
        out[i] = v as string;
      }
      return out;
    }
    case 'BOOL': {
      const out = new Uint8Array(values.length);
      for (let i = 0; i < values.length; i++) {
        const v = values[i];
        if (typeof v !== 'boolean') bad(i, 'true or false');
        out[i] = v === true ? 1 : 0;
      }
      return out;
    }
    case 'FP16':
    case 'FP32':
    case 'FP64': {
      const out = datatype === 'FP16' ? new Uint16Array(values.length) : new TYPED_ARRAY_OF[datatype](values.length);
      for (let i = 0; i < values.length; i++) {
        const v = values[i];
        let n: number;
        if (typeof v === 'number') n = v;
        else if (typeof v === 'string' && Object.hasOwn(NON_FINITE, v)) n = NON_FINITE[v] as number;
        else n = bad(i, 'a number (or "NaN", "Infinity", "-Infinity")');
        out[i] = datatype === 'FP16' ? toHalfBits(n) : n;
      }
      return out;
    }
    case 'INT64':
    case 'UINT64': {
      const [min, max] = BIGINT_RANGE[datatype] as readonly [bigint, bigint];
      const out = new TYPED_ARRAY_OF[datatype](values.length) as BigInt64Array | BigUint64Array;
      for (let i = 0; i < values.length; i++) {
        const v = values[i];
        let n: bigint | undefined;
        if (typeof v === 'number' && Number.isInteger(v) && !Number.isSafeInteger(v)) {
          bad(i, 'an exact integer (JSON numbers beyond 2^53 lose precision: send such values as decimal strings or binary tensor data)');
        }
        if (typeof v === 'number' && Number.isSafeInteger(v)) n = BigInt(v);
        else if (typeof v === 'string' && /^-?\d+$/.test(v)) n = BigInt(v);
        if (n === undefined || n < min || n > max) return bad(i, `an integer in [${min}, ${max}]`);
        out[i] = n;
      }
      return out;
    }
    case 'UINT8':
    case 'UINT16':
    case 'UINT32':
    case 'INT8':
    case 'INT16':
    case 'INT32': {
      const [min, max] = INTEGER_RANGE[datatype] as readonly [number, number];
      const out = new TYPED_ARRAY_OF[datatype](values.length) as Exclude<
        TensorData,
        readonly string[] | BigInt64Array | BigUint64Array
      >;
      for (let i = 0; i < values.length; i++) {
        const v = values[i];
        if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) bad(i, `an integer in [${min}, ${max}]`);
        out[i] = v as number;
      }
      return out;
    }
  }
}

/**
 * The JSON text of a tensor's elements as a flat list: non-finite floats as the strings "NaN",
 * "Infinity" and "-Infinity", int64 as numbers (as decimal strings beyond 2^53), BOOL as true/false.
 * Written directly rather than through an array for JSON.stringify: this runs for every response.
 */
export function writeJsonElements(data: TensorData, datatype: Datatype): string {
  if (datatype === 'BYTES') return JSON.stringify(data);
  if (datatype === 'BOOL') return `[${Array.from(data as Uint8Array, (v) => (v !== 0 ? 'true' : 'false')).join(',')}]`;
  if (datatype === 'INT64' || datatype === 'UINT64') {
    const arr = data as BigInt64Array | BigUint64Array;
    let text = '[';
    for (let i = 0; i < arr.length; i++) {
      const v = arr[i] as bigint;
      const n = Number(v);
      text += `${i === 0 ? '' : ','}${Number.isSafeInteger(n) ? n : `"${v}"`}`;
    }
    return `${text}]`;
  }
  if (datatype === 'FP16') return `[${Array.from(data as Uint16Array, (v) => jsonFloat(fromHalfBits(v))).join(',')}]`;
  if (isFloatDatatype(datatype)) {
    const arr = data as Float32Array | Float64Array;
    for (let i = 0; i < arr.length; i++) {
      // A typed array's join writes each element as JSON does a finite number; only non-finite ones differ.
      if (!Number.isFinite(arr[i])) return `[${Array.from(arr, jsonFloat).join(',')}]`;
    }
    return `[${arr.join(',')}]`;
  }
  return `[${(data as Int32Array).join(',')}]`;
}

/** A float as JSON text: non-finite values as quoted strings. */
function jsonFloat(n: number): string {
  if (Number.isFinite(n)) return String(n);
  return Number.isNaN(n) ? '"NaN"' : n > 0 ? '"Infinity"' : '"-Infinity"';
}

/** Decodes a tensor from the binary tensor data extension (little-endian, BYTES length-prefixed). */
export function decodeBinaryElements(
  bytes: Uint8Array,
  datatype: Datatype,
  count: number,
  field: string,
  view = false,
): TensorData {
  if (datatype === 'BYTES') {
    const out: string[] = [];
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const decoder = new TextDecoder();
    let offset = 0;
    while (offset < bytes.byteLength) {
      if (offset + 4 > bytes.byteLength) throw invalidArgument(`${field}: truncated BYTES element length at byte ${offset}`);
      const len = view.getUint32(offset, true);
      offset += 4;
      if (offset + len > bytes.byteLength) throw invalidArgument(`${field}: BYTES element ${out.length} runs past the end of its binary data`);
      out.push(decoder.decode(bytes.subarray(offset, offset + len)));
      offset += len;
    }
    if (out.length !== count) {
      throw invalidArgument(`${field}: binary data holds ${out.length} BYTES elements, shape needs ${count}`);
    }
    return out;
  }
  const size = bytesPerElement(datatype);
  if (bytes.byteLength !== count * size) {
    throw invalidArgument(
      `${field}: binary_data_size ${bytes.byteLength} does not match shape (${count} elements x ${size} bytes = ${count * size})`,
    );
  }
  // With `view`, a typed array over the caller's bytes when they are aligned for the element type (and,
  // for BOOL, already 0/1): a protobuf message's raw contents, which nobody writes to afterwards.
  if (view && bytes.byteOffset % size === 0 && (datatype !== 'BOOL' || isZeroOne(bytes))) {
    return new TYPED_ARRAY_OF[datatype](bytes.buffer as ArrayBuffer, bytes.byteOffset, count);
  }
  // Copy into an aligned buffer: the slice of a request body is rarely aligned for the element type.
  const copy = new Uint8Array(bytes.byteLength);
  copy.set(bytes);
  if (datatype === 'BOOL') for (let i = 0; i < copy.length; i++) copy[i] = copy[i] === 0 ? 0 : 1;
  return new TYPED_ARRAY_OF[datatype](copy.buffer, 0, count);
}

function isZeroOne(bytes: Uint8Array): boolean {
  for (let i = 0; i < bytes.length; i++) if ((bytes[i] as number) > 1) return false;
  return true;
}

/** Raw bytes of a tensor for the binary tensor data extension. */
export function encodeBinaryElements(data: TensorData, datatype: Datatype): Uint8Array {
  if (datatype === 'BYTES') {
    const encoder = new TextEncoder();
    const parts = (data as readonly string[]).map((s) => encoder.encode(s));
    const total = parts.reduce((n, p) => n + 4 + p.byteLength, 0);
    const out = new Uint8Array(total);
    const view = new DataView(out.buffer);
    let offset = 0;
    for (const p of parts) {
      view.setUint32(offset, p.byteLength, true);
      out.set(p, offset + 4);
      offset += 4 + p.byteLength;
    }
    return out;
  }
  const arr = data as Exclude<TensorData, readonly string[]>;
  return new Uint8Array(arr.buffer, arr.byteOffset, arr.byteLength);
}

export function typedArrayFor(datatype: NumericDatatype, length: number): Exclude<TensorData, readonly string[]> {
  return new TYPED_ARRAY_OF[datatype](length);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return `string ${JSON.stringify(echoText(value, 32))}`;
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'number' || typeof value === 'boolean') return `${typeof value} ${value}`;
  return typeof value;
}
