import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ServiceError } from '@grpc/grpc-js';
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey } from 'jose';
import { V2GrpcClient } from '../support/grpc-client';
import { request, startGateway, type RunningGateway } from '../support/gateway.process';
import { startWorker, type RunningWorker } from '../support/worker.process';

// End to end: authentication on predict. A real gateway process serves graphs with `spec.auth` (required
// with a subject allow-list, optional) and one without, over real HTTP and gRPC on loopback; API keys are
// stored hashed in a file, JWTs are signed here with a key whose public half is the gateway's JWKS file.
// Then OPS_TOKEN on the operator endpoints of a real gateway and worker.

const ISSUER = 'https://idp.test';
const AUDIENCE = 'infergraph-test';
const KEYS = { alice: 'alice-key-0123456789abcdef', carol: 'carol-key-0123456789abcdef' };
const body = { inputs: [{ name: 'features', shape: [1, 4], datatype: 'FP32', data: [5.1, 3.5, 1.4, 0.2] }] };
const infer = (graph: string): string => `/v2/models/${graph}/infer`;
const sha256 = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');

describe('authentication on predict (API keys, JWT against a JWKS)', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'infergraph-predict-auth-'));
  let gateway: RunningGateway;
  let signing: CryptoKey;
  let stranger: CryptoKey;
  const jwt = async (claims: Record<string, unknown>, options: { key?: CryptoKey; audience?: string; expiresIn?: string | number } = {}): Promise<string> =>
    new SignJWT(claims)
      .setProtectedHeader({ alg: 'ES256', kid: 'test-1' })
      .setIssuer(ISSUER)
      .setAudience(options.audience ?? AUDIENCE)
      .setIssuedAt()
      .setExpirationTime(options.expiresIn ?? '5m')
      .sign(options.key ?? signing);

  before(async () => {
    const pair = await generateKeyPair('ES256');
    signing = pair.privateKey;
    stranger = (await generateKeyPair('ES256')).privateKey;
    writeFileSync(path.join(dir, 'jwks.json'), JSON.stringify({ keys: [{ ...(await exportJWK(pair.publicKey)), kid: 'test-1', alg: 'ES256', use: 'sig' }] }));
    writeFileSync(path.join(dir, 'api-keys'), `# predict keys\nalice:sha256:${sha256(KEYS.alice)}\ncarol:sha256:${sha256(KEYS.carol)}\n`);
    gateway = await startGateway({
      GRAPHS_DIR: 'test/fixtures/graphs-auth',
      LOG_LEVEL: 'debug',
      PREDICT_API_KEYS_FILE: path.join(dir, 'api-keys'),
      PREDICT_JWKS_FILE: path.join(dir, 'jwks.json'),
      PREDICT_JWT_ISSUER: ISSUER,
      PREDICT_JWT_AUDIENCE: AUDIENCE,
    });
  });
  after(async () => {
    await gateway?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers 401 with a Bearer challenge and a message naming the graph when no credential comes', async () => {
    const res = await request(gateway, 'POST', infer('iris-private'), body);
    assert.equal(res.status, 401, JSON.stringify(res.body));
    assert.equal(res.headers.get('www-authenticate'), 'Bearer realm="infergraph"');
    assert.match((res.body as { error: string }).error, /graph "iris-private" requires an API key \(x-api-key header\) or a JWT/);
  });

  it('answers 401 invalid_token for a wrong API key, and serves a valid one, routing by the authenticated subject', async () => {
    const wrong = await request(gateway, 'POST', infer('iris-private'), body, { 'x-api-key': 'not-a-key-0123456789' });
    assert.equal(wrong.status, 401);
    assert.equal(wrong.headers.get('www-authenticate'), 'Bearer realm="infergraph", error="invalid_token"');
    assert.ok(!JSON.stringify(wrong.body).includes('not-a-key'), 'the answer does not echo the key');
    const ok = await request(gateway, 'POST', infer('iris-private'), body, { 'x-api-key': KEYS.alice });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.equal(ok.headers.get('x-infergraph-route'), 'pick=forest');
    const asBearer = await request(gateway, 'POST', infer('iris-private'), body, { authorization: `Bearer ${KEYS.alice}` });
    assert.equal(asBearer.status, 200, 'an API key may come as a bearer token too');
  });

  it('answers 403 to an authenticated subject the graph does not list', async () => {
    const res = await request(gateway, 'POST', infer('iris-private'), body, { 'x-api-key': KEYS.carol });
    assert.equal(res.status, 403, JSON.stringify(res.body));
    assert.match((res.body as { error: string }).error, /subject "carol" may not call graph "iris-private"/);
  });

  it('serves a valid JWT as its subject, and refuses one expired, for another audience, or signed by another key', async () => {
    const ok = await request(gateway, 'POST', infer('iris-private'), body, { authorization: `Bearer ${await jwt({ sub: 'bob' })}` });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.equal(ok.headers.get('x-infergraph-route'), 'pick=logreg');
    const refused: [string, string, RegExp][] = [
      ['expired', await jwt({ sub: 'bob' }, { expiresIn: Math.floor(Date.now() / 1000) - 3600 }), /has expired/],
      ['another audience', await jwt({ sub: 'bob' }, { audience: 'someone-else' }), /claim "aud" is not valid/],
      ['another key', await jwt({ sub: 'bob' }, { key: stranger }), /signature does not verify/],
      ['no subject', await jwt({}), /no "sub" claim/],
    ];
    for (const [what, token, message] of refused) {
      const res = await request(gateway, 'POST', infer('iris-private'), body, { authorization: `Bearer ${token}` });
      assert.equal(res.status, 401, `${what}: ${JSON.stringify(res.body)}`);
      assert.match((res.body as { error: string }).error, message, what);
      assert.equal(res.headers.get('www-authenticate'), 'Bearer realm="infergraph", error="invalid_token"');
    }
  });

  it('lets no client claim a subject by sending the gateway’s own headers', async () => {
    const spoof = { 'x-infergraph-subject': 'alice', 'x-infergraph-auth': 'jwt' };
    const open = await request(gateway, 'POST', infer('iris-open'), body, spoof);
    assert.equal(open.status, 200, JSON.stringify(open.body));
    assert.equal(open.headers.get('x-infergraph-route'), 'pick=logreg', 'the spoofed subject is not seen by the router');
    const closed = await request(gateway, 'POST', infer('iris-private'), body, spoof);
    assert.equal(closed.status, 401);
  });

  it('serves anonymous callers of a graph with optional auth, but refuses a bad credential there', async () => {
    assert.equal((await request(gateway, 'POST', infer('iris-optional'), body)).status, 200);
    assert.equal((await request(gateway, 'POST', infer('iris-optional'), body, { 'x-api-key': 'wrong-key-0123456789' })).status, 401);
    const alice = await request(gateway, 'POST', infer('iris-optional'), body, { 'x-api-key': KEYS.alice });
    assert.equal(alice.headers.get('x-infergraph-route'), 'pick=forest');
  });

  it('applies the same rules on V2 gRPC: UNAUTHENTICATED without a credential, served with one', async () => {
    const client = new V2GrpcClient(gateway.grpcAddress);
    try {
      const request = { model_name: 'iris-private', inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 4], contents: { fp32_contents: [5.1, 3.5, 1.4, 0.2] } }] };
      await assert.rejects(client.call('ModelInfer', request), (err: ServiceError) => {
        assert.equal(err.code, 16);
        assert.match(err.details, /requires an API key/);
        return true;
      });
      await assert.rejects(client.call('ModelInfer', request, { 'x-api-key': KEYS.carol }), (err: ServiceError) => Number(err.code) === 7);
      const ok = await client.call<{ parameters: Record<string, { string_param?: string }> }>('ModelInfer', request, { 'x-api-key': KEYS.alice });
      assert.equal(ok.parameters['route']?.string_param, 'pick=forest');
    } finally {
      client.close();
    }
  });

  it('writes the authenticated subject into the request log', async () => {
    await request(gateway, 'POST', infer('iris-private'), body, { 'x-api-key': KEYS.alice });
    for (let i = 0; i < 50 && !/"graph":"iris-private".*"subject":"alice"/.test(gateway.output()); i++) await new Promise((r) => setTimeout(r, 20));
    assert.match(gateway.output(), /"graph":"iris-private".*"subject":"alice"/);
  });
});

