import fc from 'fast-check';
import { DATATYPES, encodeBinaryElements, fromHalfBits, type Datatype, type InferParameterMessage, type ModelInferRequestMessage, type Tensor, type TensorData } from '@infergraph/protocol';

// fast-check arbitraries for Open Inference Protocol requests, shared by the decoder fuzz tests and the
// gateway fuzz test: valid tensors (the base that mutations start from) and request-shaped values whose
// every field may be wrong in the ways clients get it wrong: unknown datatypes, negative, fractional,
// overflowing or huge declared dimensions, data that does not match, NaN and Infinity, odd Unicode.

const encoder = new TextEncoder();

/** Names a graph declares (so some fuzzed requests get past the name check), and names nobody declares. */
export const tensorNameArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('features', 'input', 'x') },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 12 }) },
  { weight: 1, arbitrary: fc.constantFrom('', ' ', '__proto__', 'constructor', 'a\u0000b', '\ud800', '\u202e', 'é'.repeat(200)) },
);

/** Mostly datatypes of the protocol; sometimes names close to them, or none at all. */
export const datatypeArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...DATATYPES) },
  { weight: 1, arbitrary: fc.constantFrom('fp32', 'FP8', 'BF16', 'STRING', 'INT128', '', 'FP32 ', 'BYTES\u0000') },
);

/** A declared dimension: small ones, and the values that break arithmetic (huge, negative, fractional). */
export const dimensionArb: fc.Arbitrary<number> = fc.oneof(
  { weight: 8, arbitrary: fc.integer({ min: 0, max: 4 }) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(-1, -(2 ** 31), 2 ** 24, 2 ** 31, 2 ** 32, 2 ** 40, 2 ** 53 - 1, 2 ** 53, 2 ** 63, 1.5, 1e308, -0),
  },
  { weight: 1, arbitrary: fc.integer() },
);

export const shapeArb: fc.Arbitrary<number[]> = fc.oneof(
  { weight: 10, arbitrary: fc.array(dimensionArb, { maxLength: 5 }) },
  // Ranks around the limit (64), and products that overflow a double.
  { weight: 1, arbitrary: fc.integer({ min: 60, max: 70 }).map((rank) => new Array<number>(rank).fill(1)) },
  { weight: 1, arbitrary: fc.array(fc.constantFrom(2 ** 53 - 1, 0), { minLength: 20, maxLength: 40 }) },
);

/** One JSON tensor element, right or wrong for some datatype. */
export const elementArb: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: fc.integer({ min: -300, max: 300 }) },
  { weight: 3, arbitrary: fc.double() },
  { weight: 1, arbitrary: fc.constantFrom('NaN', 'Infinity', '-Infinity', 'nan', '1e3', '9223372036854775808', '-9223372036854775809', '18446744073709551615', '0x10') },
  { weight: 1, arbitrary: fc.constantFrom(2 ** 53, -(2 ** 63), 2 ** 64, Number.MAX_VALUE, Number.MIN_VALUE, -0) },
  { weight: 1, arbitrary: fc.boolean() },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 8 }) },
  { weight: 1, arbitrary: fc.constantFrom(null, {}, [], { '0': 1 }) },
);

/** Tensor data: flat lists, nested lists (following some shape or not), deep nesting, non-lists. */
export const dataArb: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 6, arbitrary: fc.array(elementArb, { maxLength: 12 }) },
  { weight: 2, arbitrary: fc.array(fc.array(elementArb, { maxLength: 4 }), { maxLength: 4 }) },
  { weight: 1, arbitrary: fc.array(fc.array(fc.array(elementArb, { maxLength: 3 }), { maxLength: 3 }), { maxLength: 3 }) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 3000 }).map((depth) => nested(depth, 1)) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
);

function nested(depth: number, leaf: unknown): unknown {
  let value: unknown = leaf;
  for (let i = 0; i < depth; i++) value = [value];
  return value;
}

/** `parameters.binary_data_size` values, sane and not. */
const binarySizeArb: fc.Arbitrary<unknown> = fc.oneof(
  fc.integer({ min: 0, max: 64 }),
  fc.constantFrom(-1, 2 ** 31, 2 ** 53 - 1, 2 ** 60, 1.5, '16', null, true),
);

