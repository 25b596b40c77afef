import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { Writer } from 'protobufjs';
import {
  InferenceError,
  decodeInferRequestProto,
  decodeInferResponseProto,
  decodeModelInferRequest,
  decodeNodeOutputs,
  decodeStreamInferResponseProto,
  encodeInferRequestProto,
  encodeInferResponseProto,
  encodeModelInferResponse,
  encodeNodeCall,
  encodeStreamInferResponseProto,
  type ModelInferRequestMessage,
  type Tensor,
} from '@infergraph/protocol';
import { arrayBufferBytes, describeThrown, fuzzParameters, thrownBy } from '../../support/fuzz';
import { mutatedBytesArb, parameterKeyArb, requestMessageArb, tensorArb } from '../../support/request-arbitraries';

// Property-based fuzzing of the gRPC side of the protocol, in memory: the field-by-field protobuf codec
// (node calls on ModelStreamInfer, Kafka record values) and `decodeModelInferRequest`, which turns every
// decoded ModelInferRequest (the public V2 endpoint's too) into tensors. What is real: both decoders.
// The oracle: a request decodes, or is refused with an INVALID_ARGUMENT InferenceError; a worker's answer
// decodes or is an InferenceError; nothing else is thrown and nothing is allocated for a declared size.

const MAX_MESSAGE_CHARS = 2000;

function assertRefusal(err: unknown, codes: readonly string[] = ['INVALID_ARGUMENT']): void {
  if (err === undefined) return;
  assert.ok(err instanceof InferenceError, `expected an InferenceError, got ${describeThrown(err)}`);
  assert.ok(codes.includes(err.code), `${err.code}: ${err.message}`);
  assert.ok(err.message.length > 0 && err.message.length <= MAX_MESSAGE_CHARS, `message of ${err.message.length} characters: ${err.message.slice(0, 200)}`);
}

/** A valid node call: what mutations start from. */
const nodeCallArb = fc
  .record({ tensors: fc.uniqueArray(tensorArb, { minLength: 1, maxLength: 3, selector: (t) => t.name }), id: fc.string({ maxLength: 8 }) })
  .map(({ tensors, id }) => encodeInferRequestProto(encodeNodeCall('g.n', id, {}, tensors)));

/** A valid node answer (a ModelStreamInferResponse carrying outputs, or an error). */
const nodeAnswerArb = fc
  .record({ tensors: fc.uniqueArray(tensorArb, { maxLength: 3, selector: (t) => t.name }), error: fc.string({ maxLength: 8 }) })
  .map(({ tensors, error }) =>
    encodeStreamInferResponseProto({
      error_message: error,
      infer_response: encodeModelInferResponse({ modelName: 'g.n', modelVersion: '1', id: 'r', parameters: { a: 1 }, outputs: tensors }),
    }),
  );

/** Hand-written protobuf: a field of `fieldNumber` (length-delimited) whose declared length is `declared`, followed by `actual` bytes. */
function lengthLie(path: readonly number[], declared: number, actual: Uint8Array): Uint8Array {
  const w = Writer.create();
  for (const field of path) w.uint32((field << 3) | 2).uint32(declared);
  for (const b of actual) w.uint32(b); // small values: one byte each
  return w.finish();
}

