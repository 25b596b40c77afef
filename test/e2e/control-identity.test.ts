import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ClientDuplexStream } from '@grpc/grpc-js';
import type { ControllerMessage, WorkerMessage } from '@infergraph/protocol';
import { ControlClient, GRPC_STATUS, OPEN_CONTROL_CLIENT, type ControlClientSecurity } from '@infergraph/transport-grpc';
import { startController, type RunningController } from '../support/controller.process';
import { goldenRows } from '../support/examples';
import { request, startGateway, type RunningGateway } from '../support/gateway.process';
import { describeFailures, startLoad } from '../support/load-generator';
import { repoPath } from '../support/repo';
import { startWorker, type RunningWorker } from '../support/worker.process';
import { until } from '../support/wait';

// End to end: who may join the control plane. A real controller, worker and gateway processes over real
// gRPC on loopback, with join tokens and then with mutual TLS from certificates made by `npm run certs`;
// intruders are raw control-plane clients: no credential, a wrong one, another CA, or a valid credential
// of another identity re-using a live worker's id to take over its traffic.

const GRAPHS_DIR = 'test/fixtures/graphs-faults';
const rows = goldenRows('iris-logreg').slice(0, 2);
const body = { inputs: [{ name: 'features', shape: [rows.length, 4], datatype: 'FP32', data: rows }] };

interface Status {
  workers: { id: string }[];
  graphs: { nodes: { key: string; replicas: { worker: string; state: string }[] }[] }[];
}

async function cluster(controller: RunningController): Promise<Status & { raw: string }> {
  const raw = await (await fetch(`${controller.base}/v1/cluster`)).text();
  return { ...(JSON.parse(raw) as Status), raw };
}

/** Waits for a line in a process's log: it travels over stdout, which may trail the gRPC answer. */
async function logged(output: () => string, pattern: RegExp): Promise<void> {
  for (let i = 0; i < 100 && !pattern.test(output()); i++) await new Promise((r) => setTimeout(r, 20));
  assert.match(output(), pattern);
}

const hello = (id: string, address: string, pool = 'cpu'): WorkerMessage => ({
  hello: { worker_id: id, pool, address, capacity: { cpu: 2, memory: String(2 * 1024 ** 3), gpu_count: 0, gpu_memory: '0' }, held: [], graphs: [], incarnation: 'intruder', draining: false },
});

/** Joins with `security`, says `message`, and reports how the controller answered within 3 s. */
async function joinAs(controller: RunningController, security: ControlClientSecurity, message: WorkerMessage): Promise<{ outcome: 'open' | 'assigned' | 'refused'; code?: number; details?: string }> {
  const client = new ControlClient(controller.control, security);
  const stream: ClientDuplexStream<WorkerMessage, ControllerMessage> = client.join();
  try {
    return await new Promise((resolve) => {
      const timer = setTimeout(() => resolve({ outcome: 'open' }), 3000);
      stream.on('data', () => {
        clearTimeout(timer);
        resolve({ outcome: 'assigned' });
      });
      stream.on('error', (err: Error & { code?: number; details?: string }) => {
        clearTimeout(timer);
        resolve({ outcome: 'refused', code: err.code, details: err.details ?? err.message });
      });
      stream.write(message);
    });
  } finally {
    stream.cancel();
    client.close();
  }
}

/** Opens WatchRoutes with `security` and reports the first thing that comes back. */
async function watchAs(controller: RunningController, security: ControlClientSecurity): Promise<{ code?: number; table?: boolean }> {
  const client = new ControlClient(controller.control, security);
  const stream = client.watchRoutes('test-watch');
  try {
    return await new Promise((resolve) => {
      stream.on('data', () => resolve({ table: true }));
      stream.on('error', (err: Error & { code?: number }) => resolve({ code: err.code }));
    });
  } finally {
    stream.cancel();
    client.close();
  }
}