/** Request or tensor parameters: JSON values, deep nesting, prototype-ish keys. */
export const parametersArb: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 }) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 200 }).map((depth) => ({ deep: nested(depth, 'x'), binary_data_output: true })) },
  { weight: 1, arbitrary: fc.constantFrom({ __proto__: { x: 1 } }, JSON.parse('{"__proto__":{"binary_data_output":true}}') as unknown, { constructor: 'x' }, [], 'text', null) },
);

/** An input tensor object as a client might send it: each field right, wrong, missing or extra. */
export const inputObjectArb: fc.Arbitrary<Record<string, unknown>> = fc
  .record(
    {
      name: fc.oneof({ weight: 8, arbitrary: tensorNameArb }, { weight: 1, arbitrary: fc.constantFrom(1, null, ['features']) }),
      shape: fc.oneof({ weight: 8, arbitrary: shapeArb }, { weight: 1, arbitrary: fc.constantFrom('4', null, [[1]], ['1', '4'], { 0: 1 }) }),
      datatype: fc.oneof({ weight: 8, arbitrary: datatypeArb }, { weight: 1, arbitrary: fc.constantFrom(3, null) }),
      data: dataArb,
      parameters: fc.oneof(fc.record({ binary_data_size: binarySizeArb }), fc.record({ binary_data: fc.boolean() }), parametersArb),
      extra: fc.jsonValue({ maxDepth: 1 }),
    },
    { requiredKeys: ['name', 'shape', 'datatype'] },
  )
  .map((input) => {
    const { extra, ...rest } = input;
    return extra === undefined || typeof extra !== 'string' ? rest : { ...rest, [extra.slice(0, 6) || 'unknown']: extra };
  });

/** A request object: mostly right at the top level, so the fuzzing reaches the inputs; sometimes not. */
export const requestObjectArb: fc.Arbitrary<unknown> = fc.oneof(
  {
    weight: 10,
    arbitrary: fc.record(
      {
        id: fc.oneof(fc.string({ unit: 'grapheme', maxLength: 20 }), fc.constantFrom('a\r\nb', 'x'.repeat(1100), '€', 7)),
        parameters: parametersArb,
        inputs: fc.oneof({ weight: 9, arbitrary: fc.array(inputObjectArb, { minLength: 1, maxLength: 3 }) }, { weight: 1, arbitrary: fc.constantFrom([], null, {}, 'features') }),
        outputs: fc.array(fc.record({ name: tensorNameArb, parameters: fc.record({ binary_data: fc.oneof(fc.boolean(), fc.constant('yes')) }) }, { requiredKeys: ['name'] }), { maxLength: 2 }),
      },
      { requiredKeys: ['inputs'] },
    ),
  },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 4 }) },
);

// ---- gRPC: ModelInferRequest messages as @grpc/proto-loader objects (keepCase, longs as strings) ----

export const int64Arb = fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map(String);
export const uint64Arb = fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).map(String);

/** Declared dimensions as protobuf int64s: small, huge, negative. */
export const wireDimensionArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 8, arbitrary: fc.integer({ min: 0, max: 4 }).map(String) },
  { weight: 2, arbitrary: fc.constantFrom('-1', '4294967296', '1099511627776', '9007199254740991', '9007199254740993', '9223372036854775807', '-9223372036854775808') },
  { weight: 1, arbitrary: int64Arb },
);

export const parameterMessageArb: fc.Arbitrary<InferParameterMessage> = fc.oneof(
  fc.record({ bool_param: fc.boolean() }),
  fc.record({ int64_param: int64Arb }),
  fc.record({ string_param: fc.string({ unit: 'grapheme', maxLength: 8 }) }),
  fc.record({ double_param: fc.double() }),
  fc.record({ uint64_param: uint64Arb }),
  fc.constant({}),
);

export const parameterKeyArb = fc.oneof({ weight: 4, arbitrary: fc.string({ maxLength: 8 }) }, { weight: 1, arbitrary: fc.constantFrom('__proto__', 'constructor', 'binary_data_output', '') });
export const parameterMapArb = fc.dictionary(parameterKeyArb, parameterMessageArb, { maxKeys: 3 });

const numbers = <T>(arb: fc.Arbitrary<T>): fc.Arbitrary<T[]> => fc.array(arb, { maxLength: 6 });

