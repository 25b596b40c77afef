import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Root, type Type } from 'protobufjs';
import { V2_PROTO_PATH } from './grpc-proto.path';
import { decodeNodeOutputs, encodeModelInferResponse, encodeNodeCall } from './oip-grpc.codec';
import {
  decodeInferRequestMessage,
  decodeInferRequestProto,
  decodeInferResponseProto,
  decodeStreamInferResponseProto,
  encodeInferRequestProto,
  encodeInferResponseProto,
  encodeStreamInferResponseProto,
} from './oip-proto.codec';
import type { Tensor } from './tensor';

// The field-by-field protobuf codec against protobufjs's reflection (the .proto every V2 client compiles):
// same bytes meaning both ways, every datatype, raw contents as views where the layout allows.

const TENSORS: readonly Tensor[] = [
  { name: 'bool', datatype: 'BOOL', shape: [3], data: new Uint8Array([1, 0, 1]) },
  { name: 'int8', datatype: 'INT8', shape: [2], data: new Int8Array([-128, 127]) },
  { name: 'int16', datatype: 'INT16', shape: [2], data: new Int16Array([-32768, 32767]) },
  { name: 'int32', datatype: 'INT32', shape: [2], data: new Int32Array([-(2 ** 31), 2 ** 31 - 1]) },
  { name: 'int64', datatype: 'INT64', shape: [2], data: new BigInt64Array([-(2n ** 63n), 2n ** 63n - 1n]) },
  { name: 'uint8', datatype: 'UINT8', shape: [2], data: new Uint8Array([0, 255]) },
  { name: 'uint16', datatype: 'UINT16', shape: [2], data: new Uint16Array([0, 65535]) },
  { name: 'uint32', datatype: 'UINT32', shape: [2], data: new Uint32Array([0, 2 ** 32 - 1]) },
  { name: 'uint64', datatype: 'UINT64', shape: [2], data: new BigUint64Array([0n, 2n ** 64n - 1n]) },
  { name: 'fp16', datatype: 'FP16', shape: [2], data: new Uint16Array([0x3c00, 0xc000]) },
  { name: 'fp32', datatype: 'FP32', shape: [2, 2], data: new Float32Array([1.5, -2, 0, 3.25]) },
  { name: 'fp64', datatype: 'FP64', shape: [2], data: new Float64Array([Math.PI, -1e300]) },
  { name: 'bytes', datatype: 'BYTES', shape: [3], data: ['', 'héllo', 'a\u0000b'] },
  { name: 'empty', datatype: 'FP32', shape: [0, 4], data: new Float32Array(0) },
];

let reflected: { request: Type; response: Type; stream: Type } | undefined;
function types(): { request: Type; response: Type; stream: Type } {
  if (reflected === undefined) {
    const root = new Root().loadSync(V2_PROTO_PATH, { keepCase: true });
    reflected = { request: root.lookupType('inference.ModelInferRequest'), response: root.lookupType('inference.ModelInferResponse'), stream: root.lookupType('inference.ModelStreamInferResponse') };
  }
  return reflected;
}
const TO_OBJECT = { longs: String, defaults: false, bytes: Buffer } as const;

const plain = (t: Tensor): unknown[] => Array.from(t.data as ArrayLike<unknown>);

/** `bytes` copied to an offset in a larger buffer where the first raw tensor's bytes start 8-aligned (or not). */
function placed(bytes: Uint8Array, rawStart: number, aligned: boolean): Uint8Array {
  const buffer = new ArrayBuffer(bytes.length + 16);
  let at = (8 - (rawStart % 8)) % 8;
  if (!aligned) at += 1;
  const out = new Uint8Array(buffer, at, bytes.length);
  out.set(bytes);
  return out;
}

