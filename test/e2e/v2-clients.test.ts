import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { repoPath } from '../support/repo';
import { request, startGateway, type RunningGateway } from '../support/gateway.process';
import { tempDir } from '../support/temp-dir';

// Compatibility: the unmodified tritonclient.http package from PyPI (pinned in
// test/clients/requirements.txt, installed by scripts/clients/ensure-venv.sh) against the real
// gateway process over loopback.

describe('unmodified V2 clients', () => {
  let gw: RunningGateway;
  let python: string;

  before(async () => {
    python = execFileSync('bash', [repoPath('scripts', 'clients', 'ensure-venv.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
    gw = await startGateway({ GRAPHS_DIR: 'graphs,test/fixtures/graphs' });
  });
  after(async () => {
    await gw?.stop();
  });

  it('tritonclient.http reads health and metadata, infers in JSON and binary, round-trips every datatype', () => {
    const run = spawnSync(python, [repoPath('test', 'clients', 'tritonclient_http.py'), gw.baseUrl.replace('http://', '')], { encoding: 'utf8' });
    assert.equal(run.status, 0, `tritonclient script failed:\n${run.stdout}\n${run.stderr}`);
    const summary = JSON.parse(run.stdout.trim().split('\n').pop() ?? '{}') as {
      binary: { labels: number[] };
      json: { labels: number[]; probabilities: number[][] };
      dtypes: number;
      error: string;
    };
    assert.deepEqual(summary.binary.labels, [0, 2]);
    assert.deepEqual(summary.json.labels, [0, 2]);
    assert.equal(summary.dtypes, 13);
    assert.match(summary.error, /input "features": dimension 1 must be 4/);
  });
});

describe('unmodified V2 gRPC client', () => {
  let gw: RunningGateway;
  let python: string;

  before(async () => {
    python = execFileSync('bash', [repoPath('scripts', 'clients', 'ensure-venv.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
    gw = await startGateway({ GRAPHS_DIR: 'graphs' });
  });
  after(async () => {
    await gw?.stop();
  });

  it('tritonclient.grpc reads health and metadata, infers with raw tensors, sees routes and errors', () => {
    const run = spawnSync(python, [repoPath('test', 'clients', 'tritonclient_grpc.py'), gw.grpcAddress], { encoding: 'utf8' });
    assert.equal(run.status, 0, `tritonclient.grpc script failed:\n${run.stdout}\n${run.stderr}`);
    const summary = JSON.parse(run.stdout.trim().split('\n').pop() ?? '{}') as { labels: number[]; species: string[]; route: string; error: [string, string]; outputs: string[] };
    assert.deepEqual(summary.outputs, ['species', 'label', 'probabilities']);
    assert.deepEqual(summary.labels, [0, 2]);
    assert.deepEqual(summary.species, ['setosa', 'virginica']);
    assert.match(summary.route, /^split=(logreg|forest)$/);
    assert.equal(summary.error[0], 'StatusCode.INVALID_ARGUMENT');
    assert.match(summary.error[1], /input "features": dimension 1 must be 4/);
  });
});

describe('readiness without graphs', () => {
  it('reports not ready (503) when no graph could be found', async () => {
    const empty = tempDir('infergraph-empty-');
    const gw = await startGateway({ GRAPHS_DIR: empty }, { waitReady: false });
    try {
      await new Promise((r) => setTimeout(r, 300));
      const ready = await request(gw, 'GET', '/v2/health/ready');
      assert.equal(ready.status, 503);
      assert.deepEqual(ready.body, { ready: false, missing: ['no graphs'] });
      assert.equal((await request(gw, 'GET', '/v2/health/live')).status, 200);
      assert.match(gw.output(), /no graph files \(\*\.yaml\) found in/);
    } finally {
      await gw.stop();
    }
  });
});
