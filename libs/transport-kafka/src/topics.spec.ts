import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  encodeBinaryElements,
  decodeBinaryElements,
  decodeInferRequestProto,
  decodeInferResponseProto,
  encodeInferRequestProto,
  encodeInferResponseProto,
} from '@infergraph/protocol';
import { graphTopicNames, isProtobuf, nodeGroupId, nodeTopicNames, passThroughHeaders } from './topics';

describe('Kafka topic naming and record headers', () => {
  it('names graph topics, node topics and node groups from prefix, graph and node', () => {
    assert.deepEqual(graphTopicNames('ig', 'iris'), { inputs: 'ig.iris.inputs', outputs: 'ig.iris.outputs', errors: 'ig.iris.errors' });
    assert.deepEqual(nodeTopicNames('ig', 'iris', 'classifier'), { inputs: 'ig.iris.classifier.inputs', outputs: 'ig.iris.classifier.outputs' });
    assert.equal(nodeGroupId('ig', 'iris', 'classifier'), 'ig.iris.classifier');
    // A node called "outputs" cannot collide with the graph's own outputs topic.
    assert.notEqual(nodeTopicNames('ig', 'iris', 'outputs').inputs, graphTopicNames('ig', 'iris').outputs);
  });

  it('gives each version of a graph node topics and a group of its own, version "1" keeping the unversioned names', () => {
    assert.deepEqual(nodeTopicNames('ig', 'iris', 'classifier', '1'), nodeTopicNames('ig', 'iris', 'classifier'));
    assert.deepEqual(nodeTopicNames('ig', 'iris', 'classifier', '2'), { inputs: 'ig.iris_v2.classifier.inputs', outputs: 'ig.iris_v2.classifier.outputs' });
    assert.equal(nodeGroupId('ig', 'iris', 'classifier', '2.1'), 'ig.iris_v2.1.classifier');
    const names = [
      ['iris', 'a', undefined],
      ['iris', 'a', '2'],
      ['iris', 'a', '2.1'],
      ['iris', 'b', '2'],
      ['iris-v2', 'a', undefined],
      ['iris', '1-a', '2'],
    ].map(([graph, node, version]) => nodeTopicNames('ig', graph as string, node as string, version).inputs);
    assert.equal(new Set(names).size, names.length, names.join(' '));
  });

  it('recognises protobuf content types with or without parameters, and nothing else', () => {
    for (const t of ['application/x-protobuf', 'application/protobuf; messageType=inference.ModelInferRequest', 'Application/Vnd.Google.Protobuf']) assert.equal(isProtobuf(t), true, t);
    for (const t of [undefined, '', 'application/json', 'application/octet-stream', 'text/plain']) assert.equal(isProtobuf(t), false, String(t));
  });

  it("passes trace context and the caller's x-* headers through, never infergraph's own or error headers", () => {
    assert.deepEqual(
      passThroughHeaders({ traceparent: 'tp', tracestate: 'ts', 'x-tenant': 'acme', 'x-infergraph-call': 'c', 'x-error': 'e', 'content-type': 'application/json', authorization: 'secret' }),
      { traceparent: 'tp', tracestate: 'ts', 'x-tenant': 'acme' },
    );
  });
});

describe('protobuf V2 record values', () => {
  it('round-trips a ModelInferRequest with raw contents and parameters', () => {
    const bytes = encodeInferRequestProto({
      model_name: 'iris',
      id: 'r-1',
      parameters: { route: { string_param: 'a' }, trace: { bool_param: true } },
      inputs: [{ name: 'features', datatype: 'FP32', shape: [2, 2] }],
      raw_input_contents: [encodeBinaryElements(Float32Array.from([1.5, 2, 3, 4]), 'FP32')],
    });
    const request = decodeInferRequestProto(bytes);
    assert.equal(request.id, 'r-1');
    assert.deepEqual(request.parameters, { route: 'a', trace: true });
    assert.deepEqual(request.inputs[0]?.shape, [2, 2]);
    assert.deepEqual(Array.from(request.inputs[0]?.data as Float32Array), [1.5, 2, 3, 4]);
  });

  it('round-trips a ModelInferResponse', () => {
    const bytes = encodeInferResponseProto({
      model_name: 'g.n',
      model_version: '1',
      id: 'r-2',
      parameters: {},
      outputs: [{ name: 'label', datatype: 'INT64', shape: [2] }],
      raw_output_contents: [encodeBinaryElements(BigInt64Array.from([0n, 2n]), 'INT64')],
    });
    const message = decodeInferResponseProto(bytes);
    assert.equal(message.id, 'r-2');
    assert.deepEqual(message.outputs.map((o) => [o.name, o.datatype, o.shape.map(Number)]), [['label', 'INT64', [2]]]);
    assert.deepEqual(Array.from(decodeBinaryElements(message.raw_output_contents[0] as Uint8Array, 'INT64', 2, 'label') as BigInt64Array), [0n, 2n]);
  });

  it('rejects bytes that are not a ModelInferRequest with a 400-class error', () => {
    assert.throws(() => decodeInferRequestProto(Buffer.from([0x0a, 0xff, 0xff])), (err: unknown) => {
      assert.ok(err instanceof Error);
      assert.equal((err as { code?: string }).code, 'INVALID_ARGUMENT');
      assert.match(err.message, /^malformed protobuf ModelInferRequest/);
      return true;
    });
    assert.throws(() => decodeInferRequestProto(encodeInferRequestProto({ model_name: 'm', inputs: [] })), /inputs: must hold at least one input tensor/);
  });
});
