import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { describe, it } from 'node:test';
import { adminTokenOf, allows, bearerTokenOf, matchAdminToken, parseAdminTokensFile, requiredAdminScope, type AdminTokenDigest } from './admin-tokens';

// Pure unit test: token parsing, matching and the scope rules; no process, no network.

const ADMIN = 'admin-0123456789abcdef';
const ADMIN_NEXT = 'admin-next-0123456789abcdef';
const READER = 'read-0123456789abcdef';

function tokenOf(token: string, scope: 'admin' | 'read'): AdminTokenDigest {
  const parsed = adminTokenOf(token, scope, 'test');
  assert.ok(!('problem' in parsed), 'problem' in parsed ? parsed.problem : '');
  return parsed;
}

describe('admin tokens', () => {
  it('reads one token a line, with an optional scope prefix, skipping blank lines and comments', () => {
    const { tokens, problems } = parseAdminTokensFile(['# rotated 2026-12-01', '', `admin:${ADMIN}`, `  ${ADMIN_NEXT}  `, `read:${READER}`, '   # old reader gone'].join('\n'));
    assert.deepEqual(problems, []);
    assert.deepEqual(
      tokens.map((t) => [t.scope, t.origin]),
      [
        ['admin', 'ADMIN_TOKENS_FILE line 3'],
        ['admin', 'ADMIN_TOKENS_FILE line 4'],
        ['read', 'ADMIN_TOKENS_FILE line 5'],
      ],
    );
    assert.equal(matchAdminToken(ADMIN, tokens), 'admin');
    assert.equal(matchAdminToken(ADMIN_NEXT, tokens), 'admin', 'both tokens of a rotation are accepted');
    assert.equal(matchAdminToken(READER, tokens), 'read');
    assert.equal(matchAdminToken(`read:${READER}`, tokens), undefined, 'the prefix is not part of the token');
  });

  it('lists every bad line by number and never quotes a token', () => {
    const { tokens, problems } = parseAdminTokensFile(['write:abcdefghijklmnopqrstuvwxyz', 'short', `read:${READER}`, 'two words-0123456789abcdef'].join('\n'));
    assert.equal(tokens.length, 1);
    assert.deepEqual(problems, [
      'ADMIN_TOKENS_FILE line 1: unknown scope "write" (expected admin: or read:)',
      'ADMIN_TOKENS_FILE line 2: a token must be at least 16 characters (e.g. `openssl rand -hex 32`)',
      'ADMIN_TOKENS_FILE line 4: a token cannot contain whitespace',
    ]);
    for (const problem of problems) assert.ok(!problem.includes('abcdefghijklmnop') && !problem.includes('short') && !problem.includes('words'), problem);
  });

  it('refuses a file that lists no token', () => {
    assert.deepEqual(parseAdminTokensFile('# nothing yet\n\n').problems, ['ADMIN_TOKENS_FILE: the file lists no token']);
  });

  it('keeps digests only, and rejects wrong, empty and near-miss tokens', () => {
    const tokens = [tokenOf(ADMIN, 'admin'), tokenOf(READER, 'read')];
    for (const t of tokens) assert.ok(!JSON.stringify(t).includes(ADMIN) && !JSON.stringify(t).includes(READER));
    for (const wrong of ['', 'x', ADMIN.slice(0, -1), `${ADMIN}x`, ADMIN.toUpperCase(), `${ADMIN} `]) assert.equal(matchAdminToken(wrong, tokens), undefined, JSON.stringify(wrong));
  });

  it('grants the widest scope when one token is configured under both', () => {
    assert.equal(matchAdminToken(ADMIN, [tokenOf(ADMIN, 'read'), tokenOf(ADMIN, 'admin')]), 'admin');
    assert.equal(matchAdminToken(ADMIN, [tokenOf(ADMIN, 'admin'), tokenOf(ADMIN, 'read')]), 'admin');
  });

  it('compares against every configured digest with timingSafeEqual, whichever token matches', (t) => {
    const compare = t.mock.method(crypto, 'timingSafeEqual');
    const tokens = [tokenOf(ADMIN, 'admin'), tokenOf(ADMIN_NEXT, 'admin'), tokenOf(READER, 'read')];
    for (const presented of [ADMIN, READER, 'not-a-token-at-all-really']) {
      compare.mock.resetCalls();
      matchAdminToken(presented, tokens);
      assert.equal(compare.mock.callCount(), tokens.length, `${presented}: one comparison per configured token`);
      for (const call of compare.mock.calls) {
        const [a, b] = call.arguments as [Buffer, Buffer];
        assert.equal(a.length, 32, 'the presented token is compared as its SHA-256 digest');
        assert.equal(b.length, 32);
      }
    }
  });

  it('takes the token of an "Authorization: Bearer" header only', () => {
    const cases: [string | undefined, string | undefined][] = [
      [`Bearer ${ADMIN}`, ADMIN],
      [`bearer ${ADMIN}`, ADMIN],
      [`Bearer   ${ADMIN} `, ADMIN],
      [undefined, undefined],
      ['', undefined],
      ['Bearer', undefined],
      ['Bearer ', undefined],
      [`Basic ${ADMIN}`, undefined],
      [`Bearer ${ADMIN} extra`, undefined],
      [ADMIN, undefined],
    ];
    for (const [header, token] of cases) assert.equal(bearerTokenOf(header), token, JSON.stringify(header));
  });

  it('leaves /healthz open, lets read tokens look and keeps every change for admin tokens', () => {
    const cases: [string, string, 'read' | 'admin' | undefined][] = [
      ['GET', '/healthz', undefined],
      ['GET', '/v1/cluster', 'read'],
      ['GET', '/v1/graphs', 'read'],
      ['HEAD', '/v1/graphs', 'read'],
      ['GET', '/metrics', 'read'],
      ['POST', '/v1/graphs', 'admin'],
      ['PUT', '/v1/graphs/:name', 'admin'],
      ['DELETE', '/v1/graphs/:name', 'admin'],
    ];
    for (const [method, route, needed] of cases) assert.equal(requiredAdminScope(method, route), needed, `${method} ${route}`);
    assert.equal(allows('read', 'read'), true);
    assert.equal(allows('read', 'admin'), false);
    assert.equal(allows('admin', 'read'), true);
    assert.equal(allows('admin', 'admin'), true);
  });
});
