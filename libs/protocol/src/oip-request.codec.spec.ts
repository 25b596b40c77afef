import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InferenceError } from './inference.error';
import { decodeInferRequest, decodeInferRequestObject, type InferRequest } from './oip-request.codec';
import type { TensorData } from './tensor';

// Pure-logic unit test of the REST/Kafka request decoder: bodies are built in memory.

const encoder = new TextEncoder();

function jsonBody(request: unknown): Uint8Array {
  return encoder.encode(JSON.stringify(request));
}

function decode(request: unknown): InferRequest {
  return decodeInferRequest(jsonBody(request));
}

/** A one-input request with JSON data. */
function single(datatype: string, shape: number[], data: unknown): unknown {
  return { inputs: [{ name: 'x', datatype, shape, data }] };
}

function onlyInput(request: InferRequest): TensorData {
  assert.equal(request.inputs.length, 1);
  const input = request.inputs[0];
  assert.ok(input !== undefined);
  return input.data;
}

function assertInvalid(fn: () => unknown, message: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof InferenceError, `expected an InferenceError, got ${String(err)}`);
    assert.equal(err.code, 'INVALID_ARGUMENT');
    assert.equal(err.httpStatus, 400);
    assert.match(err.message, message);
    return true;
  });
}

// Little-endian byte builders, independent of the host byte order.
function leBytes(size: number, count: number, write: (view: DataView, offset: number, index: number) => void): Uint8Array {
  const view = new DataView(new ArrayBuffer(size * count));
  for (let i = 0; i < count; i++) write(view, i * size, i);
  return new Uint8Array(view.buffer);
}
const f32le = (v: number[]): Uint8Array => leBytes(4, v.length, (d, o, i) => d.setFloat32(o, v[i] ?? 0, true));
const f64le = (v: number[]): Uint8Array => leBytes(8, v.length, (d, o, i) => d.setFloat64(o, v[i] ?? 0, true));
const i32le = (v: number[]): Uint8Array => leBytes(4, v.length, (d, o, i) => d.setInt32(o, v[i] ?? 0, true));
const i64le = (v: bigint[]): Uint8Array => leBytes(8, v.length, (d, o, i) => d.setBigInt64(o, v[i] ?? 0n, true));

/** BYTES elements in the binary extension: a 4-byte little-endian length before each element. */
function bytesLe(values: string[]): Uint8Array {
  const parts = values.map((s) => encoder.encode(s));
  const out = new Uint8Array(parts.reduce((n, p) => n + 4 + p.byteLength, 0));
  const view = new DataView(out.buffer);
  let offset = 0;
  for (const p of parts) {
    view.setUint32(offset, p.byteLength, true);
    out.set(p, offset + 4);
    offset += 4 + p.byteLength;
  }
  return out;
}

/**
 * A body in the binary tensor data extension: JSON header, then the raw tensor bytes. The header
 * is padded with spaces to an odd length so no tensor starts on an aligned offset, and the body
 * sits at an odd offset of a larger buffer, as a slice of a network buffer would.
 */
function binaryRequest(header: unknown, ...chunks: Uint8Array[]): { body: Uint8Array; jsonLength: number } {
  let json = JSON.stringify(header);
  while (json.length % 8 !== 3) json += ' ';
  const head = encoder.encode(json);
  const size = head.byteLength + chunks.reduce((n, c) => n + c.byteLength, 0);
  const backing = new Uint8Array(size + 2);
  backing.set(head, 1);
  let offset = 1 + head.byteLength;
  for (const c of chunks) {
    backing.set(c, offset);
    offset += c.byteLength;
  }
  return { body: backing.subarray(1, 1 + size), jsonLength: head.byteLength };
}

function binaryInput(name: string, datatype: string, shape: number[], size: number): unknown {
  return { name, datatype, shape, parameters: { binary_data_size: size } };
}

const TYPED: { datatype: string; data: unknown[]; type: new (n: number) => TensorData; expected: readonly unknown[] }[] = [
  { datatype: 'BOOL', data: [true, false, true], type: Uint8Array, expected: [1, 0, 1] },
  { datatype: 'UINT8', data: [0, 7, 255], type: Uint8Array, expected: [0, 7, 255] },
  { datatype: 'UINT16', data: [0, 300, 65535], type: Uint16Array, expected: [0, 300, 65535] },
  { datatype: 'UINT32', data: [0, 70000, 4294967295], type: Uint32Array, expected: [0, 70000, 4294967295] },
  { datatype: 'INT8', data: [-128, 0, 127], type: Int8Array, expected: [-128, 0, 127] },
  { datatype: 'INT16', data: [-32768, 0, 32767], type: Int16Array, expected: [-32768, 0, 32767] },
  { datatype: 'INT32', data: [-2147483648, 0, 2147483647], type: Int32Array, expected: [-2147483648, 0, 2147483647] },
  {
    datatype: 'INT64',
    data: [-9007199254740991, '9223372036854775807', '-9223372036854775808'],
    type: BigInt64Array,
    expected: [-9007199254740991n, 9223372036854775807n, -9223372036854775808n],
  },
  {
    datatype: 'UINT64',
    data: [0, 9007199254740991, '18446744073709551615'],
    type: BigUint64Array,
    expected: [0n, 9007199254740991n, 18446744073709551615n],
  },
  { datatype: 'FP16', data: [1, -2, 65504], type: Uint16Array, expected: [0x3c00, 0xc000, 0x7bff] },
  { datatype: 'FP32', data: [0.1, -1.5, 1e10], type: Float32Array, expected: [Math.fround(0.1), -1.5, Math.fround(1e10)] },
  { datatype: 'FP64', data: [0.1, -1.5, 1e300], type: Float64Array, expected: [0.1, -1.5, 1e300] },
];

