import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { InferenceError, decodeInferRequest, fromHalfBits, type Tensor } from '@infergraph/protocol';
import { arrayBufferBytes, describeThrown, fuzzParameters, thrownBy } from '../../support/fuzz';
import { encodeRestRequest, encodedRequestArb, mutatedBytesArb, requestObjectArb, tensorArb } from '../../support/request-arbitraries';

// Property-based fuzzing of the REST request decoder (JSON, and the binary tensor data extension with its
// Inference-Header-Content-Length), in memory: what is real is the decoder the gateway and the Kafka graph
// stream call on every body. The oracle: a body decodes, or is refused with an INVALID_ARGUMENT
// InferenceError (a 400) whose message stays short; never another exception, never memory for a size the
// body only declares.

const encoder = new TextEncoder();

/** Longest refusal message: errors repeat at most a few items of what the request sent. */
const MAX_MESSAGE_CHARS = 2000;

function assertDecodesOrRefuses(body: Uint8Array, jsonLength?: number): void {
  const err = thrownBy(() => decodeInferRequest(body, jsonLength));
  if (err === undefined) return;
  assert.ok(err instanceof InferenceError, `expected an InferenceError, got ${describeThrown(err)}`);
  assert.equal(err.code, 'INVALID_ARGUMENT', err.message);
  assert.ok(err.message.length > 0 && err.message.length <= MAX_MESSAGE_CHARS, `message of ${err.message.length} characters: ${err.message.slice(0, 200)}`);
}

/** The Inference-Header-Content-Length values worth trying against a body: its JSON's length and wrong ones. */
function jsonLengthArb(bodyLength: number): fc.Arbitrary<number | undefined> {
  return fc.oneof(
    fc.constant(undefined),
    fc.integer({ min: 0, max: bodyLength }),
    fc.constantFrom(-1, bodyLength + 1, 1.5, NaN, Infinity, 2 ** 53, -0),
  );
}

function assertSameTensors(actual: readonly Tensor[], expected: readonly Tensor[]): void {
  assert.equal(actual.length, expected.length);
  expected.forEach((want, i) => {
    const got = actual[i] as Tensor;
    assert.equal(got.name, want.name);
    assert.equal(got.datatype, want.datatype);
    assert.deepEqual(got.shape, want.shape);
    const values = (t: Tensor): unknown[] => (t.datatype === 'FP16' ? Array.from(t.data as Uint16Array, fromHalfBits) : Array.from(t.data as ArrayLike<unknown>));
    // Element-wise ===: JSON writes -0 as 0, which is the same number.
    const [a, b] = [values(got), values(want)];
    assert.equal(a.length, b.length);
    a.forEach((v, k) => assert.ok(v === b[k], `${want.name}[${k}]: ${String(v)} !== ${String(b[k])}`));
  });
}