describe('operator endpoints with OPS_TOKEN', () => {
  const OPS = 'ops-token-0123456789abcdef';
  let gateway: RunningGateway;
  let worker: RunningWorker;
  before(async () => {
    [gateway, worker] = await Promise.all([startGateway({ GRAPHS_DIR: 'test/fixtures/graphs-auth', OPS_TOKEN: OPS }), startWorker({ GRAPHS_DIR: 'test/fixtures/graphs-auth', OPS_TOKEN: OPS })]);
  });
  after(async () => {
    await Promise.all([gateway?.stop(), worker?.kill()]);
  });

  it('closes /metrics and /v1/* of the gateway and /metrics of a worker to callers without the token', async () => {
    for (const route of ['/metrics', '/v1/graphs', '/v1/kafka']) {
      const res = await request(gateway, 'GET', route);
      assert.equal(res.status, 401, route);
      assert.equal(res.headers.get('www-authenticate'), 'Bearer realm="infergraph-ops"', route);
      assert.equal((await request(gateway, 'GET', route, undefined, { authorization: 'Bearer not-the-ops-token-123' })).status, 401, route);
      assert.equal((await request(gateway, 'GET', route, undefined, { authorization: `Bearer ${OPS}` })).status, 200, route);
    }
    const scrape = `${worker.metricsUrl ?? ''}/metrics`;
    assert.equal((await fetch(scrape)).status, 401);
    const ok = await fetch(scrape, { headers: { authorization: `Bearer ${OPS}` } });
    assert.equal(ok.status, 200);
    assert.match(await ok.text(), /# TYPE /);
  });

  it('keeps probes and the V2 API open to them', async () => {
    assert.equal((await request(gateway, 'GET', '/v2/health/live')).status, 200);
    assert.equal((await request(gateway, 'GET', '/v2/models/iris-open')).status, 200);
    assert.equal((await request(gateway, 'POST', infer('iris-open'), body)).status, 200);
    assert.equal((await fetch(`${worker.metricsUrl ?? ''}/healthz`)).status, 200);
  });
});