describe('OIP request decoder: JSON tensor data', () => {
  for (const c of TYPED) {
    it(`decodes ${c.datatype} data into a ${c.type.name}`, () => {
      const data = onlyInput(decode(single(c.datatype, [3], c.data)));
      assert.equal(data.constructor, c.type);
      assert.deepEqual(Array.from(data as ArrayLike<unknown>), c.expected);
    });
  }

  it('decodes BYTES data into a plain string array', () => {
    const data = onlyInput(decode(single('BYTES', [3], ['a', '', 'héllo ✓'])));
    assert.ok(Array.isArray(data));
    assert.deepEqual(data, ['a', '', 'héllo ✓']);
  });

  it('keeps name, datatype and shape of every input, in order', () => {
    const request = decode({
      inputs: [
        { name: 'a', datatype: 'FP32', shape: [1, 2], data: [1, 2] },
        { name: 'b', datatype: 'BYTES', shape: [1], data: ['z'] },
      ],
    });
    assert.deepEqual(
      request.inputs.map((t) => [t.name, t.datatype, t.shape]),
      [
        ['a', 'FP32', [1, 2]],
        ['b', 'BYTES', [1]],
      ],
    );
  });

  const NESTED: { datatype: string; shape: number[]; flat: unknown[]; nested: unknown[] }[] = [
    { datatype: 'FP32', shape: [2, 3], flat: [1, 2, 3, 4, 5, 6], nested: [[1, 2, 3], [4, 5, 6]] },
    { datatype: 'INT32', shape: [2, 2, 2], flat: [1, 2, 3, 4, 5, 6, 7, 8], nested: [[[1, 2], [3, 4]], [[5, 6], [7, 8]]] },
    { datatype: 'INT64', shape: [2, 2], flat: [1, '2', 3, '-4'], nested: [[1, '2'], [3, '-4']] },
    { datatype: 'BOOL', shape: [3, 1], flat: [true, false, true], nested: [[true], [false], [true]] },
    { datatype: 'BYTES', shape: [1, 2], flat: ['p', 'q'], nested: [['p', 'q']] },
    { datatype: 'FP16', shape: [2, 1], flat: [0.5, -0.25], nested: [[0.5], [-0.25]] },
  ];
  for (const c of NESTED) {
    it(`decodes nested row-major ${c.datatype} data like its flat form (shape [${c.shape.join(', ')}])`, () => {
      const flat = onlyInput(decode(single(c.datatype, c.shape, c.flat)));
      const nested = onlyInput(decode(single(c.datatype, c.shape, c.nested)));
      assert.equal(nested.constructor, flat.constructor);
      assert.deepEqual(nested, flat);
    });
  }

  it('accepts a tensor with no elements', () => {
    const data = onlyInput(decode(single('FP32', [0, 4], [])));
    assert.ok(data instanceof Float32Array);
    assert.equal(data.length, 0);
  });

  it('accepts "NaN", "Infinity" and "-Infinity" strings for every float datatype', () => {
    for (const datatype of ['FP32', 'FP64']) {
      const data = onlyInput(decode(single(datatype, [3], ['NaN', 'Infinity', '-Infinity']))) as Float32Array;
      assert.ok(Number.isNaN(data[0]), datatype);
      assert.deepEqual([data[1], data[2]], [Infinity, -Infinity], datatype);
    }
    const half = onlyInput(decode(single('FP16', [3], ['NaN', 'Infinity', '-Infinity']))) as Uint16Array;
    const [nan = 0, inf, negInf] = half;
    assert.ok((nan & 0x7c00) === 0x7c00 && (nan & 0x3ff) !== 0, `FP16 NaN bits ${nan.toString(16)}`);
    assert.deepEqual([inf, negInf], [0x7c00, 0xfc00]);
  });

  it('accepts INT64 safe integers and decimal strings at both ends of the range', () => {
    const data = onlyInput(
      decode(single('INT64', [4], [9007199254740991, -9007199254740991, '9223372036854775807', '-9223372036854775808'])),
    );
    assert.deepEqual(Array.from(data as BigInt64Array), [9007199254740991n, -9007199254740991n, 2n ** 63n - 1n, -(2n ** 63n)]);
  });
});

