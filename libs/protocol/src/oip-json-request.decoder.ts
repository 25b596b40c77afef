import { DATATYPES, INTEGER_RANGE, TYPED_ARRAY_OF, type NumericDatatype } from './datatype';
import type { InferRequest } from './oip-request.codec';
import { requestIdProblem } from './request-id.validator';
import { MAX_TENSOR_RANK, type Tensor, type TensorData } from './tensor';

/**
 * A decoder of the one JSON request shape a V2 client sends on the hot path: `{"id"?, "inputs": [{"name",
 * "shape", "datatype", "data"}]}` with flat numeric data. It reads the bytes once, numbers straight into the
 * tensor's typed array, with no `JSON.parse` tree, no UTF-8 string of the body and no validation walk after.
 *
 * It never decides that a request is bad: anything it does not fully understand (parameters, outputs,
 * nested or string data, escapes, FP16/BOOL/BYTES, an out-of-range element, a count that does not match
 * the shape, malformed JSON...) returns undefined, and the general decoder then accepts or refuses the
 * request with its own messages. What it accepts, the general decoder accepts with the same result
 * (oip-json-request.decoder.spec.ts holds the two equal).
 */
export function decodeTensorJsonRequest(body: Uint8Array): InferRequest | undefined {
  src = body;
  pos = 0;
  try {
    return readRequest();
  } finally {
    src = EMPTY;
    // One large request must not pin its scratch space for the life of the process.
    if (scratch.length > KEPT_SCRATCH) scratch = new Float64Array(KEPT_SCRATCH);
  }
}

/** Elements of scratch space kept between requests (512 KiB). */
const KEPT_SCRATCH = 65_536;

const EMPTY = new Uint8Array(0);
/** The body being read and the offset of the next byte (module state: no closure or object per request). */
let src: Uint8Array = EMPTY;
let pos = 0;
/** Numbers of the input being read, before its datatype and shape are known; grows, never shrinks. */
let scratch = new Float64Array(1024);

const QUOTE = 0x22;
const COMMA = 0x2c;
const MINUS = 0x2d;
const DOT = 0x2e;
const ZERO = 0x30;
const NINE = 0x39;
const COLON = 0x3a;
const OPEN_ARRAY = 0x5b;
const BACKSLASH = 0x5c;
const CLOSE_ARRAY = 0x5d;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;

/** The datatypes read here, with the typed array each fills. */
const FAST_TYPES: ReadonlyMap<string, NumericDatatype> = new Map(DATATYPES.flatMap((d) => (d === 'FP16' || d === 'BOOL' || d === 'BYTES' ? [] : [[d, d] as const])));
/** Exact powers of ten: m / 10^k and m * 10^k of an integer m < 2^53 are then correctly rounded (Clinger). */
const POW10 = [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22];

/** Thrown-free "give up" marker: the general decoder takes over. */
const NOT_HERE = undefined;

function skipSpace(): void {
  for (;;) {
    const c = src[pos];
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return;
    pos++;
  }
}

/** After optional whitespace, consumes `byte` and returns true, or returns false. */
function take(byte: number): boolean {
  skipSpace();
  if (src[pos] !== byte) return false;
  pos++;
  return true;
}

/** A string of printable ASCII without escapes (its bytes are then its characters), or undefined. */
function readPlainString(): string | undefined {
  skipSpace();
  if (src[pos] !== QUOTE) return NOT_HERE;
  const start = ++pos;
  let text = '';
  for (;;) {
    const c = src[pos];
    if (c === undefined || c < 0x20 || c > 0x7e || c === BACKSLASH) return NOT_HERE;
    pos++;
    if (c === QUOTE) return text;
    if (pos - start > 1024) return NOT_HERE; // longer than any name or request id allowed
    text += String.fromCharCode(c);
  }
}

function readRequest(): InferRequest | undefined {
  if (!take(OPEN_OBJECT)) return NOT_HERE;
  let id: string | undefined;
  let inputs: Tensor[] | undefined;
  do {
    const key = readPlainString();
    if (key === undefined || !take(COLON)) return NOT_HERE;
    if (key === 'id' && id === undefined) {
      id = readPlainString();
      // A bad id is the general decoder's to refuse, with its message.
      if (id === undefined || requestIdProblem(id) !== undefined) return NOT_HERE;
    } else if (key === 'inputs' && inputs === undefined) {
      inputs = readInputs();
      if (inputs === undefined) return NOT_HERE;
    } else return NOT_HERE; // parameters, outputs, an unknown or repeated key
  } while (take(COMMA));
  if (!take(CLOSE_OBJECT) || inputs === undefined) return NOT_HERE;
  skipSpace();
  if (pos !== src.length) return NOT_HERE;
  return { id, parameters: {}, inputs, outputs: undefined, binaryOutput: false };
}

function readInputs(): Tensor[] | undefined {
  if (!take(OPEN_ARRAY)) return NOT_HERE;
  const inputs: Tensor[] = [];
  do {
    const input = readInput();
    if (input === undefined) return NOT_HERE;
    for (const other of inputs) if (other.name === input.name) return NOT_HERE;
    inputs.push(input);
  } while (take(COMMA));
  return take(CLOSE_ARRAY) ? inputs : NOT_HERE;
}

