import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { oneModelGraphYaml } from '../support/graph-yaml';
import { startController, type RunningController } from '../support/controller.process';
import { freePort } from '../support/gateway.process';
import { repoPath } from '../support/repo';

// Authentication of the controller's admin API against real processes: each controller runs as an OS
// process on loopback and is called over real HTTP; GRAPHS_DIR, STATE_DIR and the tokens file are fresh
// directories and files under the OS temp dir, made here.

const ADMIN_TOKEN = 'admin-e2e-4f1c9b7a2d6e8f03';
const READ_TOKEN = 'read-e2e-9a8b7c6d5e4f3a2b';
const REALM = 'Bearer realm="infergraph-controller"';
const IRIS_MODEL = repoPath('models', 'iris-logreg', '1', 'model.onnx');

const graphYaml = (name: string): string => oneModelGraphYaml(name, IRIS_MODEL);

interface Answer {
  status: number;
  json: Record<string, unknown>;
  wwwAuthenticate: string | null;
}

async function call(base: string, method: string, route: string, token?: string, body?: string): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (token !== undefined) headers['authorization'] = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/yaml';
  const res = await fetch(`${base}${route}`, { method, headers, ...(body === undefined ? {} : { body }) });
  const text = await res.text();
  const json = res.headers.get('content-type')?.includes('json') === true && text !== '' ? (JSON.parse(text) as Record<string, unknown>) : {};
  return { status: res.status, json, wwwAuthenticate: res.headers.get('www-authenticate') };
}