describe('OIP request decoder: rejected tensor data', () => {
  it('rejects an element count that does not match the shape, naming the input, shape and both counts', () => {
    const request = {
      inputs: [
        { name: 'ok', datatype: 'FP32', shape: [1], data: [1] },
        { name: 'bad', datatype: 'FP32', shape: [2, 3], data: [1, 2, 3, 4, 5] },
      ],
    };
    assertInvalid(() => decode(request), /^inputs\[1\]: shape \[2, 3\] needs 6 elements, but data holds 5$/);
  });

  it('rejects too many elements as well as too few', () => {
    assertInvalid(() => decode(single('INT32', [2], [1, 2, 3])), /^inputs\[0\]: shape \[2\] needs 2 elements, but data holds 3$/);
  });

  const WRONG_TYPE: { datatype: string; data: unknown[]; message: RegExp }[] = [
    { datatype: 'FP32', data: [1, 'x'], message: /^inputs\[0\]\.data\[1\]: expected a number .* for FP32, got string "x"$/ },
    { datatype: 'FP64', data: [null, 1], message: /^inputs\[0\]\.data\[0\]: expected a number .* for FP64, got null$/ },
    { datatype: 'FP16', data: [1, true], message: /^inputs\[0\]\.data\[1\]: expected a number .* for FP16, got boolean true$/ },
    { datatype: 'INT32', data: [1, 2.5], message: /^inputs\[0\]\.data\[1\]: expected an integer in \[-2147483648, 2147483647\] for INT32, got number 2.5$/ },
    { datatype: 'INT16', data: ['3', 1], message: /^inputs\[0\]\.data\[0\]: expected an integer .* for INT16, got string "3"$/ },
    { datatype: 'UINT8', data: [1, {}], message: /^inputs\[0\]\.data\[1\]: expected an integer .* for UINT8, got an object$/ },
    { datatype: 'BOOL', data: [true, 1], message: /^inputs\[0\]\.data\[1\]: expected true or false for BOOL, got number 1$/ },
    { datatype: 'BOOL', data: ['true', false], message: /^inputs\[0\]\.data\[0\]: expected true or false for BOOL, got string "true"$/ },
    { datatype: 'BYTES', data: ['a', 1], message: /^inputs\[0\]\.data\[1\]: expected a string for BYTES, got number 1$/ },
    { datatype: 'FP32', data: [1, [2]], message: /^inputs\[0\]\.data\[1\]: expected a number .* for FP32, got an array$/ },
  ];
  for (const c of WRONG_TYPE) {
    it(`rejects ${c.datatype} data ${JSON.stringify(c.data)}, naming the element and the datatype`, () => {
      assertInvalid(() => decode(single(c.datatype, [2], c.data)), c.message);
    });
  }

  it('names the flat row-major index of a bad element in nested data', () => {
    assertInvalid(() => decode(single('FP32', [2, 2], [[1, 2], [3, 'x']])), /^inputs\[0\]\.data\[3\]: /);
  });

  it('rejects nested data that does not follow the shape, even when the element count matches', () => {
    assertInvalid(() => decode(single('FP32', [2, 2], [[1, 2, 3], [4]])), /^inputs\[0\]\.data\[0\]: nested data must follow shape \[2, 2\]; expected 2 entries at depth 1, got 3/);
    assertInvalid(() => decode(single('FP32', [2, 2], [[1, 2], 3, 4])), /^inputs\[0\]\.data: nested data must follow shape \[2, 2\]; expected 2 entries at depth 0, got 3/);
    assertInvalid(() => decode(single('FP32', [2, 2], [[1, 2], [3, [4]]])), /^inputs\[0\]\.data\[1\]: nested data is deeper than shape \[2, 2\]/);
    assertInvalid(() => decode(single('FP32', [1, 2, 2], [[1, 2], [3, 4]])), /expected 1 entries at depth 0, got 2/);
  });

  it('rejects JSON integers beyond 2^53 for INT64, which may already have lost precision', () => {
    assertInvalid(() => decode(single('INT64', [1], [9007199254740992])), /^inputs\[0\]\.data\[0\]: expected an exact integer \(JSON numbers beyond 2\^53 lose precision: send such values as decimal strings or binary tensor data\) for INT64/);
  });

  it('rejects data that is not an array', () => {
    assertInvalid(() => decode(single('FP32', [1], 1)), /^inputs\[0\]\.data: expected an array of tensor elements, got number 1$/);
    assertInvalid(() => decode(single('FP32', [1], { a: 1 })), /^inputs\[0\]\.data: expected an array of tensor elements, got an object$/);
  });

  it('rejects an input with neither data nor binary_data_size', () => {
    assertInvalid(() => decode({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1] }] }), /^inputs\[0\]\.data: required/);
  });

  const RANGE: [datatype: string, ok: number[], bad: number, range: string][] = [
    ['UINT8', [0, 255], 256, '[0, 255]'],
    ['UINT8', [0, 255], -1, '[0, 255]'],
    ['INT8', [-128, 127], -129, '[-128, 127]'],
    ['INT8', [-128, 127], 128, '[-128, 127]'],
    ['UINT16', [0, 65535], 65536, '[0, 65535]'],
    ['INT16', [-32768, 32767], -32769, '[-32768, 32767]'],
    ['UINT32', [0, 4294967295], 4294967296, '[0, 4294967295]'],
    ['INT32', [-2147483648, 2147483647], 2147483648, '[-2147483648, 2147483647]'],
  ];
  for (const [datatype, ok, bad, range] of RANGE) {
    it(`accepts ${datatype} ${ok.join(' and ')} but rejects ${bad}`, () => {
      assert.deepEqual(Array.from(onlyInput(decode(single(datatype, [2], ok))) as ArrayLike<number>), ok);
      const message = new RegExp(`^inputs\\[0\\]\\.data\\[1\\]: expected an integer in ${range.replace(/[[\]]/g, '\\$&')} for ${datatype}, got number ${bad}$`);
      assertInvalid(() => decode(single(datatype, [2], [ok[0], bad])), message);
    });
  }

  const BIG_BAD: [datatype: string, value: unknown][] = [
    ['INT64', 1.5],
    ['INT64', '9223372036854775808'],
    ['INT64', '-9223372036854775809'],
    ['INT64', '1.5'],
    ['INT64', '1e3'],
    ['INT64', '0x10'],
    ['INT64', ''],
    ['INT64', true],
    ['UINT64', -1],
    ['UINT64', '-1'],
    ['UINT64', '18446744073709551616'],
  ];
  for (const [datatype, value] of BIG_BAD) {
    it(`rejects ${datatype} element ${JSON.stringify(value)}`, () => {
      assertInvalid(() => decode(single(datatype, [2], [0, value])), new RegExp(`^inputs\\[0\\]\\.data\\[1\\]: expected an integer in .* for ${datatype}, got `));
    });
  }

  for (const value of ['nan', 'inf', '+Infinity', '1.5', '', 'constructor', 'toString', '__proto__']) {
    it(`rejects the float string ${JSON.stringify(value)}`, () => {
      for (const datatype of ['FP16', 'FP32', 'FP64']) {
        assertInvalid(() => decode(single(datatype, [1], [value])), new RegExp(`^inputs\\[0\\]\\.data\\[0\\]: expected a number .* for ${datatype}, got string`));
      }
    });
  }
});

