import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ControlClient, GRPC_STATUS } from '@infergraph/transport-grpc';
import { freePort, freeStartClusterControlPort } from '../support/gateway.process';
import { repoPath } from '../support/repo';

// End to end: `npm run start:cluster` as a user runs it (the script, five real processes on loopback),
// checked for the secure default: development credentials made on first use, the admin API and the
// control plane closed to callers without them, and the example graphs served.

describe('npm run start:cluster runs with authentication on', () => {
  const devDir = mkdtempSync(path.join(tmpdir(), 'infergraph-dev-'));
  let cluster: ChildProcess;
  let out = '';
  let ports: { rest: number; admin: number; control: number };

  before(async () => {
    ports = { rest: await freePort(), admin: await freePort(), control: await freeStartClusterControlPort() };
    cluster = spawn(process.execPath, [repoPath('scripts', 'start-cluster.mjs')], {
      cwd: repoPath(),
      env: { ...process.env, PORT: String(ports.rest), GRPC_PORT: String(await freePort()), ADMIN_PORT: String(ports.admin), CONTROL_PORT: String(ports.control), INFERGRAPH_DEV_DIR: devDir },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    cluster.stdout?.on('data', (b: Buffer) => (out += b.toString()));
    cluster.stderr?.on('data', (b: Buffer) => (out += b.toString()));
    const deadline = performance.now() + 60_000;
    for (;;) {
      const res = await fetch(`http://127.0.0.1:${ports.rest}/v2/models/iris/ready`).catch(() => undefined);
      if (res?.status === 200) break;
      if (performance.now() > deadline || cluster.exitCode !== null) assert.fail(`the cluster did not serve iris within 60 s:\n${out.slice(-4000)}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  });
  after(async () => {
    if (cluster?.pid !== undefined && cluster.exitCode === null) {
      const exited = new Promise((r) => cluster.once('exit', r));
      process.kill(cluster.pid, 'SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      try {
        process.kill(-cluster.pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
    rmSync(devDir, { recursive: true, force: true });
  });

  it('makes its development credentials readable by the owner only', () => {
    for (const name of ['cluster-tokens', 'admin-token']) assert.equal(statSync(path.join(devDir, name)).mode & 0o077, 0, `${name} is private`);
    assert.match(out, /admin API: Authorization: Bearer \$\(cat .*admin-token\)/);
  });

  it('serves the example graphs through workers that joined with their tokens', async () => {
    const res = await fetch(`http://127.0.0.1:${ports.rest}/v2/models/iris/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ inputs: [{ name: 'features', shape: [1, 4], datatype: 'FP32', data: [5.1, 3.5, 1.4, 0.2] }] }),
    });
    assert.equal(res.status, 200, await res.text());
  });

  it('closes the admin API to callers without the generated token', async () => {
    const url = `http://127.0.0.1:${ports.admin}/v1/cluster`;
    assert.equal((await fetch(url)).status, 401);
    const token = readFileSync(path.join(devDir, 'admin-token'), 'utf8').trim();
    const status = (await (await fetch(url, { headers: { authorization: `Bearer ${token}` } })).json()) as { workers: { id: string }[] };
    assert.deepEqual(status.workers.map((w) => w.id).sort(), ['cpu-0', 'cpu-1', 'gpu-0']);
  });

  it('places 2 replicas of each node of the example iris graph, one on each CPU worker, by default', async () => {
    const token = readFileSync(path.join(devDir, 'admin-token'), 'utf8').trim();
    type Status = { graphs: { name: string; nodes: { key: string; wanted: number; replicas: { worker: string; state: string }[] }[] }[] };
    const deadline = performance.now() + 30_000;
    let iris: Status['graphs'][number] | undefined;
    for (;;) {
      const status = (await (await fetch(`http://127.0.0.1:${ports.admin}/v1/cluster`, { headers: { authorization: `Bearer ${token}` } })).json()) as Status;
      iris = status.graphs.find((g) => g.name === 'iris');
      if (iris !== undefined && iris.nodes.every((n) => n.replicas.filter((r) => r.state === 'READY').length === 2)) break;
      if (performance.now() > deadline) assert.fail(`iris has not 2 READY replicas per node: ${JSON.stringify(iris)}`);
      await new Promise((r) => setTimeout(r, 250));
    }
    assert.ok(iris.nodes.length > 0);
    for (const n of iris.nodes) {
      assert.equal(n.wanted, 2, n.key);
      assert.deepEqual(n.replicas.map((r) => r.worker).sort(), ['cpu-0', 'cpu-1'], n.key);
    }
  });

  it('closes the control plane to a client without a join token', async () => {
    const client = new ControlClient(`127.0.0.1:${ports.control}`);
    const stream = client.watchRoutes('outsider');
    const code = await new Promise<number | undefined>((resolve) => {
      stream.on('data', () => resolve(undefined));
      stream.on('error', (err: Error & { code?: number }) => resolve(err.code));
    });
    client.close();
    assert.equal(code, GRPC_STATUS.UNAUTHENTICATED);
  });
});
