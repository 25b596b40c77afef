import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { parseApiKeysFile, predictAuthFrom } from './predict-auth.config';

// Unit test of predict credentials configuration (real files in a temporary directory); no server.

const dir = mkdtempSync(path.join(tmpdir(), 'infergraph-predict-config-'));
const digest = createHash('sha256').update('alice-key-0123456789abcdef').digest('hex');

describe('predict authentication configuration', () => {
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('reads hashed API keys with their subjects, and refuses a plain key by line without quoting it', () => {
    const { keys, problems } = parseApiKeysFile(`# keys\nalice:sha256:${digest}\nbob:plain-secret-key-123\n`, 'FILE');
    assert.deepEqual(keys.map((k) => [k.name, k.digest.toString('hex')]), [['alice', digest]]);
    assert.equal(problems.length, 1);
    assert.match(problems[0] ?? '', /^FILE line 3: expected <subject>:sha256:<64 lower-case hex digits>/);
    assert.ok(!problems[0]?.includes('plain-secret'));
  });

  it('needs an issuer and an audience with a JWKS, and https for a remote JWKS', () => {
    writeFileSync(path.join(dir, 'jwks.json'), JSON.stringify({ keys: [{ kty: 'EC', crv: 'P-256', x: 'x', y: 'y' }] }));
    const bare = predictAuthFrom({ PREDICT_JWKS_FILE: 'jwks.json' }, dir);
    assert.deepEqual(bare.problems.map((p) => p.split(' ')[0]), ['PREDICT_JWT_ISSUER', 'PREDICT_JWT_AUDIENCE']);
    assert.equal(bare.settings.jwt, undefined);
    const remote = predictAuthFrom({ PREDICT_JWKS_URL: 'http://idp.example/jwks', PREDICT_JWT_ISSUER: 'i', PREDICT_JWT_AUDIENCE: 'a' }, dir);
    assert.match(remote.problems[0] ?? '', /must be https:\/\/ \(plain http only on a loopback host\)/);
    const local = predictAuthFrom({ PREDICT_JWKS_URL: 'http://127.0.0.1:9999/jwks', PREDICT_JWT_ISSUER: 'i', PREDICT_JWT_AUDIENCE: 'a' }, dir);
    assert.deepEqual(local.problems, []);
    assert.deepEqual(local.settings.jwt?.jwks, { url: 'http://127.0.0.1:9999/jwks' });
  });

  it('reports a JWKS file that is not a key set, and both JWKS sources at once', () => {
    writeFileSync(path.join(dir, 'empty.json'), '{"keys": []}');
    assert.match(predictAuthFrom({ PREDICT_JWKS_FILE: 'empty.json', PREDICT_JWT_ISSUER: 'i', PREDICT_JWT_AUDIENCE: 'a' }, dir).problems[0] ?? '', /not a JWKS/);
    assert.deepEqual(predictAuthFrom({ PREDICT_JWKS_FILE: 'a', PREDICT_JWKS_URL: 'https://b' }, dir).problems, ['PREDICT_JWKS_FILE and PREDICT_JWKS_URL are both set: choose one']);
  });
});
