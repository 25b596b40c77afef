import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isInferenceErrorCode } from './inference.error';

// Pure-logic unit test: codes that arrive from peers (Kafka headers, stream parameters) are checked by name.

describe('isInferenceErrorCode', () => {
  it('accepts the failure classes and nothing an object inherits', () => {
    assert.ok(isInferenceErrorCode('INVALID_ARGUMENT'));
    assert.ok(isInferenceErrorCode('UNAVAILABLE'));
    for (const code of ['toString', '__proto__', 'constructor', 'hasOwnProperty', 'invalid_argument', '', undefined, 400]) {
      assert.equal(isInferenceErrorCode(code), false, String(code));
    }
  });
});