describe('fuzzing the REST request decoder', () => {
  it('decodes every valid request, JSON or binary, to the tensors it encodes', () => {
    fc.assert(
      fc.property(encodedRequestArb, ({ tensors, body, jsonLength }) => {
        assertSameTensors(decodeInferRequest(body, jsonLength).inputs, tensors);
      }),
      fuzzParameters(300),
    );
  });

  it('decodes or refuses arbitrary bytes with any Inference-Header-Content-Length', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 256 }).chain((body) => fc.tuple(fc.constant(body), jsonLengthArb(body.byteLength))),
        ([body, jsonLength]) => assertDecodesOrRefuses(body, jsonLength),
      ),
      fuzzParameters(500),
    );
  });

  it('decodes or refuses request-shaped JSON with wrong, missing and extra fields', () => {
    fc.assert(
      fc.property(requestObjectArb, (request) => assertDecodesOrRefuses(encoder.encode(JSON.stringify(request)))),
      fuzzParameters(800),
    );
  });

  it('decodes or refuses request-shaped JSON followed by arbitrary binary tensor data', () => {
    fc.assert(
      fc.property(requestObjectArb, fc.uint8Array({ maxLength: 64 }), fc.integer({ min: -2, max: 2 }), (request, tail, skew) => {
        const json = encoder.encode(JSON.stringify(request));
        const body = Buffer.concat([json, tail]);
        assertDecodesOrRefuses(body, json.byteLength + skew);
      }),
      fuzzParameters(500),
    );
  });

  it('decodes or refuses valid bodies after bit flips, overwrites, insertions, deletions and truncation', () => {
    fc.assert(
      fc.property(
        encodedRequestArb.chain((request) =>
          fc.tuple(mutatedBytesArb(request.body), fc.oneof(fc.constant(request.jsonLength), jsonLengthArb(request.body.byteLength))),
        ),
        ([body, jsonLength]) => assertDecodesOrRefuses(body, jsonLength),
      ),
      fuzzParameters(500),
    );
  });

  it('refuses a declared size far beyond the body before allocating for it', () => {
    // A shape of 2^24..2^60 elements with a body of a few bytes: a decoder that sized its output from the
    // shape would allocate megabytes to exabytes (or throw a RangeError) before noticing.
    const hugeShapeArb = fc.tuple(
      fc.integer({ min: 24, max: 60 }).map((bits) => 2 ** bits),
      fc.constantFrom('FP64', 'FP32', 'INT64', 'UINT8', 'BOOL', 'BYTES', 'FP16'),
      fc.boolean(),
      fc.uint8Array({ maxLength: 16 }),
    );
    fc.assert(
      fc.property(hugeShapeArb, ([elements, datatype, binary, bytes]) => {
        const shape = [elements];
        const input = binary
          ? { name: 'x', datatype, shape, parameters: { binary_data_size: bytes.byteLength } }
          : { name: 'x', datatype, shape, data: Array.from(bytes) };
        const json = encoder.encode(JSON.stringify({ inputs: [input] }));
        const body = binary ? Buffer.concat([json, bytes]) : json;
        const before = arrayBufferBytes();
        const err = thrownBy(() => decodeInferRequest(body, binary ? json.byteLength : undefined));
        assert.ok(err instanceof InferenceError && err.code === 'INVALID_ARGUMENT', `expected a 400 for shape [${elements}], got ${String(err)}`);
        assert.ok(arrayBufferBytes() - before < 1024 * 1024, `decoding grew ArrayBuffers by ${arrayBufferBytes() - before} bytes`);
      }),
      fuzzParameters(200),
    );
  });

  it('refuses deeply nested data and parameters without overflowing the stack', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 50_000 }), fc.constantFrom('data', 'parameters', 'id'), (depth, where) => {
        const deep = `${'['.repeat(depth)}1${']'.repeat(depth)}`;
        const text =
          where === 'data'
            ? `{"inputs":[{"name":"x","shape":[1],"datatype":"FP32","data":${deep}}]}`
            : where === 'parameters'
              ? `{"parameters":{"p":${deep}},"inputs":[{"name":"x","shape":[1],"datatype":"FP32","data":[1]}]}`
              : `{"id":${deep},"inputs":[]}`;
        assertDecodesOrRefuses(encoder.encode(text));
      }),
      fuzzParameters(25),
    );
  });

  it('keeps binary tensors independent of the bytes around them (a decoded tensor is never a view of the next one)', () => {
    fc.assert(
      fc.property(fc.uniqueArray(tensorArb, { minLength: 2, maxLength: 3, selector: (t) => t.name }), (tensors) => {
        const { body, jsonLength } = encodeRestRequest(tensors, true);
        const decoded = decodeInferRequest(body, jsonLength).inputs;
        body.fill(0xff); // the caller reusing its buffer must not change decoded tensors
        assertSameTensors(decoded, tensors);
      }),
      fuzzParameters(200),
    );
  });
});
