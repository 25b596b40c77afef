import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { browserSessionClearCookie, browserSessionMatches, browserSessionSetCookie, browserSessionValue } from './browser-session';

const secret = (token: string) => ({ digest: createHash('sha256').update(token).digest(), token });

describe('browser sessions', () => {
  const a = secret('token-a-0123456789');
  const b = secret('token-b-0123456789');

  it('matches the secret whose session the cookie carries, for its label only', () => {
    const cookie = `other=1; s=${browserSessionValue(b, 'read')}; x=2`;
    assert.deepEqual(browserSessionMatches(cookie, 's', [a, b], 'read'), [b]);
    assert.deepEqual(browserSessionMatches(cookie, 's', [a, b], 'admin'), []);
    assert.deepEqual(browserSessionMatches(cookie, 'other-name', [a, b], 'read'), []);
    assert.deepEqual(browserSessionMatches(undefined, 's', [a, b], 'read'), []);
    assert.deepEqual(browserSessionMatches('s=forged', 's', [a, b], 'read'), []);
  });

  it('never puts the token in the cookie, and sets it HttpOnly and SameSite=Strict', () => {
    const set = browserSessionSetCookie('s', browserSessionValue(a, 'read'), true);
    assert.ok(!set.includes(a.token));
    assert.match(set, /^s=[\w-]+; Path=\/; HttpOnly; SameSite=Strict; Secure$/);
    assert.match(browserSessionClearCookie('s', false), /^s=; .*Max-Age=0$/);
  });
});