describe('fuzzing the protobuf and gRPC request decoders', () => {
  it('decodes or refuses arbitrary bytes as a ModelInferRequest', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 256 }), (bytes) => assertRefusal(thrownBy(() => decodeInferRequestProto(bytes)))),
      fuzzParameters(1000),
    );
  });

  it('decodes or refuses valid node calls after bit flips, overwrites, insertions, deletions and truncation', () => {
    fc.assert(
      fc.property(nodeCallArb.chain(mutatedBytesArb), (bytes) => assertRefusal(thrownBy(() => decodeInferRequestProto(bytes)))),
      fuzzParameters(800),
    );
  });

  it('decodes or refuses messages whose every field may be wrong, through protobuf and as proto-loader objects', () => {
    fc.assert(
      fc.property(requestMessageArb, (message) => {
        assertRefusal(thrownBy(() => decodeModelInferRequest(message)));
        assertRefusal(thrownBy(() => decodeInferRequestProto(encodeInferRequestProto(message))));
      }),
      fuzzParameters(800),
    );
  });

  it('refuses length prefixes that claim more bytes than the message has', () => {
    // Field 7 (raw_input_contents), field 5 (inputs) then 3 (shape), 5 then 5 (contents): declared 2^31 or
    // more with a few bytes behind; a decoder that trusted the length would read past the end or allocate it.
    fc.assert(
      fc.property(
        fc.constantFrom([7], [5], [5, 3], [5, 5], [5, 5, 1], [4], [6, 2]),
        fc.constantFrom(2 ** 31, 2 ** 32 - 1, 1 << 20, 300),
        fc.uint8Array({ maxLength: 8 }).map((b) => b.map((x) => x & 0x7f)),
        (path, declared, actual) => {
          const before = arrayBufferBytes();
          const err = thrownBy(() => decodeInferRequestProto(lengthLie(path, declared, actual)));
          assert.ok(err !== undefined, 'a message shorter than its length prefix decoded');
          assertRefusal(err);
          assert.ok(arrayBufferBytes() - before < 1024 * 1024, `decoding grew ArrayBuffers by ${arrayBufferBytes() - before} bytes`);
        },
      ),
      fuzzParameters(100),
    );
  });

  it('refuses a declared shape far beyond the raw contents before allocating for it', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 24, max: 62 }).map((bits) => (2n ** BigInt(bits)).toString()),
        fc.constantFrom('FP64', 'FP32', 'INT64', 'UINT8', 'BOOL', 'BYTES', 'FP16'),
        fc.uint8Array({ maxLength: 16 }),
        fc.boolean(),
        (dimension, datatype, raw, typed) => {
          const input = { name: 'x', datatype, shape: [dimension], ...(typed ? { contents: { fp32_contents: [1], bytes_contents: [raw] } } : {}) };
          const message: ModelInferRequestMessage = { model_name: 'm', inputs: [input], ...(typed ? {} : { raw_input_contents: [raw] }) };
          const before = arrayBufferBytes();
          assertRefusal(thrownBy(() => decodeInferRequestProto(encodeInferRequestProto(message))));
          assertRefusal(thrownBy(() => decodeModelInferRequest(message)));
          assert.ok(arrayBufferBytes() - before < 1024 * 1024, `decoding grew ArrayBuffers by ${arrayBufferBytes() - before} bytes`);
        },
      ),
      fuzzParameters(200),
    );
  });

  it('keeps every scalar request parameter of a node call, whatever its name', () => {
    fc.assert(
      fc.property(
        fc.dictionary(parameterKeyArb, fc.oneof(fc.boolean(), fc.string({ maxLength: 6 }), fc.integer(), fc.double().filter((d) => !Object.is(d, -0))), { maxKeys: 4 }),
        tensorArb,
        (parameters, tensor) => {
          const request = decodeInferRequestProto(encodeInferRequestProto(encodeNodeCall('g.n', 'r', parameters, [tensor])));
          assert.deepEqual({ ...request.parameters }, { ...parameters });
        },
      ),
      fuzzParameters(300),
    );
  });

  it("decodes or refuses a worker's answer from arbitrary or mutated bytes, with an InferenceError", () => {
    const answerArb = fc.oneof(fc.uint8Array({ maxLength: 200 }), nodeAnswerArb.chain(mutatedBytesArb));
    /** Outputs that decoded are tensors: non-negative integer dimensions, as many elements as they multiply to. */
    const assertTensors = (outputs: Map<string, Tensor>): void => {
      for (const t of outputs.values()) {
        assert.ok(t.shape.every((d) => Number.isSafeInteger(d) && d >= 0), `output shape [${t.shape.join(', ')}]`);
        assert.equal(t.data.length, t.shape.reduce((n, d) => n * d, 1), `output "${t.name}" of shape [${t.shape.join(', ')}]`);
      }
    };
    fc.assert(
      fc.property(answerArb, (bytes) => {
        // Undecodable bytes are the stream's problem (INVALID_ARGUMENT, and the client drops the stream);
        // outputs that do not hold together are the worker's fault (INTERNAL, a 500 naming it).
        const err = thrownBy(() => {
          const answer = decodeStreamInferResponseProto(bytes);
          if (answer.infer_response !== undefined) assertTensors(decodeNodeOutputs(answer.infer_response, 'worker', true));
        });
        assertRefusal(err, ['INVALID_ARGUMENT', 'INTERNAL']);
        if (err instanceof InferenceError && err.code === 'INVALID_ARGUMENT') assert.match(err.message, /^malformed protobuf ModelStreamInferResponse/);
        const message = thrownBy(() => decodeInferResponseProto(bytes));
        assertRefusal(message);
        if (message === undefined) assertRefusal(thrownBy(() => assertTensors(decodeNodeOutputs(decodeInferResponseProto(bytes), 'worker', true))), ['INTERNAL']);
      }),
      fuzzParameters(800),
    );
  });

  it('round-trips valid node answers', () => {
    fc.assert(
      fc.property(fc.uniqueArray(tensorArb, { maxLength: 3, selector: (t) => t.name }), (tensors) => {
        const bytes = encodeInferResponseProto(encodeModelInferResponse({ modelName: 'g.n', modelVersion: '1', id: 'r', parameters: undefined, outputs: tensors }));
        const outputs = decodeNodeOutputs(decodeInferResponseProto(bytes), 'worker', true);
        assert.deepEqual([...outputs.keys()], tensors.map((t) => t.name));
      }),
      fuzzParameters(200),
    );
  });
});