describe('OIP request decoder: request envelope', () => {
  it('rejects duplicate input names, pointing at the second', () => {
    const request = {
      inputs: [
        { name: 'x', datatype: 'FP32', shape: [1], data: [1] },
        { name: 'y', datatype: 'FP32', shape: [1], data: [1] },
        { name: 'x', datatype: 'INT32', shape: [1], data: [1] },
      ],
    };
    assertInvalid(() => decode(request), /^inputs\[2\]\.name: duplicate input tensor "x"$/);
  });

  const ENVELOPE: { name: string; body: unknown; message: RegExp }[] = [
    { name: 'an unknown top-level field', body: { ...(single('FP32', [1], [1]) as object), foo: 1 }, message: /^invalid inference request: foo: unknown field$/ },
    {
      name: 'an unknown input field',
      body: { inputs: [{ name: 'x', datatype: 'FP32', shape: [1], data: [1], dtype: 'FP32' }] },
      message: /^invalid inference request: inputs\[0\]\.dtype: unknown field$/,
    },
    { name: 'a request without inputs', body: { id: 'r' }, message: /^invalid inference request: inputs: required field is missing \(array expected\)$/ },
    { name: 'an empty inputs list', body: { inputs: [] }, message: /^invalid inference request: inputs: must hold at least one input tensor$/ },
    { name: 'an unknown datatype', body: single('FLOAT32', [1], [1]), message: /^invalid inference request: inputs\[0\]\.datatype: must be one of BOOL, UINT8, .*, BYTES$/ },
    { name: 'a negative shape dimension', body: single('FP32', [1, -1], [1]), message: /^invalid inference request: inputs\[0\]\.shape\[1\]: dimensions must be >= 0$/ },
    // A present value of the wrong type must not be reported as a missing field.
    { name: 'a fractional shape dimension', body: single('FP32', [1.5], [1]), message: /^invalid inference request: inputs\[0\]\.shape\[0\]: Invalid input: expected int, received number$/ },
    { name: 'a shape that is not an array', body: single('FP32', 3 as unknown as number[], [1]), message: /^invalid inference request: inputs\[0\]\.shape: Invalid input: expected array, received number$/ },
    { name: 'a missing shape', body: { inputs: [{ name: 'x', datatype: 'FP32', data: [1] }] }, message: /^invalid inference request: inputs\[0\]\.shape: required field is missing \(array expected\)$/ },
    { name: 'an empty input name', body: { inputs: [{ name: '', datatype: 'FP32', shape: [1], data: [1] }] }, message: /inputs\[0\]\.name: must be a non-empty string/ },
    { name: 'a non-string id', body: { ...(single('FP32', [1], [1]) as object), id: 7 }, message: /^invalid inference request: id: Invalid input: expected string, received number$/ },
    { name: 'inputs that are not an array', body: { inputs: {} }, message: /^invalid inference request: inputs: Invalid input: expected array, received object$/ },
    {
      name: 'every envelope problem at once',
      body: { inputs: [{ name: 'x', datatype: 'FP33', shape: [-1], data: [1] }], foo: 1 },
      message: /^invalid inference request: inputs\[0\]\.shape\[0\]: dimensions must be >= 0; inputs\[0\]\.datatype: must be one of .*; foo: unknown field$/,
    },
  ];
  for (const c of ENVELOPE) {
    it(`rejects ${c.name}`, () => {
      assertInvalid(() => decode(c.body), c.message);
    });
  }

  it('rejects malformed JSON as a 400 INVALID_ARGUMENT error', () => {
    for (const text of ['{"inputs": [', '', 'inputs', '{"inputs": []}}']) {
      assertInvalid(() => decodeInferRequest(encoder.encode(text)), /^malformed JSON/);
    }
  });

  for (const [name, body] of [
    ['a JSON array', '[{"name": "x"}]'],
    ['a JSON string', '"inputs"'],
    ['JSON null', 'null'],
    ['a JSON number', '42'],
  ] as const) {
    it(`rejects a body that is ${name}`, () => {
      assertInvalid(() => decodeInferRequest(encoder.encode(body)), /^request body must be a JSON object with an "inputs" array$/);
    });
  }

  it('decodes a body that is a slice of a larger buffer', () => {
    const text = encoder.encode(`garbage${JSON.stringify(single('INT32', [2], [5, 6]))}garbage`);
    const body = text.subarray(7, text.byteLength - 7);
    assert.deepEqual(onlyInput(decodeInferRequest(body)), new Int32Array([5, 6]));
  });

  it('validates an already parsed object the same way (Kafka record values)', () => {
    const request = decodeInferRequestObject({ id: 'k1', inputs: [{ name: 'x', datatype: 'UINT8', shape: [2], data: [1, 2] }] });
    assert.equal(request.id, 'k1');
    assert.deepEqual(onlyInput(request), new Uint8Array([1, 2]));
    assertInvalid(() => decodeInferRequestObject([]), /^request body must be a JSON object/);
    assertInvalid(() => decodeInferRequestObject(single('UINT8', [1], [256])), /^inputs\[0\]\.data\[0\]: /);
  });
});

