import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeInferRequest } from './oip-request.codec';
import { encodeInferResponse, encodeInferResponseJson, type EncodedResponse, type InferResponse } from './oip-response.codec';
import type { Tensor } from './tensor';
import { decodeBinaryElements } from './tensor-data.codec';

// Pure-logic unit test of the REST response encoder, including the binary tensor data extension.

interface WireOutput {
  name: string;
  datatype: string;
  shape: number[];
  data?: unknown[];
  parameters?: { binary_data_size?: number };
}
interface WireResponse {
  model_name: string;
  model_version?: string;
  id: string;
  parameters?: Record<string, unknown>;
  outputs: WireOutput[];
}

function response(outputs: Tensor[], extra: Partial<InferResponse> = {}): InferResponse {
  return { modelName: 'clf', modelVersion: undefined, id: 'r1', parameters: undefined, outputs, ...extra };
}

/** The JSON part of an encoded response (all of it when there is no binary data). */
function header(encoded: EncodedResponse): WireResponse {
  const end = encoded.jsonLength ?? encoded.body.byteLength;
  return JSON.parse(encoded.body.subarray(0, end).toString('utf8')) as WireResponse;
}

function jsonData(encoded: EncodedResponse, index = 0): unknown[] | undefined {
  assert.equal(encoded.contentType, 'application/json');
  assert.equal(encoded.jsonLength, undefined);
  return header(encoded).outputs[index]?.data;
}

describe('OIP response encoder: JSON', () => {
  it('writes model name, version, id, parameters and outputs with flattened data', () => {
    const encoded = encodeInferResponse(
      response(
        [
          { name: 'probs', datatype: 'FP32', shape: [2, 2], data: new Float32Array([0.5, 0.25, 0.125, 1]) },
          { name: 'label', datatype: 'BYTES', shape: [2], data: ['cat', 'dög'] },
        ],
        { modelName: 'iris', modelVersion: '3', id: 'req-9', parameters: { sequence_end: true, n: 2 } },
      ),
      undefined,
      false,
    );
    assert.equal(encoded.contentType, 'application/json');
    assert.equal(encoded.jsonLength, undefined);
    assert.deepEqual(JSON.parse(encoded.body.toString('utf8')), {
      model_name: 'iris',
      model_version: '3',
      id: 'req-9',
      parameters: { sequence_end: true, n: 2 },
      outputs: [
        { name: 'probs', datatype: 'FP32', shape: [2, 2], data: [0.5, 0.25, 0.125, 1] },
        { name: 'label', datatype: 'BYTES', shape: [2], data: ['cat', 'dög'] },
      ],
    });
  });

  it('leaves out model_version and parameters when there are none', () => {
    const encoded = encodeInferResponse(response([{ name: 'y', datatype: 'INT32', shape: [1], data: new Int32Array([4]) }]), undefined, false);
    assert.deepEqual(JSON.parse(encoded.body.toString('utf8')), {
      model_name: 'clf',
      id: 'r1',
      outputs: [{ name: 'y', datatype: 'INT32', shape: [1], data: [4] }],
    });
  });

  const ELEMENTS: { name: string; tensor: Omit<Tensor, 'name' | 'shape'>; expected: unknown[] }[] = [
    {
      name: 'INT64 as numbers, and as decimal strings beyond 2^53',
      tensor: { datatype: 'INT64', data: new BigInt64Array([1n, -5n, 2n ** 53n - 1n, -(2n ** 53n) + 1n, 2n ** 53n, 2n ** 53n + 1n, -(2n ** 63n)]) },
      expected: [1, -5, 9007199254740991, -9007199254740991, '9007199254740992', '9007199254740993', '-9223372036854775808'],
    },
    {
      name: 'UINT64 as numbers, and as decimal strings beyond 2^53',
      tensor: { datatype: 'UINT64', data: new BigUint64Array([0n, 2n ** 53n - 1n, 2n ** 64n - 1n]) },
      expected: [0, 9007199254740991, '18446744073709551615'],
    },
    { name: 'BOOL as true and false', tensor: { datatype: 'BOOL', data: new Uint8Array([1, 0, 1]) }, expected: [true, false, true] },
    {
      name: 'non-finite FP32 values as "NaN", "Infinity" and "-Infinity"',
      tensor: { datatype: 'FP32', data: new Float32Array([NaN, Infinity, -Infinity, 1.5]) },
      expected: ['NaN', 'Infinity', '-Infinity', 1.5],
    },
    {
      name: 'non-finite FP64 values as "NaN", "Infinity" and "-Infinity"',
      tensor: { datatype: 'FP64', data: new Float64Array([-Infinity, 0.1, NaN, Infinity]) },
      expected: ['-Infinity', 0.1, 'NaN', 'Infinity'],
    },
    {
      name: 'FP16 bit patterns as their values, non-finite ones as strings',
      tensor: { datatype: 'FP16', data: new Uint16Array([0x3c00, 0xc000, 0x0001, 0x7e00, 0x7c00, 0xfc00]) },
      expected: [1, -2, 2 ** -24, 'NaN', 'Infinity', '-Infinity'],
    },
    { name: 'UINT8 as numbers', tensor: { datatype: 'UINT8', data: new Uint8Array([0, 255]) }, expected: [0, 255] },
    { name: 'INT8 as signed numbers', tensor: { datatype: 'INT8', data: new Int8Array([-128, 127]) }, expected: [-128, 127] },
    { name: 'UINT32 as unsigned numbers', tensor: { datatype: 'UINT32', data: new Uint32Array([4294967295]) }, expected: [4294967295] },
  ];
  for (const c of ELEMENTS) {
    it(`encodes ${c.name}`, () => {
      const tensor: Tensor = { name: 'y', shape: [c.expected.length], ...c.tensor };
      assert.deepEqual(jsonData(encodeInferResponse(response([tensor]), undefined, false)), c.expected);
    });
  }
});

