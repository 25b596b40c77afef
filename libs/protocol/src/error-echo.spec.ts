import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MAX_ECHOED_ITEMS, echoList, echoText } from './error-echo';
import { formatShape, shapeMismatch } from './tensor';

// Pure-logic unit test of how error messages repeat what a request sent.

describe('echoList and formatShape: lists from a request in error messages', () => {
  it('shows a list of up to 16 items whole', () => {
    assert.equal(echoList([1, 2, 3]), '1, 2, 3');
    assert.equal(echoList([]), '');
    assert.equal(formatShape([]), '[]');
    assert.equal(formatShape(new Array<number>(MAX_ECHOED_ITEMS).fill(2)), `[${new Array(16).fill(2).join(', ')}]`);
  });

  it('shows the first 16 items of a longer list, then "…" and the total count', () => {
    assert.equal(echoList(Array.from({ length: 1_000_000 }, (_, i) => i)), '0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, … (1000000 in all)');
    assert.equal(echoList(['a', 'b', 'c'].concat(new Array<string>(20).fill('z')), (s) => `<${s}>`, '; ').split('; ').length, 17);
    assert.equal(formatShape(new Array<number>(100_000).fill(1)), `[${'1, '.repeat(16)}… (100000 in all)]`);
  });

  it('keeps a shape mismatch on a 100,000-dimension shape under 200 characters', () => {
    const message = shapeMismatch([-1, 4], new Array<number>(100_000).fill(1)) ?? '';
    assert.match(message, /^expected rank 2 \[-1, 4\], got rank 100000 \[1, 1, .*… \(100000 in all\)\]$/);
    assert.ok(message.length < 200, `${message.length} characters`);
  });

  it('cuts a long string after 64 characters', () => {
    assert.equal(echoText('short'), 'short');
    assert.equal(echoText('x'.repeat(1_000_000)), `${'x'.repeat(64)}…`);
    assert.equal(echoText('abcdef', 3), 'abc…');
  });
});
