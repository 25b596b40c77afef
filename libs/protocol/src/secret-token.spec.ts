import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bearerTokenOf, matchingSecrets, parseNamedSecrets, secretDigestOf } from './secret-token';

// Pure unit test: named secrets as configured in a file, and constant-time matching.

const WORKERS = 'workers-0123456789abcdef';
const GATEWAYS = 'gateways-0123456789abcdef';

describe('named secrets', () => {
  it('reads `<name>:<secret>` lines, names an unnamed one after its line, and skips comments', () => {
    const { secrets, problems } = parseNamedSecrets(['# cluster join tokens', `workers:${WORKERS}`, '', `  ${GATEWAYS}  `].join('\n'), 'FILE');
    assert.deepEqual(problems, []);
    assert.deepEqual(
      secrets.map((s) => [s.name, s.origin]),
      [
        ['workers', 'FILE line 2'],
        ['line-4', 'FILE line 4'],
      ],
    );
  });

  it('reports a short or spaced secret and an empty file by line, never quoting the secret', () => {
    const short = parseNamedSecrets('workers:abc\ngateways:has a space in it', 'FILE');
    assert.deepEqual(short.secrets, []);
    assert.match(short.problems[0] ?? '', /^FILE line 1: a token must be at least 16 characters/);
    assert.match(short.problems[1] ?? '', /^FILE line 2: a token cannot contain whitespace/);
    assert.ok(!short.problems.join('\n').includes('abc') && !short.problems.join('\n').includes('space in it'));
    assert.deepEqual(parseNamedSecrets('# nothing\n', 'FILE').problems, ['FILE: the file lists no token']);
  });

  it('finds every configured secret equal to the presented one, and none for another or a prefix', () => {
    const a = secretDigestOf(WORKERS, 'workers', 'A');
    const b = secretDigestOf(GATEWAYS, 'gateways', 'B');
    assert.ok(!('problem' in a) && !('problem' in b));
    assert.deepEqual(matchingSecrets(GATEWAYS, [a, b]).map((s) => s.name), ['gateways']);
    assert.deepEqual(matchingSecrets(WORKERS.slice(0, -1), [a, b]), []);
    assert.deepEqual(matchingSecrets('', [a, b]), []);
  });

  it('takes the token of a Bearer authorization only', () => {
    assert.equal(bearerTokenOf(`Bearer ${WORKERS}`), WORKERS);
    assert.equal(bearerTokenOf(`bearer   ${WORKERS} `), WORKERS);
    assert.equal(bearerTokenOf(`Basic ${WORKERS}`), undefined);
    assert.equal(bearerTokenOf(undefined), undefined);
  });
});