describe('OIP response encoder: binary tensor data extension', () => {
  it('appends an FP32 output as little-endian bytes after a JSON header of jsonLength bytes', () => {
    const values = new Float32Array([1.5, -2, NaN, 3.25e-5]);
    const encoded = encodeInferResponse(
      // Non-ASCII names make the header's byte length differ from its character length.
      response([{ name: 'ŷ', datatype: 'FP32', shape: [2, 2], data: values }], { modelName: 'modèle-ß', id: 'réq' }),
      [{ name: 'ŷ', binary: true }],
      false,
    );
    assert.equal(encoded.contentType, 'application/octet-stream');
    const json = header(encoded);
    assert.equal(encoded.jsonLength, Buffer.byteLength(JSON.stringify(json), 'utf8'));
    assert.deepEqual(json, {
      model_name: 'modèle-ß',
      id: 'réq',
      outputs: [{ name: 'ŷ', datatype: 'FP32', shape: [2, 2], parameters: { binary_data_size: 16 } }],
    });
    const jsonLength = encoded.jsonLength ?? 0;
    assert.equal(encoded.body.byteLength, jsonLength + 16);
    const bytes = encoded.body.subarray(jsonLength);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    assert.deepEqual([view.getFloat32(0, true), view.getFloat32(4, true), view.getFloat32(12, true)], [1.5, -2, Math.fround(3.25e-5)]);
    const decoded = decodeBinaryElements(bytes, 'FP32', 4, 'ŷ');
    assert.ok(decoded instanceof Float32Array);
    assert.ok(Number.isNaN(decoded[2]));
    assert.deepEqual([decoded[0], decoded[1], decoded[3]], [values[0], values[1], values[3]]);
  });

  it('appends a BYTES output with a 4-byte little-endian length before each element', () => {
    const values = ['a', '', '日本語', 'z'.repeat(70000)];
    const encoded = encodeInferResponse(response([{ name: 'text', datatype: 'BYTES', shape: [4], data: values }]), [{ name: 'text', binary: true }], false);
    const jsonLength = encoded.jsonLength ?? 0;
    const size = 4 * 4 + 1 + 0 + 9 + 70000;
    assert.equal(header(encoded).outputs[0]?.parameters?.binary_data_size, size);
    assert.equal(encoded.body.byteLength, jsonLength + size);
    const bytes = encoded.body.subarray(jsonLength);
    assert.deepEqual([...bytes.subarray(0, 5)], [1, 0, 0, 0, 0x61]);
    assert.deepEqual([...bytes.subarray(5, 9)], [0, 0, 0, 0]);
    assert.deepEqual([...bytes.subarray(9, 13)], [9, 0, 0, 0]);
    assert.deepEqual([...bytes.subarray(22, 26)], [0x70, 0x11, 0x01, 0x00]);
    assert.deepEqual(decodeBinaryElements(bytes, 'BYTES', 4, 'text'), values);
  });

  it('sends only the bytes of a typed-array view, not its whole buffer', () => {
    const backing = new Int32Array([9, 1, 2, 3, 9]);
    const encoded = encodeInferResponse(
      response([{ name: 'y', datatype: 'INT32', shape: [3], data: backing.subarray(1, 4) }]),
      [{ name: 'y', binary: true }],
      false,
    );
    const jsonLength = encoded.jsonLength ?? 0;
    assert.equal(encoded.body.byteLength, jsonLength + 12);
    assert.deepEqual(decodeBinaryElements(encoded.body.subarray(jsonLength), 'INT32', 3, 'y'), new Int32Array([1, 2, 3]));
  });

  it('appends several binary outputs in output order and keeps the others in JSON', () => {
    const outputs: Tensor[] = [
      { name: 'a', datatype: 'FP64', shape: [2], data: new Float64Array([0.1, -0.2]) },
      { name: 'b', datatype: 'BOOL', shape: [2], data: new Uint8Array([1, 0]) },
      { name: 'c', datatype: 'INT64', shape: [1], data: new BigInt64Array([-(2n ** 63n)]) },
    ];
    const encoded = encodeInferResponse(response(outputs), [
      { name: 'a', binary: true },
      { name: 'b', binary: false },
      { name: 'c', binary: true },
    ], false);
    const json = header(encoded);
    assert.deepEqual(json.outputs, [
      { name: 'a', datatype: 'FP64', shape: [2], parameters: { binary_data_size: 16 } },
      { name: 'b', datatype: 'BOOL', shape: [2], data: [true, false] },
      { name: 'c', datatype: 'INT64', shape: [1], parameters: { binary_data_size: 8 } },
    ]);
    const bytes = encoded.body.subarray(encoded.jsonLength ?? 0);
    assert.equal(bytes.byteLength, 24);
    assert.deepEqual(decodeBinaryElements(bytes.subarray(0, 16), 'FP64', 2, 'a'), new Float64Array([0.1, -0.2]));
    assert.deepEqual(decodeBinaryElements(bytes.subarray(16), 'INT64', 1, 'c'), new BigInt64Array([-(2n ** 63n)]));
  });

  it('makes every output binary when the request sets binary_data_output and names no outputs', () => {
    const outputs: Tensor[] = [
      { name: 'a', datatype: 'UINT8', shape: [3], data: new Uint8Array([1, 2, 3]) },
      { name: 'b', datatype: 'BYTES', shape: [1], data: ['x'] },
    ];
    const encoded = encodeInferResponse(response(outputs), undefined, true);
    assert.equal(encoded.contentType, 'application/octet-stream');
    assert.deepEqual(
      header(encoded).outputs.map((o) => [o.name, o.data, o.parameters?.binary_data_size]),
      [
        ['a', undefined, 3],
        ['b', undefined, 5],
      ],
    );
    assert.deepEqual([...encoded.body.subarray(encoded.jsonLength ?? 0)], [1, 2, 3, 1, 0, 0, 0, 0x78]);
  });

  it('keeps an output in JSON when it says binary_data false under a request-level binary_data_output', () => {
    const request = decodeInferRequest(
      new TextEncoder().encode(
        JSON.stringify({
          parameters: { binary_data_output: true },
          inputs: [{ name: 'x', datatype: 'FP32', shape: [1], data: [1] }],
          outputs: [{ name: 'json', parameters: { binary_data: false } }, { name: 'bin' }],
        }),
      ),
    );
    const outputs: Tensor[] = [
      { name: 'json', datatype: 'FP32', shape: [2], data: new Float32Array([1, 2]) },
      { name: 'bin', datatype: 'FP32', shape: [1], data: new Float32Array([3]) },
    ];
    const encoded = encodeInferResponse(response(outputs), request.outputs, request.binaryOutput);
    assert.equal(encoded.contentType, 'application/octet-stream');
    assert.deepEqual(header(encoded).outputs, [
      { name: 'json', datatype: 'FP32', shape: [2], data: [1, 2] },
      { name: 'bin', datatype: 'FP32', shape: [1], parameters: { binary_data_size: 4 } },
    ]);
    assert.deepEqual(decodeBinaryElements(encoded.body.subarray(encoded.jsonLength ?? 0), 'FP32', 1, 'bin'), new Float32Array([3]));
  });

  it('answers in plain JSON when every requested output says binary_data false', () => {
    const encoded = encodeInferResponse(
      response([{ name: 'y', datatype: 'FP32', shape: [1], data: new Float32Array([7]) }]),
      [{ name: 'y', binary: false }],
      true,
    );
    assert.deepEqual(jsonData(encoded), [7]);
  });

  it('round-trips a binary response body through the request decoder', () => {
    // The response layout is the request layout: re-read it as a request to check both agree.
    const outputs: Tensor[] = [
      { name: 'f', datatype: 'FP32', shape: [2], data: new Float32Array([0.5, -8]) },
      { name: 's', datatype: 'BYTES', shape: [2], data: ['hé', ''] },
    ];
    const encoded = encodeInferResponse(response(outputs), undefined, true);
    const json = header(encoded);
    const asRequest = Buffer.from(
      JSON.stringify({ inputs: json.outputs.map((o) => ({ name: o.name, datatype: o.datatype, shape: o.shape, parameters: o.parameters })) }),
    );
    const decoded = decodeInferRequest(Buffer.concat([asRequest, encoded.body.subarray(encoded.jsonLength ?? 0)]), asRequest.byteLength);
    assert.deepEqual(
      decoded.inputs.map((t) => [t.name, t.data]),
      [
        ['f', new Float32Array([0.5, -8])],
        ['s', ['hé', '']],
      ],
    );
  });
});

