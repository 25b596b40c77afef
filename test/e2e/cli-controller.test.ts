import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runInfergraph } from '../support/cli.process';
import { startController, type RunningController } from '../support/controller.process';
import { oneModelGraphYaml } from '../support/graph-yaml';
import { repoPath } from '../support/repo';
import { startWorker, type RunningWorker } from '../support/worker.process';

// `infergraph apply|get|status|delete` as real subprocesses against a real controller process (admin token on)
// and, for readiness, a real worker process on loopback; graph files are written to a temp directory here.

const ADMIN_TOKEN = 'cli-e2e-admin-token-7c41d09e';
const MODEL = repoPath('models', 'iris-logreg', '1', 'model.onnx');

describe('infergraph controller commands', () => {
  let dir: string;
  let controller: RunningController;
  let worker: RunningWorker | undefined;
  let env: Record<string, string>;

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'infergraph-cli-controller-'));
    const graphsDir = path.join(dir, 'graphs');
    mkdirSync(graphsDir);
    writeFileSync(path.join(dir, 'cli-one.yaml'), oneModelGraphYaml('cli-one', MODEL));
    writeFileSync(path.join(dir, 'broken.yml'), oneModelGraphYaml('cli-broken', MODEL).replace('type: model', 'type: modle'));
    controller = await startController(undefined, { GRAPHS_DIR: graphsDir, MODEL_ROOTS: repoPath(), ADMIN_TOKEN });
    env = { INFERGRAPH_CONTROLLER: controller.base };
  });
  after(async () => {
    await worker?.kill();
    controller.process.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses without a token (exit 1, saying how to pass one), and takes it from a flag, INFERGRAPH_TOKEN or the config file', async () => {
    const none = await runInfergraph(['get', 'graphs'], { env });
    assert.equal(none.code, 1);
    assert.match(none.stderr, /401 .*--token or set INFERGRAPH_TOKEN/);
    const config = path.join(dir, 'config.json');
    writeFileSync(config, JSON.stringify({ controller: controller.base, token: ADMIN_TOKEN }));
    for (const r of [
      await runInfergraph(['get', 'graphs', '--token', ADMIN_TOKEN], { env }),
      await runInfergraph(['get', 'graphs'], { env: { ...env, INFERGRAPH_TOKEN: ADMIN_TOKEN } }),
      await runInfergraph(['get', 'graphs', '--json'], { env: { INFERGRAPH_CONFIG: config } }),
    ]) {
      assert.equal(r.code, 0, r.stderr);
    }
    const broken = path.join(dir, 'bad-config.json');
    writeFileSync(broken, JSON.stringify({ controler: 'x' }));
    const bad = await runInfergraph(['get', 'graphs'], { env: { INFERGRAPH_CONFIG: broken } });
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /bad-config\.json.*controler/);
  });

  it('applies valid graphs, names the refused one with the controller\'s reason, and exits 1', async () => {
    const r = await runInfergraph(['apply', path.join(dir, 'cli-one.yaml'), path.join(dir, 'broken.yml')], { env: { ...env, INFERGRAPH_TOKEN: ADMIN_TOKEN } });
    assert.equal(r.code, 1);
    assert.match(r.stdout, /^graph cli-one created from .*cli-one\.yaml$/m);
    assert.match(r.stderr, /refused .*broken\.yml \(graph cli-broken\): PUT .*: 400 .*modle/);
    const again = await runInfergraph(['apply', path.join(dir, 'cli-one.yaml')], { env: { ...env, INFERGRAPH_TOKEN: ADMIN_TOKEN } });
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /^graph cli-one replaced/m);
    const listed = await runInfergraph(['get', 'graphs', '--json'], { env: { ...env, INFERGRAPH_TOKEN: ADMIN_TOKEN } });
    const graphs = (JSON.parse(listed.stdout) as { graphs: { name: string; state: string; source: string }[] }).graphs;
    assert.deepEqual(graphs.map((g) => [g.name, g.state, g.source]), [['cli-one', 'valid', 'api']]);
  });

  it('status --wait prints progress while no worker holds the replica, and exits 0 once a worker has it READY', async () => {
    const auth = { ...env, INFERGRAPH_TOKEN: ADMIN_TOKEN };
    const before = await runInfergraph(['status', 'cli-one', '--json'], { env: auth });
    assert.equal(before.code, 0, before.stderr);
    assert.equal((JSON.parse(before.stdout) as { ready: boolean }).ready, false, 'no worker yet: not ready');
    const waiting = spawn(process.execPath, [repoPath('bin', 'infergraph.mjs'), 'status', 'cli-one', '--wait', '--timeout', '60'], {
      cwd: repoPath(),
      env: { ...process.env, INFERGRAPH_CONFIG: '', XDG_CONFIG_HOME: '/nonexistent', ...auth },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    waiting.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    waiting.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const exited = new Promise<number | null>((resolve) => waiting.once('exit', (code) => resolve(code)));
    // The worker starts only once the command has said it is waiting: the progress line is certain.
    while (!stderr.includes('waiting for cli-one: 0/1 replicas ready')) {
      if (waiting.exitCode !== null) assert.fail(`status --wait exited early: ${stdout}${stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    worker = await startWorker({ CONTROLLER: controller.control, WORKER_ID: 'cli-a', HEARTBEAT_MS: '200', MODEL_ROOTS: repoPath() });
    assert.equal(await exited, 0, stderr);
    assert.match(stdout, /^graph cli-one: valid/m);
    assert.match(stdout, /^cli-one\.clf +1\/1 +0@cli-a:READY/m);
    const cluster = await runInfergraph(['get', 'cluster'], { env: auth });
    assert.equal(cluster.code, 0, cluster.stderr);
    assert.match(cluster.stdout, /^cli-a /m);
  });

  it('deletes a posted graph; deleting it again or an unknown graph\'s status exits 1', async () => {
    const auth = { ...env, INFERGRAPH_TOKEN: ADMIN_TOKEN };
    const r = await runInfergraph(['delete', 'cli-one'], { env: auth });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /graph cli-one deleted/);
    const again = await runInfergraph(['delete', 'cli-one'], { env: auth });
    assert.equal(again.code, 1);
    assert.match(again.stderr, /404/);
    const status = await runInfergraph(['status', 'cli-one'], { env: auth });
    assert.equal(status.code, 1);
    assert.match(status.stderr, /no graph "cli-one"/);
    const listed = await runInfergraph(['get', 'graphs', '--json'], { env: auth });
    assert.deepEqual((JSON.parse(listed.stdout) as { graphs: unknown[] }).graphs, []);
  });

  it('exits 1 naming the address when no controller listens', async () => {
    const r = await runInfergraph(['get', 'graphs', '--controller', 'http://127.0.0.1:9'], {});
    assert.equal(r.code, 1);
    assert.match(r.stderr, /cannot reach the controller at http:\/\/127\.0\.0\.1:9/);
  });
});
