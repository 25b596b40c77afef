import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { goldenRows } from '../support/examples';
import { request, startGateway, type RunningGateway } from '../support/gateway.process';
import { repoPath } from '../support/repo';
import { startWorker, type RunningWorker } from '../support/worker.process';

// End to end: node calls between a real gateway and a real worker process under mutual TLS (NODE_TLS_*,
// certificates from `npm run certs`): served with certificates of the cluster CA; a gateway without a
// certificate, or with one of another CA, reaches no node; workers sharing one certificate of a name that
// is not their address (pods) are reached when the gateway checks that name (NODE_TLS_SERVER_NAME).

describe('mutual TLS on node calls between gateway and worker', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'infergraph-node-tls-'));
  const other = path.join(dir, 'other-ca');
  const GRAPHS_DIR = 'test/fixtures/graphs-faults';
  const rows = goldenRows('iris-logreg').slice(0, 2);
  const body = { inputs: [{ name: 'features', shape: [rows.length, 4], datatype: 'FP32', data: rows }] };
  const tlsEnv = (name: string, at = dir): Record<string, string> => ({
    NODE_TLS_CA: path.join(dir, 'ca.crt'),
    NODE_TLS_CERT: path.join(at, `${name}.crt`),
    NODE_TLS_KEY: path.join(at, `${name}.key`),
  });
  let worker: RunningWorker;
  const gateways: RunningGateway[] = [];
  const gateway = async (env: Record<string, string>): Promise<RunningGateway> => {
    const g = await startGateway({ GRAPHS_DIR, NODE_TRANSPORT: 'grpc', WORKERS: worker.address, ...env });
    gateways.push(g);
    return g;
  };

  before(async () => {
    const certs = (out: string, ...names: string[]): string => execFileSync(process.execPath, [repoPath('scripts', 'certs.mjs'), '--out', out, ...names], { encoding: 'utf8' });
    certs(dir, 'worker', 'gateway');
    certs(other, 'gateway');
    worker = await startWorker({ GRAPHS_DIR, ...tlsEnv('worker') });
  });
  after(async () => {
    await Promise.all([...gateways.map((g) => g.stop()), worker?.kill()]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves node calls for a gateway with a certificate of the cluster CA', async () => {
    const g = await gateway(tlsEnv('gateway'));
    const res = await request(g, 'POST', '/v2/models/iris-one/infer', body);
    assert.equal(res.status, 200, JSON.stringify(res.body));
  });

  it('lets a gateway without a certificate, or with one of another CA, reach no node', async () => {
    for (const env of [{}, tlsEnv('gateway', other)]) {
      const g = await gateway(env);
      const res = await request(g, 'POST', '/v2/models/iris-one/infer', body);
      assert.equal(res.status, 503, JSON.stringify(res.body));
      assert.match((res.body as { error: string }).error, /no worker replica answered/);
    }
    assert.equal(worker.process.exitCode, null, 'the worker keeps serving');
  });

  it('reaches a worker whose certificate names a shared name, not its address, when the gateway checks that name', async () => {
    // The same CA; the worker's certificate carries only DNS:infergraph-worker (as pods of a pool share one).
    execFileSync(process.execPath, [repoPath('scripts', 'certs.mjs'), '--out', dir, '--hosts', 'infergraph-worker', 'pod-worker'], { encoding: 'utf8' });
    const pod = await startWorker({ GRAPHS_DIR, ...tlsEnv('pod-worker') });
    try {
      const at = (env: Record<string, string>): Promise<RunningGateway> =>
        startGateway({ GRAPHS_DIR, NODE_TRANSPORT: 'grpc', WORKERS: pod.address, ...tlsEnv('gateway'), ...env }).then((g) => (gateways.push(g), g));
      const named = await at({ NODE_TLS_SERVER_NAME: 'infergraph-worker' });
      assert.equal((await request(named, 'POST', '/v2/models/iris-one/infer', body)).status, 200);
      // Checked against the address (127.0.0.1), the same certificate does not pass.
      const byAddress = await at({});
      const refused = await request(byAddress, 'POST', '/v2/models/iris-one/infer', body);
      assert.equal(refused.status, 503, JSON.stringify(refused.body));
      const otherName = await at({ NODE_TLS_SERVER_NAME: 'someone-else' });
      assert.equal((await request(otherName, 'POST', '/v2/models/iris-one/infer', body)).status, 503);
    } finally {
      await pod.kill();
    }
  });
});
