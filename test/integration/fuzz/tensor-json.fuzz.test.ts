import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { decodeInferRequest, decodeInferRequestObject } from '@infergraph/protocol';
import { fuzzParameters } from '../../support/fuzz';
import { requestObjectArb } from '../../support/request-arbitraries';

// Property-based check, in memory, that the REST decoder's fast path for flat numeric tensors
// (oip-json-request.decoder.ts, tried first by decodeInferRequest) never changes an outcome: every body
// decodes to what JSON.parse and the general decoder make of it, or is refused with the same message. What is
// real is decodeInferRequest, as the gateway calls it on every body.

const encoder = new TextEncoder();

/** The request, or the refusal's message. */
function outcome(decode: () => unknown): unknown {
  try {
    return decode();
  } catch (err) {
    return `refused: ${err instanceof Error ? err.message : String(err)}`;
  }
}

function assertSameAsGeneral(text: string): void {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    // Not JSON: refused, as malformed JSON, whatever the fast path saw.
    assert.match(String(outcome(() => decodeInferRequest(encoder.encode(text)))), /^refused: malformed JSON in request body/);
    return;
  }
  assert.deepStrictEqual(
    outcome(() => decodeInferRequest(encoder.encode(text))),
    outcome(() => decodeInferRequestObject(parsed)),
  );
}

const GOOD = '{"id":"r1","inputs":[{"name":"input","shape":[1,4],"datatype":"FP32","data":[5.1,3.5,-1.4e-2,0]},{"name":"k","shape":[2],"datatype":"INT32","data":[7,-8]}]}';

describe('REST decoder fast path: the same outcome as JSON.parse and the general decoder', () => {
  it('for generated requests, valid and invalid', () => {
    fc.assert(
      fc.property(requestObjectArb, (request) => assertSameAsGeneral(JSON.stringify(request))),
      fuzzParameters(300),
    );
  });

  it('for random edits of a well-formed body (characters inserted, deleted or replaced)', () => {
    const edit = fc.record({
      at: fc.nat({ max: GOOD.length }),
      remove: fc.nat({ max: 3 }),
      insert: fc.string({ maxLength: 3, unit: fc.constantFrom(...'{}[],:"\\0123456789.-+eE naINT') }),
    });
    fc.assert(
      fc.property(fc.array(edit, { minLength: 1, maxLength: 3 }), (edits) => {
        let text = GOOD;
        for (const e of edits) text = text.slice(0, e.at) + e.insert + text.slice(e.at + e.remove);
        assertSameAsGeneral(text);
      }),
      fuzzParameters(2000),
    );
  });
});