async function stop(controller: RunningController | undefined): Promise<void> {
  const child = controller?.process;
  if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

/** Whether anything accepts TCP connections on the loopback port. */
async function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

describe('controller admin API authentication (ADMIN_TOKEN, ADMIN_READ_TOKEN)', () => {
  let root: string;
  let controller: RunningController;

  before(async () => {
    root = mkdtempSync(path.join(tmpdir(), 'infergraph-admin-auth-e2e-'));
    controller = await startController(undefined, {
      GRAPHS_DIR: root,
      STATE_DIR: path.join(root, 'state'),
      SYNC_WINDOW_MS: '0',
      ADMIN_TOKEN,
      ADMIN_READ_TOKEN: READ_TOKEN,
    });
  });

  after(async () => {
    await stop(controller);
    rmSync(root, { recursive: true, force: true });
  });

  it('answers 401 with a JSON error and a Bearer challenge when no token is sent', async () => {
    for (const [method, route] of [
      ['GET', '/v1/cluster'],
      ['GET', '/v1/graphs'],
      ['GET', '/metrics'],
      ['POST', '/v1/graphs'],
      ['DELETE', '/v1/graphs/anything'],
    ] as const) {
      const res = await call(controller.base, method, route);
      assert.equal(res.status, 401, `${method} ${route}`);
      assert.equal(res.wwwAuthenticate, REALM, `${method} ${route}`);
      assert.match(String(res.json['error']), /needs a bearer token.*ADMIN_TOKEN/, `${method} ${route}`);
    }
  });

  it('answers 401 to a wrong token and to a token sent without the Bearer scheme', async () => {
    const wrong = await call(controller.base, 'GET', '/v1/cluster', `${ADMIN_TOKEN}x`);
    assert.equal(wrong.status, 401);
    assert.equal(wrong.wwwAuthenticate, REALM);
    assert.match(String(wrong.json['error']), /not one of the controller's admin tokens/);
    const basic = await fetch(`${controller.base}/v1/cluster`, { headers: { authorization: `Basic ${ADMIN_TOKEN}` } });
    assert.equal(basic.status, 401);
  });

  it('lets a read token GET the cluster, the graphs and the metrics', async () => {
    assert.equal((await call(controller.base, 'GET', '/v1/cluster', READ_TOKEN)).status, 200);
    assert.deepEqual((await call(controller.base, 'GET', '/v1/graphs', READ_TOKEN)).json, { graphs: [] });
    const metrics = await fetch(`${controller.base}/metrics`, { headers: { authorization: `Bearer ${READ_TOKEN}` } });
    assert.equal(metrics.status, 200);
    assert.match(await metrics.text(), /infergraph_/);
  });

  it('answers 403 with a JSON error when a read token tries to change a graph', async () => {
    const post = await call(controller.base, 'POST', '/v1/graphs', READ_TOKEN, graphYaml('posted'));
    assert.equal(post.status, 403);
    assert.equal(post.wwwAuthenticate, null);
    assert.match(String(post.json['error']), /POST \/v1\/graphs needs an admin token; this token has the read scope/);
    assert.equal((await call(controller.base, 'PUT', '/v1/graphs/posted', READ_TOKEN, graphYaml('posted'))).status, 403);
    assert.equal((await call(controller.base, 'DELETE', '/v1/graphs/posted', READ_TOKEN)).status, 403);
    assert.deepEqual((await call(controller.base, 'GET', '/v1/graphs', ADMIN_TOKEN)).json, { graphs: [] }, 'nothing was stored');
  });

  it('lets the admin token post, list and delete a graph', async () => {
    const post = await call(controller.base, 'POST', '/v1/graphs', ADMIN_TOKEN, graphYaml('posted'));
    assert.equal(post.status, 201, JSON.stringify(post.json));
    assert.equal(post.json['name'], 'posted');
    const graphs = (await call(controller.base, 'GET', '/v1/graphs', ADMIN_TOKEN)).json['graphs'] as { name: string }[];
    assert.deepEqual(
      graphs.map((g) => g.name),
      ['posted'],
    );
    assert.equal((await call(controller.base, 'DELETE', '/v1/graphs/posted', ADMIN_TOKEN)).status, 200);
  });

  it('keeps /healthz open for liveness probes', async () => {
    const res = await call(controller.base, 'GET', '/healthz');
    assert.equal(res.status, 200);
    assert.deepEqual(res.json, { live: true });
  });

  it('never logs a token', () => {
    assert.ok(!controller.output().includes(ADMIN_TOKEN) && !controller.output().includes(READ_TOKEN));
    assert.ok(!controller.output().includes('admin API has no authentication'));
  });
});

describe('controller admin API authentication (ADMIN_TOKENS_FILE)', () => {
  let root: string;
  let controller: RunningController;
  const OLD = 'old-admin-0f1e2d3c4b5a6978';
  const NEW = 'new-admin-8796a5b4c3d2e1f0';
  const READER = 'file-reader-1029384756abcdef';

  before(async () => {
    root = mkdtempSync(path.join(tmpdir(), 'infergraph-admin-tokens-e2e-'));
    const file = path.join(root, 'tokens');
    writeFileSync(file, ['# rotation: both admin tokens work until the old one is removed', `admin:${OLD}`, '', NEW, `read:${READER}`, ''].join('\n'));
    controller = await startController(undefined, { GRAPHS_DIR: root, STATE_DIR: path.join(root, 'state'), SYNC_WINDOW_MS: '0', ADMIN_TOKENS_FILE: file });
  });

  after(async () => {
    await stop(controller);
    rmSync(root, { recursive: true, force: true });
  });

  it('accepts every token of the file in its scope, comments and blank lines skipped', async () => {
    for (const token of [OLD, NEW]) assert.equal((await call(controller.base, 'PUT', '/v1/graphs/filed', token, graphYaml('filed'))).status < 300, true, token.slice(0, 3));
    assert.equal((await call(controller.base, 'GET', '/v1/cluster', READER)).status, 200);
    assert.equal((await call(controller.base, 'DELETE', '/v1/graphs/filed', READER)).status, 403);
    assert.equal((await call(controller.base, 'GET', '/v1/cluster', '# rotation:')).status, 401);
  });
});

describe('controller admin API without a token', () => {
  it('serves a loopback HOST without authentication and warns once at start', async () => {
    const root = mkdtempSync(path.join(tmpdir(), 'infergraph-admin-open-e2e-'));
    const controller = await startController(undefined, { GRAPHS_DIR: root, STATE_DIR: path.join(root, 'state'), SYNC_WINDOW_MS: '0' });
    try {
      assert.equal((await call(controller.base, 'GET', '/v1/cluster')).status, 200);
      assert.equal((await call(controller.base, 'POST', '/v1/graphs', undefined, graphYaml('open'))).status, 201);
      const warnings = controller.output().split('\n').filter((l) => l.includes('admin API has no authentication; bound to loopback only'));
      assert.equal(warnings.length, 1, controller.output());
    } finally {
      await stop(controller);
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('refuses to start on a non-loopback HOST, naming ADMIN_TOKEN and ADMIN_TOKENS_FILE, and never listens', async () => {
    const root = mkdtempSync(path.join(tmpdir(), 'infergraph-admin-refused-e2e-'));
    const [port, controlPort] = [await freePort(), await freePort()];
    const env: Record<string, string | undefined> = { ...process.env, HOST: '0.0.0.0', PORT: String(port), CONTROL_PORT: String(controlPort), GRAPHS_DIR: root, STATE_DIR: path.join(root, 'state') };
    for (const name of ['ADMIN_TOKEN', 'ADMIN_READ_TOKEN', 'ADMIN_TOKENS_FILE']) delete env[name];
    const child = spawn(process.execPath, [repoPath('dist', 'apps', 'controller', 'src', 'main.js')], { cwd: repoPath(), env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (out += b.toString()));
    const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
    clearTimeout(killer);
    try {
      assert.equal(code, 1, out);
      assert.match(out, /HOST="0\.0\.0\.0": the admin API would be reachable without authentication; set ADMIN_TOKEN \(or ADMIN_TOKENS_FILE\)/);
      assert.ok(!out.includes('controller admin API on'), out);
      assert.equal(await listening(port), false, 'the admin port was never opened');
      assert.equal(await listening(controlPort), false, 'the control port was never opened');
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('refuses to start with a short token and does not print it', async () => {
    const root = mkdtempSync(path.join(tmpdir(), 'infergraph-admin-short-e2e-'));
    const child = spawn(process.execPath, [repoPath('dist', 'apps', 'controller', 'src', 'main.js')], {
      cwd: repoPath(),
      env: { ...process.env, HOST: '127.0.0.1', PORT: String(await freePort()), CONTROL_PORT: String(await freePort()), GRAPHS_DIR: root, STATE_DIR: path.join(root, 'state'), ADMIN_TOKEN: 'hunter2' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (out += b.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
    rmSync(root, { recursive: true, force: true });
    assert.equal(code, 1, out);
    assert.match(out, /ADMIN_TOKEN: a token must be at least 16 characters/);
    assert.ok(!out.includes('hunter2'), out);
  });
});
