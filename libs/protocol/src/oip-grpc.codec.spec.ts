import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InferenceError } from './inference.error';
import { decodeModelInferRequest, decodeNodeOutputs, encodeModelInferResponse, grpcStatusOf, parametersOf } from './oip-grpc.codec';

// Pure-logic unit test of the V2 gRPC message codec on plain objects (as @grpc/proto-loader gives them).

describe('V2 gRPC codec', () => {
  it('decodes typed contents for each datatype family', () => {
    const request = decodeModelInferRequest({
      model_name: 'g',
      id: 'r1',
      inputs: [
        { name: 'f', datatype: 'FP32', shape: ['2'], contents: { fp32_contents: [1.5, -2] } },
        { name: 'i', datatype: 'INT64', shape: ['2'], contents: { int64_contents: ['-9223372036854775808', '7'] } },
        { name: 'u', datatype: 'UINT8', shape: ['1'], contents: { uint_contents: [255] } },
        { name: 'b', datatype: 'BOOL', shape: ['1'], contents: { bool_contents: [true] } },
        { name: 's', datatype: 'BYTES', shape: ['1'], contents: { bytes_contents: [Buffer.from('héllo')] } },
      ],
    });
    assert.equal(request.id, 'r1');
    const [f, i, u, b, s] = request.inputs;
    assert.deepEqual(Array.from(f?.data as Float32Array), [1.5, -2]);
    assert.deepEqual(Array.from(i?.data as BigInt64Array), [-9223372036854775808n, 7n]);
    assert.deepEqual(Array.from(u?.data as Uint8Array), [255]);
    assert.deepEqual(Array.from(b?.data as Uint8Array), [1]);
    assert.deepEqual(s?.data, ['héllo']);
  });

  it('decodes raw_input_contents, one entry per input', () => {
    const raw = Buffer.from(new Float64Array([0.25, 4]).buffer);
    const request = decodeModelInferRequest({ model_name: 'g', inputs: [{ name: 'x', datatype: 'FP64', shape: [1, 2] }], raw_input_contents: [raw] });
    assert.deepEqual(Array.from(request.inputs[0]?.data as Float64Array), [0.25, 4]);
    assert.throws(
      () => decodeModelInferRequest({ model_name: 'g', inputs: [{ name: 'x', datatype: 'FP64', shape: [1, 2] }, { name: 'y', datatype: 'FP64', shape: [1] }], raw_input_contents: [raw] }),
      /raw_input_contents holds 1 entries for 2 inputs/,
    );
  });

  it('rejects unknown datatypes, bad shapes and FP16 without raw contents', () => {
    const bad = (input: object): (() => unknown) => () => decodeModelInferRequest({ model_name: 'g', inputs: [input as never] });
    assert.throws(bad({ name: 'x', datatype: 'FLOAT', shape: [1] }), /inputs\[0\]\.datatype: unknown datatype "FLOAT"/);
    assert.throws(bad({ name: 'x', datatype: 'FP32', shape: ['-1'] }), /inputs\[0\]\.shape\[0\]: dimensions must be >= 0/);
    assert.throws(bad({ name: 'x', datatype: 'FP16', shape: [1], contents: {} }), /FP16 tensors must be sent in raw_input_contents/);
  });

  it('refuses a shape of rank above 64 and a request id that cannot go into an HTTP header, naming the field', () => {
    const input = (rank: number): never => ({ name: 'x', datatype: 'FP32', shape: new Array<string>(rank).fill('1'), contents: { fp32_contents: [1] } }) as never;
    assert.equal(decodeModelInferRequest({ model_name: 'g', inputs: [input(64)] }).inputs[0]?.shape.length, 64);
    assert.throws(() => decodeModelInferRequest({ model_name: 'g', inputs: [input(50_000)] }), /^InferenceError: inputs\[0\]\.shape: rank 50000 exceeds the maximum of 64$/);
    assert.throws(() => decodeModelInferRequest({ model_name: 'g', id: 'a\r\nb', inputs: [input(1)] }), /^InferenceError: id: U\+000D at index 1 cannot go into an HTTP header/);
    assert.throws(() => decodeModelInferRequest({ model_name: 'g', id: 'é€', inputs: [input(1)] }), /^InferenceError: id: U\+20AC at index 1 /);
    assert.equal(decodeModelInferRequest({ model_name: 'g', id: 'é', inputs: [input(1)] }).id, 'é');
  });

  it('reads every InferParameter kind', () => {
    assert.deepEqual(
      parametersOf({
        a: { bool_param: true, parameter_choice: 'bool_param' },
        b: { int64_param: '42', parameter_choice: 'int64_param' },
        c: { string_param: 'x', parameter_choice: 'string_param' },
        d: { double_param: 0.5, parameter_choice: 'double_param' },
        e: { uint64_param: '7', parameter_choice: 'uint64_param' },
      }),
      { a: true, b: 42, c: 'x', d: 0.5, e: 7 },
    );
  });

  it('encodes outputs as raw bytes and parameters as InferParameters', () => {
    const message = encodeModelInferResponse({
      modelName: 'g',
      modelVersion: '1',
      id: 'r',
      parameters: { route: 'ab=x', trace: { nodes: [] } },
      outputs: [{ name: 'y', datatype: 'INT32', shape: [2], data: new Int32Array([1, -1]) }],
    });
    assert.deepEqual(message.outputs, [{ name: 'y', datatype: 'INT32', shape: [2] }]);
    assert.deepEqual(Array.from(new Int32Array(Uint8Array.from(message.raw_output_contents[0] as Uint8Array).buffer)), [1, -1]);
    assert.deepEqual(message.parameters, { route: { string_param: 'ab=x' }, trace: { string_param: '{"nodes":[]}' } });
  });

  it('maps error classes to gRPC status codes', () => {
    assert.deepEqual(grpcStatusOf(new InferenceError('NOT_FOUND', 'x')), { code: 5, message: 'x' });
    assert.equal(grpcStatusOf(new InferenceError('UNAVAILABLE', 'x')).code, 14);
    assert.equal(grpcStatusOf(new InferenceError('DEADLINE_EXCEEDED', 'x')).code, 4);
    assert.equal(grpcStatusOf(new Error('boom')).code, 13);
  });

  it('refuses a shape whose dimensions multiply past 2^53 - 1, naming it', () => {
    const message = { model_name: 'g', inputs: [{ name: 'x', datatype: 'FP32', shape: ['9007199254740991', '9007199254740991', '0'] }], raw_input_contents: [new Uint8Array(0)] };
    assert.throws(() => decodeModelInferRequest(message), { code: 'INVALID_ARGUMENT', message: /^inputs\[0\]\.shape: shape \[9007199254740991, 9007199254740991, 0\] declares more than/ });
  });

  it('keeps a parameter named "__proto__" as a parameter', () => {
    const out = parametersOf(JSON.parse('{"__proto__":{"string_param":"x"},"a":{"bool_param":true}}') as Record<string, { string_param: string }>);
    assert.deepEqual(Object.entries(out), [['__proto__', 'x'], ['a', true]]);
    assert.equal(Object.getPrototypeOf(out), Object.prototype);
  });

  it("refuses a worker's output with a negative or fractional dimension as INTERNAL, naming the worker and output", () => {
    for (const shape of [[-1, -1], [1.5], [2 ** 53]]) {
      assert.throws(() => decodeNodeOutputs({ outputs: [{ name: 'y', datatype: 'FP32', shape }], raw_output_contents: [new Uint8Array(4)] }, 'worker w1'), {
        code: 'INTERNAL',
        message: /^worker w1 returned output "y" with shape \[.*\]; dimensions must be integers >= 0$/,
      });
    }
    assert.throws(() => decodeNodeOutputs({ outputs: [{ name: 'y', datatype: 'FP32', shape: [2] }], raw_output_contents: [new Uint8Array(4)] }, 'worker w1'), {
      code: 'INTERNAL',
      message: /^worker w1 returned output "y": binary_data_size 4 does not match shape/,
    });
  });
});