describe('OIP request decoder: binary tensor data extension', () => {
  it('decodes an FP32 input from little-endian bytes after the JSON header', () => {
    const values = [1.5, -2, 0.25, 1e10, -0, 3.4e38];
    const { body, jsonLength } = binaryRequest({ inputs: [binaryInput('x', 'FP32', [2, 3], 24)] }, f32le(values));
    const request = decodeInferRequest(body, jsonLength);
    const input = request.inputs[0];
    assert.ok(input !== undefined);
    assert.deepEqual([input.name, input.datatype, input.shape], ['x', 'FP32', [2, 3]]);
    assert.ok(input.data instanceof Float32Array);
    assert.deepEqual(input.data, new Float32Array(values));
  });

  it('decodes an INT64 input across its whole range', () => {
    const values = [-(2n ** 63n), 2n ** 63n - 1n, 42n, -1n];
    const { body, jsonLength } = binaryRequest({ inputs: [binaryInput('ids', 'INT64', [4], 32)] }, i64le(values));
    const data = onlyInput(decodeInferRequest(body, jsonLength));
    assert.ok(data instanceof BigInt64Array);
    assert.deepEqual(Array.from(data), values);
  });

  it('decodes a BOOL input as one byte per element', () => {
    const { body, jsonLength } = binaryRequest({ inputs: [binaryInput('mask', 'BOOL', [4], 4)] }, new Uint8Array([1, 0, 0, 1]));
    const data = onlyInput(decodeInferRequest(body, jsonLength));
    assert.ok(data instanceof Uint8Array);
    assert.deepEqual(Array.from(data), [1, 0, 0, 1]);
  });

  it('normalises any non-zero BOOL byte to true (1)', () => {
    const { body, jsonLength } = binaryRequest({ inputs: [binaryInput('mask', 'BOOL', [3], 3)] }, new Uint8Array([2, 0, 255]));
    assert.deepEqual(Array.from(onlyInput(decodeInferRequest(body, jsonLength)) as Uint8Array), [1, 0, 1]);
  });

  it('decodes a BYTES input from 4-byte little-endian length-prefixed elements', () => {
    const values = ['ab', '', 'héllo ✓', 'x'.repeat(300)];
    const bytes = bytesLe(values);
    const { body, jsonLength } = binaryRequest({ inputs: [binaryInput('text', 'BYTES', [2, 2], bytes.byteLength)] }, bytes);
    assert.deepEqual(onlyInput(decodeInferRequest(body, jsonLength)), values);
  });

  it('decodes a mix of JSON and binary inputs, taking binary chunks in input order', () => {
    const text = bytesLe(['q']);
    const header = {
      inputs: [
        { name: 'a', datatype: 'FP32', shape: [2], data: [1, 2] },
        binaryInput('b', 'INT32', [3], 12),
        { name: 'c', datatype: 'BYTES', shape: [1], data: ['json'] },
        binaryInput('d', 'BYTES', [1], text.byteLength),
        binaryInput('e', 'FP64', [2], 16),
      ],
    };
    const { body, jsonLength } = binaryRequest(header, i32le([-7, 0, 7]), text, f64le([0.1, -1e300]));
    const request = decodeInferRequest(body, jsonLength);
    assert.deepEqual(
      request.inputs.map((t) => [t.name, t.data]),
      [
        ['a', new Float32Array([1, 2])],
        ['b', new Int32Array([-7, 0, 7])],
        ['c', ['json']],
        ['d', ['q']],
        ['e', new Float64Array([0.1, -1e300])],
      ],
    );
  });

  it('accepts a JSON-only body with jsonLength equal to the body size', () => {
    const body = jsonBody(single('INT8', [1], [-3]));
    assert.deepEqual(onlyInput(decodeInferRequest(body, body.byteLength)), new Int8Array([-3]));
  });

  it('does not alias the request body: later writes to it leave the tensor unchanged', () => {
    const { body, jsonLength } = binaryRequest({ inputs: [binaryInput('x', 'FP32', [1], 4)] }, f32le([2]));
    const data = onlyInput(decodeInferRequest(body, jsonLength));
    body.fill(0, jsonLength);
    assert.deepEqual(data, new Float32Array([2]));
  });

  const BINARY_ERRORS: { name: string; build: () => { body: Uint8Array; jsonLength: number }; message: RegExp }[] = [
    {
      name: 'a binary_data_size that does not match the shape',
      build: () => binaryRequest({ inputs: [binaryInput('x', 'FP32', [3], 8)] }, f32le([1, 2])),
      message: /^inputs\[0\]: binary_data_size 8 does not match shape \(3 elements x 4 bytes = 12\)$/,
    },
    {
      name: 'BYTES binary data holding a different element count than the shape',
      build: () => {
        const bytes = bytesLe(['a', 'b']);
        return binaryRequest({ inputs: [binaryInput('x', 'BYTES', [3], bytes.byteLength)] }, bytes);
      },
      message: /^inputs\[0\]: binary data holds 2 BYTES elements, shape needs 3$/,
    },
    {
      name: 'a BYTES element longer than its binary data',
      build: () => {
        const bytes = bytesLe(['abcdef']).subarray(0, 8);
        return binaryRequest({ inputs: [binaryInput('x', 'BYTES', [1], 8)] }, bytes);
      },
      message: /^inputs\[0\]: BYTES element 0 runs past the end of its binary data$/,
    },
    {
      name: 'a truncated BYTES length prefix',
      build: () => {
        const bytes = new Uint8Array([...bytesLe(['a']), 1, 0]);
        return binaryRequest({ inputs: [binaryInput('x', 'BYTES', [2], bytes.byteLength)] }, bytes);
      },
      message: /^inputs\[0\]: truncated BYTES element length at byte 5$/,
    },
    {
      name: 'leftover binary bytes that no input claims',
      build: () => binaryRequest({ inputs: [binaryInput('x', 'FP32', [2], 8)] }, f32le([1, 2, 3])),
      message: /^request carries 4 binary bytes that no input claims$/,
    },
    {
      name: 'binary bytes after a JSON-only header',
      build: () => binaryRequest(single('FP32', [1], [1]), new Uint8Array([1])),
      message: /^request carries 1 binary bytes that no input claims$/,
    },
    {
      name: 'a binary_data_size past the end of the body',
      build: () => binaryRequest({ inputs: [binaryInput('a', 'FP32', [2], 8), binaryInput('b', 'FP32', [4], 16)] }, f32le([1, 2, 3])),
      message: /^inputs\[1\]\.parameters\.binary_data_size: 16 bytes requested at offset 8, but only 4 binary bytes remain$/,
    },
    {
      name: 'both data and binary_data_size on one input',
      build: () => binaryRequest({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1], data: [1], parameters: { binary_data_size: 4 } }] }, f32le([1])),
      message: /^inputs\[0\]: give either data or parameters\.binary_data_size, not both$/,
    },
    {
      name: 'a negative binary_data_size',
      build: () => binaryRequest({ inputs: [binaryInput('x', 'FP32', [1], -4)] }, f32le([1])),
      message: /^inputs\[0\]\.parameters\.binary_data_size: expected a non-negative integer$/,
    },
    {
      name: 'a binary_data_size given as a string',
      build: () => binaryRequest({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1], parameters: { binary_data_size: '4' } }] }, f32le([1])),
      message: /^inputs\[0\]\.parameters\.binary_data_size: expected a non-negative integer$/,
    },
  ];
  for (const c of BINARY_ERRORS) {
    it(`rejects ${c.name}`, () => {
      const { body, jsonLength } = c.build();
      assertInvalid(() => decodeInferRequest(body, jsonLength), c.message);
    });
  }

  it('rejects binary_data_size when the body has no binary part', () => {
    assertInvalid(
      () => decode({ inputs: [binaryInput('x', 'FP32', [1], 4)] }),
      /^inputs\[0\]\.parameters\.binary_data_size: 4 bytes requested at offset 0, but only 0 binary bytes remain$/,
    );
  });

  it('rejects a jsonLength larger than the body, or not a non-negative integer', () => {
    const { body } = binaryRequest({ inputs: [binaryInput('x', 'FP32', [1], 4)] }, f32le([1]));
    const size = body.byteLength;
    for (const jsonLength of [size + 1, -1, 2.5, NaN]) {
      assertInvalid(
        () => decodeInferRequest(body, jsonLength),
        new RegExp(`^Inference-Header-Content-Length must be an integer between 0 and the body size ${size}, got ${jsonLength}$`),
      );
    }
  });

  it('reports a jsonLength that cuts the JSON header short as malformed JSON', () => {
    const { body, jsonLength } = binaryRequest({ inputs: [binaryInput('x', 'FP32', [1], 4)] }, f32le([1]));
    assertInvalid(() => decodeInferRequest(body, jsonLength - 10), /^malformed JSON/);
  });
});

