import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { connect as tlsConnect, type PeerCertificate } from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { credentials, Metadata, type ServiceError } from '@grpc/grpc-js';
import { v2GrpcService } from '@infergraph/transport-grpc';
import { startGateway, type RunningGateway } from '../support/gateway.process';
import { repoPath } from '../support/repo';
import { waitFor } from '../support/wait';

// End to end: a real gateway process serving REST and V2 gRPC over TLS from certificate files made by
// `npm run certs`, checked with real TLS clients on loopback; then the files are renewed in place and the
// new certificate is served on both ports without a restart.

type Unary = (request: unknown, metadata: Metadata, callback: (err: ServiceError | null, response: unknown) => void) => void;

describe('gateway TLS on REST and V2 gRPC, renewed without a restart', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'infergraph-tls-'));
  const file = (name: string): string => path.join(dir, name);
  let gateway: RunningGateway;
  let ca: Buffer;
  const serialOf = (name: string): string => new X509Certificate(readFileSync(file(name))).serialNumber;

  /** GET over https trusting only the test CA: status, body and the certificate the server presented. */
  const get = (route: string): Promise<{ status: number; body: string; serial: string }> =>
    new Promise((resolve, reject) => {
      const req = httpsRequest(`${gateway.baseUrl}${route}`, { ca, agent: false }, (res) => {
        const peer = (res.socket as unknown as { getPeerCertificate(): PeerCertificate }).getPeerCertificate();
        let body = '';
        res.on('data', (b: Buffer) => (body += b.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, serial: peer.serialNumber }));
      });
      req.on('error', reject);
      req.end();
    });

  /** The certificate the gRPC port presents in its TLS handshake (ALPN h2, as a gRPC client). */
  const grpcSerial = (): Promise<string> =>
    new Promise((resolve, reject) => {
      const [host, port] = gateway.grpcAddress.split(':') as [string, string];
      const socket = tlsConnect({ host, port: Number(port), ca, ALPNProtocols: ['h2'], servername: 'localhost' }, () => {
        resolve(socket.getPeerCertificate().serialNumber);
        socket.destroy();
      });
      socket.on('error', reject);
    });

  const grpcCall = (method: string, request: unknown, creds = credentials.createSsl(ca)): Promise<unknown> => {
    const Service = v2GrpcService();
    const stub = new Service(gateway.grpcAddress, creds, { 'grpc.ssl_target_name_override': 'localhost', 'grpc.default_authority': 'localhost' }) as unknown as Record<string, Unary> & { close(): void };
    return new Promise<unknown>((resolve, reject) => {
      (stub[method] as Unary).call(stub, request, new Metadata(), (err, response) => (err ? reject(err) : resolve(response)));
    }).finally(() => stub.close());
  };

  before(async () => {
    execFileSync(process.execPath, [repoPath('scripts', 'certs.mjs'), '--out', dir, 'first', 'renewed'], { encoding: 'utf8' });
    ca = readFileSync(file('ca.crt'));
    copyFileSync(file('first.crt'), file('live.crt'));
    copyFileSync(file('first.key'), file('live.key'));
    gateway = await startGateway({ GRAPHS_DIR: 'graphs', TLS_CERT: file('live.crt'), TLS_KEY: file('live.key'), TLS_RELOAD_MS: '200' }, { waitReady: false });
    const deadline = performance.now() + 30_000;
    while ((await get('/v2/health/ready').catch(() => ({ status: 0 }))).status !== 200) {
      if (performance.now() > deadline) assert.fail(`the TLS gateway was not ready within 30 s:\n${gateway.output()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  });
  after(async () => {
    await gateway?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves REST over https with the configured certificate and refuses plain http on that port', async () => {
    assert.match(gateway.baseUrl, /^https:\/\//);
    const live = await get('/v2/health/live');
    assert.equal(live.status, 200);
    assert.equal(live.serial, serialOf('first.crt'));
    await assert.rejects(fetch(gateway.baseUrl.replace('https://', 'http://') + '/v2/health/live'));
  });

  it('serves V2 gRPC over TLS, and refuses a plaintext client', async () => {
    assert.deepEqual(await grpcCall('ServerLive', {}), { live: true });
    const infer = (await grpcCall('ModelInfer', { model_name: 'iris', inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 4], contents: { fp32_contents: [5.1, 3.5, 1.4, 0.2] } }] })) as { outputs: unknown[] };
    assert.ok(infer.outputs.length > 0);
    await assert.rejects(grpcCall('ServerLive', {}, credentials.createInsecure()), (err: ServiceError) => Number(err.code) === 14);
    assert.equal(await grpcSerial(), serialOf('first.crt'));
  });

  it('keeps serving the current certificate on both ports while a renewal is half done (the new key beside the old certificate)', async () => {
    // A renewal that replaces the two files one after the other, caught between them: the pair does not load.
    // Handshakes must go on with the current certificate (grpc-js's own file watcher handed the mismatched
    // pair to the gRPC port, whose handshakes then failed).
    copyFileSync(file('renewed.key'), file('next.key'));
    renameSync(file('next.key'), file('live.key'));
    const first = serialOf('first.crt');
    const until = performance.now() + 1000; // five reload intervals
    let handshakes = 0;
    while (performance.now() < until) {
      assert.equal((await get('/v2/health/live')).serial, first);
      assert.equal(await grpcSerial(), first);
      handshakes++;
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(handshakes >= 5);
    await waitFor('the gRPC port reporting the pair that does not load', () => Promise.resolve(gateway.output()), (out) => /the changed TLS files of the gRPC port do not load/.test(out), 5000);
  });

  it('serves a renewed certificate on both ports without a restart', async () => {
    // Renewal as a certificate manager does it: new files moved into place.
    copyFileSync(file('renewed.key'), file('next.key'));
    copyFileSync(file('renewed.crt'), file('next.crt'));
    renameSync(file('next.key'), file('live.key'));
    renameSync(file('next.crt'), file('live.crt'));
    const renewed = serialOf('renewed.crt');
    const deadline = performance.now() + 10_000;
    let seen = { rest: '', grpc: '' };
    while (seen.rest !== renewed || seen.grpc !== renewed) {
      if (performance.now() > deadline) assert.fail(`still serving ${JSON.stringify(seen)}, not ${renewed}, 10 s after the renewal:\n${gateway.output().slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 100));
      seen = { rest: (await get('/v2/health/live')).serial, grpc: await grpcSerial() };
    }
    assert.equal(gateway.process.exitCode, null, 'the same process');
    assert.match(gateway.output(), /reloaded the TLS certificate: subject CN=renewed/);
    assert.deepEqual(await grpcCall('ServerLive', {}), { live: true });
  });
});