/** Typed contents: any field, whatever the datatype says. */
export const contentsArb = fc.record(
  {
    bool_contents: numbers(fc.boolean()),
    int_contents: numbers(fc.integer()),
    int64_contents: numbers(int64Arb),
    uint_contents: numbers(fc.nat({ max: 0xffffffff })),
    uint64_contents: numbers(uint64Arb),
    fp32_contents: numbers(fc.float()),
    fp64_contents: numbers(fc.double()),
    bytes_contents: numbers(fc.uint8Array({ maxLength: 6 })),
  },
  { requiredKeys: [] },
);

/** A ModelInferRequest message whose every field may be wrong: what a gRPC client can put on the wire. */
export const requestMessageArb: fc.Arbitrary<ModelInferRequestMessage> = fc
  .record(
    {
      model_name: fc.string({ maxLength: 8 }),
      id: fc.oneof(fc.string({ unit: 'grapheme', maxLength: 12 }), fc.constantFrom('a\r\nb', 'x'.repeat(1100))),
      parameters: parameterMapArb,
      inputs: fc.array(
        fc.record(
          {
            name: tensorNameArb,
            datatype: datatypeArb,
            shape: fc.oneof({ weight: 9, arbitrary: fc.array(wireDimensionArb, { maxLength: 5 }) }, { weight: 1, arbitrary: fc.integer({ min: 60, max: 70 }).map((n) => new Array<string>(n).fill('1')) }),
            parameters: parameterMapArb,
            contents: contentsArb,
          },
          { requiredKeys: ['name', 'datatype', 'shape'] },
        ),
        { maxLength: 3 },
      ),
      outputs: fc.array(fc.record({ name: tensorNameArb, parameters: parameterMapArb }, { requiredKeys: ['name'] }), { maxLength: 2 }),
      raw_input_contents: fc.array(fc.uint8Array({ maxLength: 40 }), { maxLength: 4 }),
    },
    { requiredKeys: ['model_name'] },
  );

/** A valid tensor of any datatype with data to match its (small) shape. */
export const tensorArb: fc.Arbitrary<Tensor> = fc
  .record({
    name: fc.string({ minLength: 1, maxLength: 8 }),
    datatype: fc.constantFrom(...DATATYPES),
    shape: fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 3 }),
  })
  .chain(({ name, datatype, shape }) => {
    const count = shape.reduce((n, d) => n * d, 1);
    return dataFor(datatype, count).map((data): Tensor => ({ name, datatype, shape, data }));
  });

/** Valid data of `count` elements of `datatype`, as the decoders return it. */
function dataFor(datatype: Datatype, count: number): fc.Arbitrary<TensorData> {
  const n = { minLength: count, maxLength: count };
  switch (datatype) {
    case 'BYTES':
      return fc.array(fc.string({ unit: 'grapheme', maxLength: 6 }), n);
    case 'BOOL':
      return fc.array(fc.boolean(), n).map((v) => Uint8Array.from(v, (b) => (b ? 1 : 0)));
    case 'UINT8':
      return fc.array(fc.integer({ min: 0, max: 255 }), n).map((v) => Uint8Array.from(v));
    case 'UINT16':
      return fc.array(fc.integer({ min: 0, max: 0xffff }), n).map((v) => Uint16Array.from(v));
    case 'UINT32':
      return fc.array(fc.integer({ min: 0, max: 0xffffffff }), n).map((v) => Uint32Array.from(v));
    case 'UINT64':
      return fc.array(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), n).map((v) => BigUint64Array.from(v));
    case 'INT8':
      return fc.array(fc.integer({ min: -128, max: 127 }), n).map((v) => Int8Array.from(v));
    case 'INT16':
      return fc.array(fc.integer({ min: -0x8000, max: 0x7fff }), n).map((v) => Int16Array.from(v));
    case 'INT32':
      return fc.array(fc.integer(), n).map((v) => Int32Array.from(v));
    case 'INT64':
      return fc.array(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), n).map((v) => BigInt64Array.from(v));
    case 'FP16':
      // Bit patterns of finite halves (exponent below 0x1f): NaN payloads need not survive a round trip.
      return fc.array(fc.integer({ min: 0, max: 0xffff }).filter((b) => (b & 0x7c00) !== 0x7c00), n).map((v) => Uint16Array.from(v));
    case 'FP32':
      return fc.array(fc.float({ noNaN: true }), n).map((v) => Float32Array.from(v));
    case 'FP64':
      return fc.array(fc.double({ noNaN: true }), n).map((v) => Float64Array.from(v));
  }
}