describe('OIP request decoder: id, parameters and requested outputs', () => {
  const input = { name: 'x', datatype: 'FP32', shape: [1], data: [1] };

  it('passes id and parameters through unchanged', () => {
    const parameters = { priority: 3, tag: 'blue', flag: false, nested: { a: [1, 2] }, nothing: null };
    const request = decode({ id: 'req-7', parameters, inputs: [input] });
    assert.equal(request.id, 'req-7');
    assert.deepEqual(request.parameters, parameters);
  });

  it('defaults to no id, empty parameters, all outputs and JSON output', () => {
    const request = decode({ inputs: [input] });
    assert.equal(request.id, undefined);
    assert.deepEqual(request.parameters, {});
    assert.equal(request.outputs, undefined);
    assert.equal(request.binaryOutput, false);
  });

  const OUTPUTS: { name: string; parameters?: Record<string, unknown>; outputs: unknown[]; binaryOutput: boolean; expected: [string, boolean][] }[] = [
    {
      name: 'binary_data on one output makes only that output binary',
      outputs: [{ name: 'a' }, { name: 'b', parameters: { binary_data: true } }, { name: 'c', parameters: { binary_data: false } }],
      binaryOutput: false,
      expected: [
        ['a', false],
        ['b', true],
        ['c', false],
      ],
    },
    {
      name: 'request-level binary_data_output makes every output binary unless it says binary_data false',
      parameters: { binary_data_output: true },
      outputs: [{ name: 'a' }, { name: 'b', parameters: { binary_data: false } }, { name: 'c', parameters: { binary_data: true } }],
      binaryOutput: true,
      expected: [
        ['a', true],
        ['b', false],
        ['c', true],
      ],
    },
    {
      name: 'binary_data_output false leaves outputs in JSON',
      parameters: { binary_data_output: false },
      outputs: [{ name: 'a' }],
      binaryOutput: false,
      expected: [['a', false]],
    },
  ];
  for (const c of OUTPUTS) {
    it(c.name, () => {
      const request = decode({ inputs: [input], outputs: c.outputs, ...(c.parameters ? { parameters: c.parameters } : {}) });
      assert.equal(request.binaryOutput, c.binaryOutput);
      assert.deepEqual(
        request.outputs?.map((o) => [o.name, o.binary]),
        c.expected,
      );
    });
  }

  it('reports binary_data_output without requested outputs', () => {
    const request = decode({ parameters: { binary_data_output: true }, inputs: [input] });
    assert.equal(request.outputs, undefined);
    assert.equal(request.binaryOutput, true);
  });

  it('rejects a requested output without a name or with an unknown field', () => {
    assertInvalid(() => decode({ inputs: [input], outputs: [{}] }), /outputs\[0\]\.name: required field is missing/);
    assertInvalid(() => decode({ inputs: [input], outputs: [{ name: 'a', binary: true }] }), /outputs\[0\]\.binary: unknown field/);
  });
});