function readInput(): Tensor | undefined {
  if (!take(OPEN_OBJECT)) return NOT_HERE;
  let name: string | undefined;
  let datatype: NumericDatatype | undefined;
  let shape: number[] | undefined;
  let count = -1;
  do {
    const key = readPlainString();
    if (key === undefined || !take(COLON)) return NOT_HERE;
    if (key === 'name' && name === undefined) {
      name = readPlainString();
      if (name === undefined || name === '') return NOT_HERE;
    } else if (key === 'datatype' && datatype === undefined) {
      const text = readPlainString();
      datatype = text === undefined ? undefined : FAST_TYPES.get(text);
      if (datatype === undefined) return NOT_HERE;
    } else if (key === 'shape' && shape === undefined) {
      shape = readShape();
      if (shape === undefined) return NOT_HERE;
    } else if (key === 'data' && count < 0) {
      count = readData();
      if (count < 0) return NOT_HERE;
    } else return NOT_HERE;
  } while (take(COMMA));
  if (!take(CLOSE_OBJECT) || name === undefined || datatype === undefined || shape === undefined || count < 0) return NOT_HERE;
  // As checkedElementCount: a zero dimension empties the tensor, but the others must still multiply to a safe count.
  let nonZero = 1;
  let empty = false;
  for (const d of shape) {
    if (d === 0) empty = true;
    else nonZero *= d;
  }
  if (nonZero > Number.MAX_SAFE_INTEGER || (empty ? 0 : nonZero) !== count) return NOT_HERE;
  const data = toTypedArray(datatype, count);
  return data === undefined ? NOT_HERE : { name, datatype, shape, data };
}

/** A shape of plain non-negative integers (at most 15 digits, so safe), or undefined. */
function readShape(): number[] | undefined {
  if (!take(OPEN_ARRAY)) return NOT_HERE;
  const shape: number[] = [];
  if (take(CLOSE_ARRAY)) return shape;
  do {
    skipSpace();
    const start = pos;
    let d = 0;
    for (let c = src[pos]; c !== undefined && c >= ZERO && c <= NINE; c = src[++pos]) d = d * 10 + (c - ZERO);
    const digits = pos - start;
    if (digits === 0 || digits > 15 || (digits > 1 && src[start] === ZERO)) return NOT_HERE;
    shape.push(d);
  } while (take(COMMA));
  return take(CLOSE_ARRAY) && shape.length <= MAX_TENSOR_RANK ? shape : NOT_HERE;
}

/** Reads a flat array of JSON numbers into `scratch`; returns how many, or -1. */
function readData(): number {
  if (!take(OPEN_ARRAY)) return -1;
  let n = 0;
  if (take(CLOSE_ARRAY)) return 0;
  do {
    skipSpace();
    const v = readNumber();
    if (v === undefined) return -1;
    if (n === scratch.length) {
      const bigger = new Float64Array(n * 2);
      bigger.set(scratch);
      scratch = bigger;
    }
    scratch[n++] = v;
  } while (take(COMMA));
  return take(CLOSE_ARRAY) ? n : -1;
}

/** One number by JSON's grammar, as `JSON.parse` would give it, or undefined. */
function readNumber(): number | undefined {
  const start = pos;
  const negative = src[pos] === MINUS;
  if (negative) pos++;
  let c = src[pos];
  if (c === undefined || c < ZERO || c > NINE) return NOT_HERE;
  let mantissa = 0;
  if (c === ZERO) {
    c = src[++pos];
    if (c !== undefined && c >= ZERO && c <= NINE) return NOT_HERE; // leading zero
  } else {
    for (; c !== undefined && c >= ZERO && c <= NINE; c = src[++pos]) mantissa = mantissa * 10 + (c - ZERO);
  }
  let exponent = 0;
  if (c === DOT) {
    c = src[++pos];
    const fractionStart = pos;
    for (; c !== undefined && c >= ZERO && c <= NINE; c = src[++pos]) mantissa = mantissa * 10 + (c - ZERO);
    if (pos === fractionStart) return NOT_HERE;
    exponent = fractionStart - pos;
  }
  if (c === 0x65 || c === 0x45) {
    c = src[++pos];
    const exponentNegative = c === MINUS;
    if (c === MINUS || c === 0x2b) c = src[++pos];
    const digitsStart = pos;
    let e = 0;
    for (; c !== undefined && c >= ZERO && c <= NINE; c = src[++pos]) e = e * 10 + (c - ZERO);
    if (pos === digitsStart) return NOT_HERE;
    exponent += exponentNegative ? -e : e;
  }
  let value: number;
  // Every step of the mantissa was exact while it stays a safe integer; then one IEEE operation rounds.
  if (mantissa <= Number.MAX_SAFE_INTEGER && exponent >= -22 && exponent <= 22) {
    value = exponent < 0 ? mantissa / (POW10[-exponent] as number) : mantissa * (POW10[exponent] as number);
    return negative ? -value : value;
  }
  // Long mantissas and large exponents: the platform's conversion of the same text.
  let text = '';
  for (let i = start; i < pos; i++) text += String.fromCharCode(src[i] as number);
  return Number(text);
}

/** The tensor's array from the first `count` numbers in `scratch`, or undefined when one does not fit it. */
function toTypedArray(datatype: NumericDatatype, count: number): TensorData | undefined {
  const values = scratch.subarray(0, count);
  if (datatype === 'INT64' || datatype === 'UINT64') {
    const out = datatype === 'INT64' ? new BigInt64Array(count) : new BigUint64Array(count);
    for (let i = 0; i < count; i++) {
      const v = values[i] as number;
      // Beyond 2^53 the JSON number may already have lost precision: the general decoder refuses it.
      if (!Number.isSafeInteger(v) || (datatype === 'UINT64' && v < 0)) return NOT_HERE;
      out[i] = BigInt(v);
    }
    return out;
  }
  const range = INTEGER_RANGE[datatype];
  if (range !== undefined) {
    const [min, max] = range;
    for (let i = 0; i < count; i++) {
      const v = values[i] as number;
      if (!Number.isInteger(v) || v < min || v > max) return NOT_HERE;
    }
  }
  const out = new (TYPED_ARRAY_OF[datatype] as Float64ArrayConstructor)(count);
  out.set(values);
  return out;
}
