import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { Metadata, status } from '@grpc/grpc-js';
import { controlClientSecurityFrom, controlServerSecurityFrom, identifyControlCaller } from './control-security';

// Unit test of the control plane's credential rules: configuration from the environment (real files in a
// temporary directory) and who a caller is from its metadata and TLS peer; no server, no network.

const TOKEN = 'workers-0123456789abcdef';
const dir = mkdtempSync(path.join(tmpdir(), 'infergraph-control-security-'));
const file = (name: string, text: string): string => {
  writeFileSync(path.join(dir, name), text);
  return name;
};
const withToken = (token: string | undefined): Metadata => {
  const m = new Metadata();
  if (token !== undefined) m.set('authorization', `Bearer ${token}`);
  return m;
};

describe('control plane security', () => {
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('reads accepted tokens from CLUSTER_TOKEN and CLUSTER_TOKENS_FILE, with their names', () => {
    const { security, problems } = controlServerSecurityFrom({ CLUSTER_TOKEN: `${TOKEN}\n`, CLUSTER_TOKENS_FILE: file('tokens', 'gateways:gateways-0123456789abcdef\n') }, dir);
    assert.deepEqual(problems, []);
    assert.deepEqual(security.tokens.map((t) => t.name), ['cluster', 'gateways']);
    assert.equal(security.tls, undefined);
  });

  it('lists every problem: a short token, an unreadable file, TLS files missing or not PEM, two token sources', () => {
    const server = controlServerSecurityFrom({ CLUSTER_TOKEN: 'short', CLUSTER_TOKENS_FILE: 'missing', CONTROL_TLS_CA: file('ca.pem', 'not pem'), CONTROL_TLS_CERT: 'x' }, dir);
    assert.equal(server.problems.length, 3, server.problems.join('\n'));
    assert.match(server.problems[0] ?? '', /^CLUSTER_TOKEN: a token must be at least 16 characters/);
    assert.match(server.problems[1] ?? '', /^CLUSTER_TOKENS_FILE="missing": cannot read it/);
    assert.match(server.problems[2] ?? '', /CONTROL_TLS_CA, CONTROL_TLS_CERT set without CONTROL_TLS_KEY/);
    const pem = controlServerSecurityFrom({ CONTROL_TLS_CA: 'ca.pem', CONTROL_TLS_CERT: 'ca.pem', CONTROL_TLS_KEY: 'ca.pem' }, dir);
    assert.match(pem.problems[0] ?? '', /^CONTROL_TLS_CA="ca.pem": not a PEM file/);
    const client = controlClientSecurityFrom({ CLUSTER_TOKEN: TOKEN, CLUSTER_TOKEN_FILE: file('token', TOKEN) }, dir);
    assert.deepEqual(client.problems, ['CLUSTER_TOKEN and CLUSTER_TOKEN_FILE are both set: choose one']);
    assert.equal(controlClientSecurityFrom({ CLUSTER_TOKEN_FILE: 'token' }, dir).security.token, TOKEN);
  });

  it('names a caller by its token, its certificate subject, or both; anonymous when nothing is configured', () => {
    const tokens = controlServerSecurityFrom({ CLUSTER_TOKENS_FILE: file('named', `workers:${TOKEN}\n`) }, dir).security;
    assert.deepEqual(identifyControlCaller(tokens, withToken(TOKEN), {}), { identity: 'token:workers' });
    const tls = { ca: Buffer.from(''), cert: Buffer.from(''), key: Buffer.from('') };
    assert.deepEqual(identifyControlCaller({ tokens: tokens.tokens, tls }, withToken(TOKEN), { sslPeerCertificate: { subject: { CN: 'w-1' } } }), { identity: 'cert:w-1+token:workers' });
    assert.deepEqual(identifyControlCaller({ tokens: [], tls: undefined }, withToken(undefined), {}), { identity: 'anonymous' });
  });

  it('refuses a missing or wrong token and a certificate without a subject as UNAUTHENTICATED', () => {
    const tokens = controlServerSecurityFrom({ CLUSTER_TOKEN: TOKEN }, dir).security;
    for (const presented of [undefined, 'workers-0123456789abcdeX']) {
      const caller = identifyControlCaller(tokens, withToken(presented), {});
      assert.ok('refused' in caller, JSON.stringify(caller));
      assert.equal(caller.refused.code, Number(status.UNAUTHENTICATED));
    }
    const tls = { ca: Buffer.from(''), cert: Buffer.from(''), key: Buffer.from('') };
    const caller = identifyControlCaller({ tokens: [], tls }, withToken(undefined), { sslPeerCertificate: { subject: {} } });
    assert.ok('refused' in caller && /client certificate with a subject CN/.test(caller.refused.details));
  });
});