describe('OIP response encoder: JSON text', () => {
  it('writes exactly what JSON.stringify writes for the same response, for every datatype and special value', () => {
    const tensors: Tensor[] = [
      { name: 'f32', datatype: 'FP32', shape: [2, 3], data: new Float32Array([0.1, -0, 1e-45, 3.4e38, -2.5, 1 / 3]) },
      { name: 'f64', datatype: 'FP64', shape: [4], data: new Float64Array([NaN, Infinity, -Infinity, 5e-324]) },
      { name: 'f16', datatype: 'FP16', shape: [3], data: new Uint16Array([0x3c00, 0x7c00, 0x7e00]) },
      { name: 'i64', datatype: 'INT64', shape: [3], data: new BigInt64Array([-(2n ** 63n), 0n, 2n ** 53n - 1n]) },
      { name: 'u64', datatype: 'UINT64', shape: [1], data: new BigUint64Array([2n ** 64n - 1n]) },
      { name: 'i8', datatype: 'INT8', shape: [2], data: new Int8Array([-128, 127]) },
      { name: 'u32', datatype: 'UINT32', shape: [1], data: new Uint32Array([4294967295]) },
      { name: 'ok', datatype: 'BOOL', shape: [2], data: new Uint8Array([1, 0]) },
      { name: 'text "quoted"\n', datatype: 'BYTES', shape: [3], data: ['dög', '"\\', '\u2028\u0000'] },
      { name: 'empty', datatype: 'FP32', shape: [0, 4], data: new Float32Array(0) },
    ];
    const encoded = encodeInferResponse(response(tensors, { modelVersion: 'v"1', id: 'r\t1', parameters: { route: 'ab=x', trace: { nodes: [] } } }), undefined, false);
    const text = encoded.body.toString('utf8');
    // Parsing and writing it again with JSON.stringify gives the same bytes: valid JSON, no extra
    // whitespace, keys in the encoder's documented order, numbers as JSON writes them.
    assert.equal(JSON.stringify(JSON.parse(text)), text);
    const out = header(encoded).outputs;
    assert.deepEqual(out[0]?.data, [0.10000000149011612, 0, 1.401298464324817e-45, 3.3999999521443642e38, -2.5, 0.3333333432674408]);
    assert.deepEqual(out[1]?.data, ['NaN', 'Infinity', '-Infinity', 5e-324]);
    assert.deepEqual(out[2]?.data, [1, 'Infinity', 'NaN']);
    assert.deepEqual(out[3]?.data, ['-9223372036854775808', 0, 9007199254740991]);
    assert.deepEqual(out[4]?.data, ['18446744073709551615']);
    assert.deepEqual(out[7]?.data, [true, false]);
    assert.deepEqual(out[8]?.name, 'text "quoted"\n');
    assert.deepEqual(out[8]?.data, ['dög', '"\\', '\u2028\u0000']);
    assert.deepEqual(out[9], { name: 'empty', datatype: 'FP32', shape: [0, 4], data: [] });
    assert.equal(header(encoded).model_version, 'v"1');
  });
});

describe('OIP response encoder: JSON text', () => {
  const tensors: Tensor[] = [
    { name: 'y', datatype: 'FP32', shape: [1, 3], data: new Float32Array([0.25, 0.5, 0.25]) },
    { name: 'label', datatype: 'INT64', shape: [1], data: new BigInt64Array([2n]) },
  ];
  it('gives the same JSON as the byte encoder when no output goes back as binary data', () => {
    const r = response(tensors, { modelVersion: '3', parameters: { route: 'ab=x' } });
    for (const [requested, binary] of [
      [undefined, false],
      [[{ name: 'label', binary: false }], false],
      [[{ name: 'label', binary: false }], true], // the request-level flag is already in each requested output
    ] as const) {
      assert.equal(encodeInferResponseJson(r, requested, binary), encodeInferResponse(r, requested, binary).body.toString('utf8'));
    }
  });

  it('declines (undefined) when any output goes back as binary tensor data', () => {
    assert.equal(encodeInferResponseJson(response(tensors), undefined, true), undefined);
    assert.equal(encodeInferResponseJson(response(tensors), [{ name: 'y', binary: true }], false), undefined);
  });
});