/** A valid request as the decoders return its tensors, and how it goes over REST: JSON data, or binary. */
export interface EncodedRequest {
  readonly tensors: readonly Tensor[];
  readonly body: Uint8Array;
  /** The Inference-Header-Content-Length header, when tensors travel as binary data. */
  readonly jsonLength: number | undefined;
}

export const encodedRequestArb: fc.Arbitrary<EncodedRequest> = fc
  .record({
    tensors: fc.uniqueArray(tensorArb, { minLength: 1, maxLength: 3, selector: (t) => t.name }),
    binary: fc.boolean(),
  })
  .map(({ tensors, binary }) => encodeRestRequest(tensors, binary));

/** The REST body of a request for `tensors`, every tensor as JSON data or every one as binary data. */
export function encodeRestRequest(tensors: readonly Tensor[], binary: boolean): EncodedRequest {
  if (!binary) {
    const inputs = tensors.map((t) => ({ name: t.name, datatype: t.datatype, shape: t.shape, data: jsonData(t) }));
    return { tensors, body: encoder.encode(JSON.stringify({ inputs })), jsonLength: undefined };
  }
  const parts = tensors.map((t) => encodeBinaryElements(t.data, t.datatype));
  const inputs = tensors.map((t, i) => ({ name: t.name, datatype: t.datatype, shape: t.shape, parameters: { binary_data_size: parts[i]?.byteLength } }));
  const json = encoder.encode(JSON.stringify({ inputs }));
  return { tensors, body: Buffer.concat([json, ...parts]), jsonLength: json.byteLength };
}

/** A tensor's data as JSON values (int64 as decimal strings, non-finite floats as their names). */
function jsonData(t: Tensor): unknown[] {
  if (t.datatype === 'FP16') return Array.from(t.data as Uint16Array, fromHalfBits);
  if (t.datatype === 'BOOL') return Array.from(t.data as Uint8Array, (v) => v !== 0);
  return Array.from(t.data as ArrayLike<unknown>, (v) => {
    if (typeof v === 'bigint') return v.toString();
    if (typeof v === 'number' && !Number.isFinite(v)) return String(v);
    return v;
  });
}

/**
 * Byte-level mutations of an encoding: flipped bits, overwritten, inserted and deleted runs, truncation.
 * Applied to valid bodies they make inputs a decoder almost accepts, where its checks matter most.
 */
export function mutatedBytesArb(base: Uint8Array): fc.Arbitrary<Uint8Array> {
  const at = fc.integer({ min: 0, max: Math.max(0, base.byteLength) });
  const mutation = fc.oneof(
    fc.record({ kind: fc.constant('flip' as const), at, bit: fc.integer({ min: 0, max: 7 }) }),
    fc.record({ kind: fc.constant('set' as const), at, bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
    fc.record({ kind: fc.constant('insert' as const), at, bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }) }),
    fc.record({ kind: fc.constant('delete' as const), at, length: fc.integer({ min: 1, max: 16 }) }),
    fc.record({ kind: fc.constant('truncate' as const), at }),
  );
  return fc.array(mutation, { minLength: 1, maxLength: 4 }).map((mutations) => {
    let bytes = Uint8Array.from(base);
    for (const m of mutations) {
      const i = Math.min(m.at, bytes.byteLength);
      switch (m.kind) {
        case 'flip':
          if (i < bytes.byteLength) bytes[i] = (bytes[i] as number) ^ (1 << m.bit);
          break;
        case 'set':
          bytes = Uint8Array.from([...bytes.subarray(0, i), ...m.bytes, ...bytes.subarray(Math.min(bytes.byteLength, i + m.bytes.byteLength))]);
          break;
        case 'insert':
          bytes = Uint8Array.from([...bytes.subarray(0, i), ...m.bytes, ...bytes.subarray(i)]);
          break;
        case 'delete':
          bytes = Uint8Array.from([...bytes.subarray(0, i), ...bytes.subarray(i + m.length)]);
          break;
        case 'truncate':
          bytes = bytes.subarray(0, i);
          break;
      }
    }
    return bytes;
  });
}