describe('control plane identity with join tokens', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'infergraph-tokens-'));
  const tokens = { workers: 'workers-secret-1234', gateways: 'gateways-secret-22', intruder: 'intruder-secret-333' };
  let controller: RunningController;
  let worker: RunningWorker;
  let gateway: RunningGateway;

  before(async () => {
    writeFileSync(path.join(dir, 'cluster-tokens'), Object.entries(tokens).map(([name, t]) => `${name}:${t}`).join('\n') + '\n', { mode: 0o600 });
    controller = await startController(undefined, { GRAPHS_DIR, SYNC_WINDOW_MS: '200', CLUSTER_TOKENS_FILE: path.join(dir, 'cluster-tokens') });
    worker = await startWorker({ CONTROLLER: controller.control, CLUSTER_TOKEN: tokens.workers, WORKER_ID: 'w-a', WORKER_POOL: 'cpu', WORKER_CPU: '4', HEARTBEAT_MS: '200' });
    gateway = await startGateway({ GRAPHS_DIR, CONTROLLER: controller.control, CLUSTER_TOKEN: tokens.gateways });
    await until('the gateway ready', async () => (await request(gateway, 'GET', '/v2/health/ready')).status === 200);
  });
  after(async () => {
    await Promise.all([gateway?.stop(), worker?.kill()]);
    controller?.process.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves through workers and gateways that present a join token', async () => {
    const res = await request(gateway, 'POST', '/v2/models/iris-one/infer', body);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual((await cluster(controller)).workers.map((w) => w.id), ['w-a']);
  });

  it('refuses a join and a route watch without a token, or with a wrong one, as UNAUTHENTICATED, and logs them', async () => {
    for (const security of [OPEN_CONTROL_CLIENT, { token: 'not-a-configured-token', tls: undefined }]) {
      const joined = await joinAs(controller, security, hello('w-new', '127.0.0.1:1'));
      assert.equal(joined.outcome, 'refused');
      assert.equal(joined.code, GRPC_STATUS.UNAUTHENTICATED, joined.details);
      assert.equal((await watchAs(controller, security)).code, GRPC_STATUS.UNAUTHENTICATED);
    }
    await logged(() => controller.output(), /refused a control-plane Join call from .*join token/);
    await logged(() => controller.output(), /refused a control-plane WatchRoutes call/);
    assert.deepEqual((await cluster(controller)).workers.map((w) => w.id), ['w-a']);
  });

  it('refuses another identity re-using a live worker id: the worker keeps its routes and nothing reaches the intruder', async () => {
    const fake = '127.0.0.1:1';
    const taken = await joinAs(controller, { token: tokens.intruder, tls: undefined }, hello('w-a', fake));
    assert.equal(taken.outcome, 'refused');
    assert.equal(taken.code, GRPC_STATUS.PERMISSION_DENIED, taken.details);
    assert.match(taken.details ?? '', /worker id "w-a" is held by another identity/);
    await logged(() => controller.output(), /refused a hello for worker w-a from token:intruder: that id belongs to token:workers/);
    const status = await cluster(controller);
    assert.ok(!status.raw.includes(fake), 'the intruder address appears nowhere in the cluster status');
    for (let i = 0; i < 5; i++) assert.equal((await request(gateway, 'POST', '/v2/models/iris-one/infer', body)).status, 200);
  });

  it('lets the same credential join under a new id (ids are bound to identities, not tokens to one worker)', async () => {
    const joined = await joinAs(controller, { token: tokens.intruder, tls: undefined }, hello('w-intruder', '127.0.0.1:2', 'elsewhere'));
    assert.notEqual(joined.outcome, 'refused', joined.details);
  });

  it('loses no request when the controller is killed (-9) and restarted under load: the worker re-joins under its bound id', async () => {
    const load = startLoad(`${gateway.baseUrl}/v2/models/iris-one/infer`, 100, 6000, body);
    await new Promise((r) => setTimeout(r, 1000));
    controller.process.kill('SIGKILL');
    await new Promise((r) => setTimeout(r, 1500));
    controller = await startController(controller.ports, { GRAPHS_DIR, SYNC_WINDOW_MS: '200', CLUSTER_TOKENS_FILE: path.join(dir, 'cluster-tokens') });
    const summary = await load.done;
    assert.equal(summary.failures.length, 0, describeFailures(summary));
    await until('w-a re-joined the new controller', async () => (await cluster(controller)).workers.some((w) => w.id === 'w-a'));
    await logged(() => controller.output(), /worker w-a joined/);
    assert.doesNotMatch(controller.output(), /refused a hello/);
  });

  it('lets a worker killed (-9) and restarted with its own token take its id back, and serves again', async () => {
    await worker.kill();
    worker = await startWorker({ CONTROLLER: controller.control, CLUSTER_TOKEN: tokens.workers, WORKER_ID: 'w-a', WORKER_POOL: 'cpu', WORKER_CPU: '4', HEARTBEAT_MS: '200' });
    await until('iris-one served again', async () => (await request(gateway, 'POST', '/v2/models/iris-one/infer', body)).status === 200);
    assert.doesNotMatch(controller.output(), /refused a hello for worker w-a/);
  });

  it('keeps a worker without a token out and says why in its log', async () => {
    const outsider = await startWorker({ CONTROLLER: controller.control, WORKER_ID: 'w-b', WORKER_POOL: 'cpu', HEARTBEAT_MS: '200' });
    try {
      await until('the worker logs the refusal', () => Promise.resolve(/UNAUTHENTICATED/.test(outsider.output())), 10_000);
      assert.ok(!(await cluster(controller)).workers.some((w) => w.id === 'w-b'));
    } finally {
      await outsider.kill();
    }
  });
});