describe('oip-proto codec', () => {
  it('round-trips a node call with tensors of every datatype, parameters and id', () => {
    const bytes = encodeInferRequestProto(encodeNodeCall('g.n', 'req-7', { route: 'a', trace: true, k: 3, w: 0.5 }, TENSORS));
    const request = decodeInferRequestProto(bytes);
    assert.equal(request.id, 'req-7');
    assert.deepEqual(request.parameters, { route: 'a', trace: true, k: 3, w: 0.5 });
    assert.deepEqual(
      request.inputs.map((t) => [t.name, t.datatype, t.shape]),
      TENSORS.map((t) => [t.name, t.datatype, t.shape]),
    );
    request.inputs.forEach((t, i) => assert.deepEqual(plain(t), plain(TENSORS[i] as Tensor), t.name));
  });

  it('round-trips a node response with every datatype through a ModelStreamInferResponse', () => {
    const infer = encodeModelInferResponse({ modelName: 'g.n', modelVersion: '1', id: 'req-7', parameters: { infergraph_call_id: 12 }, outputs: [...TENSORS] });
    const answer = decodeStreamInferResponseProto(encodeStreamInferResponseProto({ error_message: '', infer_response: infer }));
    assert.equal(answer.error_message, '');
    assert.equal(answer.infer_response?.id, 'req-7');
    assert.deepEqual(answer.infer_response?.parameters, { infergraph_call_id: { int64_param: '12', parameter_choice: 'int64_param' } });
    const outputs = decodeNodeOutputs(answer.infer_response ?? { outputs: [], raw_output_contents: [] }, 'test', true);
    for (const t of TENSORS) assert.deepEqual(plain(outputs.get(t.name) as Tensor), plain(t), t.name);
  });

  it('writes what protobufjs reflection reads, and reads what it writes', () => {
    const { request, response, stream } = types();
    const message = encodeNodeCall('g.n', 'req-1', { route: 'b', n: -4 }, TENSORS);
    const viaReflection = request.toObject(request.decode(encodeInferRequestProto(message)), TO_OBJECT) as Record<string, unknown>;
    assert.equal(viaReflection['model_name'], 'g.n');
    assert.equal(viaReflection['id'], 'req-1');
    assert.deepEqual(viaReflection['parameters'], { route: { string_param: 'b' }, n: { int64_param: '-4' } });
    assert.deepEqual((viaReflection['inputs'] as { shape: string[] }[]).map((i) => i.shape.map(Number)), TENSORS.map((t) => t.shape));
    assert.deepEqual((viaReflection['raw_input_contents'] as Buffer[]).map((b) => [...b]), (message.raw_input_contents ?? []).map((b) => [...b]));

    const written = request.encode(request.fromObject(message)).finish();
    const decoded = decodeInferRequestMessage(written);
    assert.deepEqual(decoded.inputs?.map((i) => [i.name, i.datatype, i.shape]), message.inputs?.map((i) => [i.name, i.datatype, i.shape]));
    assert.deepEqual(decoded.raw_input_contents?.map((b) => [...b]), message.raw_input_contents?.map((b) => [...b]));

    const infer = encodeModelInferResponse({ modelName: 'g.n', modelVersion: '1', id: 'r', parameters: undefined, outputs: [...TENSORS] });
    const streamed = stream.toObject(stream.decode(encodeStreamInferResponseProto({ error_message: 'boom', infer_response: infer })), TO_OBJECT) as { error_message: string; infer_response: { id: string } };
    assert.equal(streamed.error_message, 'boom');
    assert.equal(streamed.infer_response.id, 'r');
    const back = decodeInferResponseProto(response.encode(response.fromObject(infer)).finish());
    assert.deepEqual(back.outputs, infer.outputs);
  });

  it('writes and reads int64 and uint64 values as protobufjs reflection does, around the small-number fast path', () => {
    const { request } = types();
    const int64s = ['0', '1', '127', '128', '-1', '-4', String(2 ** 49 - 1), String(2 ** 49), String(2 ** 53 - 1), '9007199254740993', '-9223372036854775808', '9223372036854775807', '007', '-0'];
    const uint64s = ['0', '127', '128', String(2 ** 49 - 1), String(2 ** 49), '18446744073709551615'];
    for (const v of int64s) {
      const message = { model_name: 'm', parameters: { p: { int64_param: v } }, inputs: [{ name: 'x', datatype: 'INT64', shape: [1], contents: { int64_contents: [v] } }] };
      const mine = encodeInferRequestProto(message);
      assert.deepEqual([...mine], [...request.encode(request.fromObject(message)).finish()], `int64 ${v} written`);
      const back = decodeInferRequestMessage(mine);
      const canonical = String(BigInt(v));
      assert.equal(back.parameters?.['p']?.int64_param, canonical, `int64 parameter ${v} read`);
      assert.deepEqual(back.inputs?.[0]?.contents?.int64_contents, [canonical], `int64 contents ${v} read`);
    }
    for (const v of uint64s) {
      const message = { model_name: 'm', parameters: { p: { uint64_param: v } }, inputs: [{ name: 'x', datatype: 'UINT64', shape: [1], contents: { uint64_contents: [v] } }] };
      const mine = encodeInferRequestProto(message);
      assert.deepEqual([...mine], [...request.encode(request.fromObject(message)).finish()], `uint64 ${v} written`);
      const back = decodeInferRequestMessage(mine);
      assert.equal(back.parameters?.['p']?.uint64_param, v, `uint64 parameter ${v} read`);
      assert.deepEqual(back.inputs?.[0]?.contents?.uint64_contents, [v], `uint64 contents ${v} read`);
    }
    const shaped = decodeInferRequestMessage(request.encode(request.fromObject({ model_name: 'm', inputs: [{ name: 'x', datatype: 'FP32', shape: ['-1', '127', '128', String(2 ** 49), '0'] }] })).finish());
    assert.deepEqual(shaped.inputs?.[0]?.shape, [-1, 127, 128, 2 ** 49, 0]);
  });

  it('reads typed contents (every contents field, packed) that V2 clients may send instead of raw bytes', () => {
    const { request } = types();
    const contents = (datatype: string, field: string, values: unknown[], shape = [values.length]): object => ({ name: field, datatype, shape, contents: { [field]: values } });
    const written = request
      .encode(
        request.fromObject({
          model_name: 'm',
          inputs: [
            contents('BOOL', 'bool_contents', [true, false]),
            contents('INT32', 'int_contents', [-5, 7]),
            contents('INT64', 'int64_contents', ['-9007199254740993', '4']),
            contents('UINT32', 'uint_contents', [4294967295]),
            contents('UINT64', 'uint64_contents', ['18446744073709551615']),
            contents('FP32', 'fp32_contents', [0.5, -1]),
            contents('FP64', 'fp64_contents', [1e-300]),
            contents('BYTES', 'bytes_contents', [Buffer.from('ab'), Buffer.from('')]),
          ],
        }),
      )
      .finish();
    const decoded = decodeInferRequestProto(written);
    assert.deepEqual(
      decoded.inputs.map((t) => plain(t)),
      [[1, 0], [-5, 7], [-9007199254740993n, 4n], [4294967295], [18446744073709551615n], [0.5, -1], [1e-300], ['ab', '']],
    );
  });

  it('decodes raw contents as views over the message buffer where aligned, copies where not', () => {
    const fp64: Tensor = { name: 'x', datatype: 'FP64', shape: [4], data: new Float64Array([1, 2, 3, 4]) };
    const bytes = encodeInferRequestProto(encodeNodeCall('g.n', 'r', {}, [fp64]));
    const raw = decodeInferRequestMessage(bytes).raw_input_contents?.[0] as Uint8Array;
    const rawStart = raw.byteOffset - bytes.byteOffset;

    const aligned = placed(bytes, rawStart, true);
    const view = decodeInferRequestProto(aligned).inputs[0]?.data as Float64Array;
    assert.equal(view.buffer, aligned.buffer, 'the tensor is a view over the message buffer');
    assert.equal(view.byteOffset, aligned.byteOffset + rawStart);
    assert.deepEqual(Array.from(view), [1, 2, 3, 4]);

    const unaligned = placed(bytes, rawStart, false);
    const copy = decodeInferRequestProto(unaligned).inputs[0]?.data as Float64Array;
    assert.notEqual(copy.buffer, unaligned.buffer);
    assert.deepEqual(Array.from(copy), [1, 2, 3, 4]);

    const infer = encodeModelInferResponse({ modelName: 'g.n', modelVersion: '1', id: 'r', parameters: undefined, outputs: [fp64] });
    const answerBytes = encodeInferResponseProto(infer);
    const rawOut = decodeInferResponseProto(answerBytes).raw_output_contents[0] as Uint8Array;
    const placedAnswer = placed(answerBytes, rawOut.byteOffset - answerBytes.byteOffset, true);
    const out = decodeNodeOutputs(decodeInferResponseProto(placedAnswer), 'test', true).get('x')?.data as Float64Array;
    assert.equal(out.buffer, placedAnswer.buffer, 'output tensors are views too');
    assert.deepEqual(Array.from(out), [1, 2, 3, 4]);
  });

  it('encodes numeric raw contents straight from the tensor: the Buffer handed to the writer views the typed array', () => {
    const data = new Float32Array([1, 2]);
    const message = encodeNodeCall('g.n', 'r', {}, [{ name: 'x', datatype: 'FP32', shape: [2], data }]);
    assert.equal((message.raw_input_contents?.[0] as Uint8Array).buffer, data.buffer);
  });

  it('rejects bytes that are no protobuf message with a 400-class error', () => {
    assert.throws(() => decodeInferRequestProto(Buffer.from([0x0a, 0xff, 0xff])), (err: unknown) => {
      assert.equal((err as { code?: string }).code, 'INVALID_ARGUMENT');
      assert.match((err as Error).message, /^malformed protobuf ModelInferRequest/);
      return true;
    });
    assert.throws(() => decodeStreamInferResponseProto(Buffer.from([0x12, 0x05, 0x0a])), /^InferenceError: malformed protobuf ModelStreamInferResponse|malformed protobuf ModelStreamInferResponse/);
  });

  it('keeps request parameters named "__proto__" or "constructor" through a node call, as any other', () => {
    const parameters = JSON.parse('{"__proto__":"p","constructor":1,"a":true}') as Record<string, unknown>;
    const decoded = decodeInferRequestProto(encodeInferRequestProto(encodeNodeCall('g.n', 'r', parameters, [TENSORS[0] as Tensor])));
    assert.deepEqual(Object.entries(decoded.parameters), [['__proto__', 'p'], ['constructor', 1], ['a', true]]);
    assert.equal(Object.getPrototypeOf(decoded.parameters), Object.prototype);
  });
});
