import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InferenceError } from './inference.error';
import { MAX_REQUEST_ID_CHARS, checkRequestId, requestIdProblem } from './request-id.validator';

// Pure-logic unit test of the request id rule: an id must fit the x-request-id response header.

const ACCEPTED: [string, string][] = [
  ['a UUID', '3c194739-4c31-45bf-8808-62fd18bba6bc'],
  ['printable ASCII with spaces and punctuation', 'order 42/line #7: "ok" ~'],
  ['Latin-1 letters ("é" is U+00E9)', 'café-é-ÿ'],
  ['the empty id', ''],
  [`${MAX_REQUEST_ID_CHARS} characters`, 'r'.repeat(MAX_REQUEST_ID_CHARS)],
];

const REFUSED: [string, string, RegExp][] = [
  ['CR/LF (header injection)', 'a\r\nset-cookie: x=1', /^U\+000D at index 1 cannot go into an HTTP header; a request id must be printable Latin-1 text/],
  ['a lone LF', 'a\nb', /^U\+000A at index 1 /],
  ['a NUL', 'a\u0000', /^U\+0000 at index 1 /],
  ['a tab', '\tid', /^U\+0009 at index 0 /],
  ['DEL', 'id\u007f', /^U\+007F at index 2 /],
  ['a C1 control character (UTF-8 bytes read as Latin-1)', Buffer.from('é€').toString('latin1'), /^U\+0082 at index 3 /],
  ['"€", beyond Latin-1', 'é€', /^U\+20AC at index 1 /],
  ['an emoji, named by its code point', 'id-😀', /^U\+1F600 at index 3 /],
  ['an id longer than the limit', 'r'.repeat(MAX_REQUEST_ID_CHARS + 1), /^is 1025 characters long; a request id has at most 1024$/],
];

describe('request id rule', () => {
  for (const [what, id] of ACCEPTED) {
    it(`accepts ${what}`, () => {
      assert.equal(requestIdProblem(id), undefined);
      checkRequestId(id, 'id');
    });
  }

  for (const [what, id, problem] of REFUSED) {
    it(`refuses ${what} with a 400 naming the field`, () => {
      assert.match(requestIdProblem(id) ?? '', problem);
      assert.throws(
        () => checkRequestId(id, 'x-request-id header'),
        (err: unknown) => err instanceof InferenceError && err.httpStatus === 400 && err.message.startsWith('x-request-id header: '),
      );
    });
  }

  it('accepts a missing id', () => {
    checkRequestId(undefined, 'id');
  });
});