describe('OIP request decoder: limits on what a request may send', () => {
  const ones = (n: number): number[] => new Array<number>(n).fill(1);

  it('refuses a 50,000-rank shape with matching nested data with a 400 naming the shape, before reading the data', () => {
    const rank = 50_000;
    const text = `{"inputs":[{"name":"x","datatype":"FP32","shape":[${ones(rank).join(',')}],"data":${'['.repeat(rank)}1${']'.repeat(rank)}}]}`;
    assertInvalid(() => decodeInferRequest(encoder.encode(text)), /^inputs\[0\]\.shape: rank 50000 exceeds the maximum of 64$/);
  });

  it('accepts rank 64 and refuses rank 65 in JSON, binary and Kafka record inputs alike', () => {
    assert.deepEqual(onlyInput(decode(single('FP32', ones(64), [2]))), new Float32Array([2]));
    const rank65 = /^inputs\[1\]\.shape: rank 65 exceeds the maximum of 64$/;
    const json = { inputs: [{ name: 'a', datatype: 'FP32', shape: [1], data: [1] }, { name: 'x', datatype: 'FP32', shape: ones(65), data: [1] }] };
    assertInvalid(() => decode(json), rank65);
    assertInvalid(() => decodeInferRequestObject(json), rank65);
    const header = encoder.encode(JSON.stringify({ inputs: [{ name: 'a', datatype: 'FP32', shape: [1], data: [1] }, { name: 'x', datatype: 'FP32', shape: ones(65), parameters: { binary_data_size: 4 } }] }));
    const body = new Uint8Array(header.byteLength + 4);
    body.set(header);
    assertInvalid(() => decodeInferRequest(body, header.byteLength), rank65);
  });

  it('refuses a request id that cannot go into an HTTP header with a 400 naming the id field, and accepts Latin-1', () => {
    const input = { name: 'x', datatype: 'FP32', shape: [1], data: [1] };
    assertInvalid(() => decode({ id: 'a\r\nb', inputs: [input] }), /^id: U\+000D at index 1 cannot go into an HTTP header; a request id must be printable Latin-1 text/);
    assertInvalid(() => decode({ id: 'é€', inputs: [input] }), /^id: U\+20AC at index 1 cannot go into an HTTP header/);
    assertInvalid(() => decodeInferRequestObject({ id: 'tab\there', inputs: [input] }), /^id: U\+0009 at index 3 /);
    assert.equal(decode({ id: 'é', inputs: [input] }).id, 'é');
  });

  it('refuses a parameter nested more than 32 levels deep with a 400 naming it, and accepts 32 levels', () => {
    const input = { name: 'x', datatype: 'FP32', shape: [1], data: [1] };
    const nested = (depth: number, leaf: unknown): unknown => {
      let value: unknown = leaf;
      for (let i = 0; i < depth; i++) value = i % 2 === 0 ? [value] : { k: value };
      return value;
    };
    assert.deepEqual(decode({ parameters: { user: nested(32, 1) }, inputs: [input] }).parameters['user'], nested(32, 1));
    assertInvalid(() => decode({ parameters: { tag: 'a', user: nested(33, 1) }, inputs: [input] }), /^parameters\.user: nests arrays and objects more than 32 levels deep$/);
    const deep = `{"parameters":{"user":${'['.repeat(100_000)}${']'.repeat(100_000)}},"inputs":[${JSON.stringify(input)}]}`;
    assertInvalid(() => decodeInferRequest(encoder.encode(deep)), /^parameters\.user: nests arrays and objects more than 32 levels deep$/);
  });

  it('lists at most 16 envelope problems, then the total count', () => {
    const message = (() => {
      try {
        decode(single('FP32', new Array<number>(50_000).fill(-1), [1]));
      } catch (err) {
        return err instanceof InferenceError ? err.message : '';
      }
      return '';
    })();
    assert.match(message, /^invalid inference request: inputs\[0\]\.shape\[0\]: dimensions must be >= 0; .*inputs\[0\]\.shape\[15\]: dimensions must be >= 0; … \(50000 in all\)$/);
    assert.ok(message.length < 1000, `${message.length} characters`);
  });

  it('echoes at most 16 dimensions of a shape whose element count does not match', () => {
    assertInvalid(() => decode(single('FP32', ones(40), [1, 2])), /^inputs\[0\]: shape \[(1, ){16}… \(40 in all\)\] needs 1 elements, but data holds 2$/);
  });

  it('cuts long names and unknown keys it echoes after 64 characters', () => {
    const name = 'n'.repeat(100_000);
    const input = { name, datatype: 'FP32', shape: [1], data: [1] };
    assertInvalid(() => decode({ inputs: [input, input] }), new RegExp(`^inputs\\[1\\]\\.name: duplicate input tensor "${'n'.repeat(64)}…"$`));
    assertInvalid(() => decode({ [name]: 1, inputs: [input] }), new RegExp(`^invalid inference request: ${'n'.repeat(64)}…: unknown field$`));
  });

  it('refuses a shape whose dimensions multiply past 2^53 - 1 in any order, even with a dimension of 0', () => {
    const big = 2 ** 53 - 1;
    for (const shape of [[big, big, 0], [0, big, big], [2 ** 40, 2 ** 40]]) {
      assertInvalid(() => decode(single('FP32', shape, [])), /^inputs\[0\]\.shape: shape \[.*\] declares more than 9007199254740991 \(2\^53 - 1\) elements$/);
    }
    assert.equal(onlyInput(decode(single('FP32', [0, big], []))).length, 0);
  });
});