describe('control plane identity with mutual TLS (certificates from `npm run certs`)', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'infergraph-certs-'));
  const other = path.join(dir, 'other-ca');
  let controller: RunningController;
  let worker: RunningWorker;
  let gateway: RunningGateway;
  const tlsEnv = (name: string, at = dir): Record<string, string> => ({
    CONTROL_TLS_CA: path.join(at, 'ca.crt'),
    CONTROL_TLS_CERT: path.join(at, `${name}.crt`),
    CONTROL_TLS_KEY: path.join(at, `${name}.key`),
  });
  const tlsOf = (name: string, at = dir): ControlClientSecurity => ({
    token: undefined,
    tls: { ca: readFileSync(path.join(dir, 'ca.crt')), cert: readFileSync(path.join(at, `${name}.crt`)), key: readFileSync(path.join(at, `${name}.key`)) },
  });

  before(async () => {
    const certs = (out: string, ...names: string[]): string => execFileSync(process.execPath, [repoPath('scripts', 'certs.mjs'), '--out', out, ...names], { encoding: 'utf8' });
    certs(dir, 'controller', 'w-tls', 'gateway', 'intruder');
    certs(other, 'w-tls');
    controller = await startController(undefined, { GRAPHS_DIR, SYNC_WINDOW_MS: '200', ...tlsEnv('controller') });
    worker = await startWorker({ CONTROLLER: controller.control, WORKER_ID: 'w-tls', WORKER_POOL: 'cpu', WORKER_CPU: '4', HEARTBEAT_MS: '200', ...tlsEnv('w-tls') });
    gateway = await startGateway({ GRAPHS_DIR, CONTROLLER: controller.control, ...tlsEnv('gateway') });
    await until('the gateway ready', async () => (await request(gateway, 'GET', '/v2/health/ready')).status === 200);
  });
  after(async () => {
    await Promise.all([gateway?.stop(), worker?.kill()]);
    controller?.process.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves through a worker and a gateway with certificates of the cluster CA', async () => {
    const res = await request(gateway, 'POST', '/v2/models/iris-one/infer', body);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    await logged(() => controller.output(), /worker w-tls joined/);
  });

  it('admits no plaintext client and no certificate of another CA', async () => {
    const plain = await joinAs(controller, OPEN_CONTROL_CLIENT, hello('w-plain', '127.0.0.1:1'));
    assert.equal(plain.outcome, 'refused');
    assert.equal(plain.code, GRPC_STATUS.UNAVAILABLE, plain.details);
    const foreign = await joinAs(controller, tlsOf('w-tls', other), hello('w-tls', '127.0.0.1:1'));
    assert.equal(foreign.outcome, 'refused');
    assert.equal(foreign.code, GRPC_STATUS.UNAVAILABLE, foreign.details);
    assert.deepEqual((await cluster(controller)).workers.map((w) => w.id), ['w-tls']);
  });

  it('refuses a certificate of another subject re-using the worker id', async () => {
    const taken = await joinAs(controller, tlsOf('intruder'), hello('w-tls', '127.0.0.1:1'));
    assert.equal(taken.outcome, 'refused');
    assert.equal(taken.code, GRPC_STATUS.PERMISSION_DENIED, taken.details);
    await logged(() => controller.output(), /refused a hello for worker w-tls from cert:intruder: that id belongs to cert:w-tls/);
    assert.equal((await request(gateway, 'POST', '/v2/models/iris-one/infer', body)).status, 200);
  });
});
