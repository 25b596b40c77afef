import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { oneModelGraphYaml } from '../support/graph-yaml';
import { startController, type RunningController } from '../support/controller.process';
import { repoPath } from '../support/repo';
import { startWorker, type RunningWorker } from '../support/worker.process';

// The controller's admin API against real processes: the controller (and, for placement, one worker) run as
// OS processes on loopback; GRAPHS_DIR and STATE_DIR are fresh directories under the OS temp dir, made here.

interface Described {
  name: string;
  source: 'file' | 'api';
  file: string;
  contentHash: string;
  nodes: string[];
  state: 'valid' | 'failed';
  error?: string;
}

const IRIS_MODEL = repoPath('models', 'iris-logreg', '1', 'model.onnx');

const graphYaml = oneModelGraphYaml;

const BILLION_LAUGHS = [
  'apiVersion: infergraph.dev/v1alpha1',
  'kind: InferenceGraph',
  'metadata: {name: lol}',
  'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
  ...'bcdefghi'.split('').map((k, i) => `${k}: &${k} [${Array(9).fill(`*${'abcdefghi'[i]}`).join(',')}]`),
  '',
].join('\n');

/** sha256 of every file under `dir`, by relative path: what "byte-for-byte unchanged" is checked against. */
function fingerprint(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (at: string): void => {
    for (const name of readdirSync(at).sort()) {
      const full = path.join(at, name);
      if (statSync(full).isDirectory()) walk(full);
      else out[path.relative(dir, full)] = createHash('sha256').update(readFileSync(full)).digest('hex');
    }
  };
  walk(dir);
  return out;
}

async function call(base: string, method: string, route: string, body?: string): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${base}${route}`, { method, ...(body === undefined ? {} : { body, headers: { 'content-type': 'application/yaml' } }) });
  const text = await res.text();
  return { status: res.status, json: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>) };
}

async function listed(base: string): Promise<Described[]> {
  return ((await call(base, 'GET', '/v1/graphs')).json as unknown as { graphs: Described[] }).graphs;
}

async function killHard(controller: RunningController): Promise<void> {
  const child = controller.process;
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

describe('controller admin API: GRAPHS_DIR is read-only, posted graphs persist in STATE_DIR', () => {
  let root: string;
  let graphsDir: string;
  let stateDir: string;
  let env: Record<string, string>;
  let controller: RunningController;
  let worker: RunningWorker | undefined;

  before(async () => {
    root = mkdtempSync(path.join(tmpdir(), 'infergraph-admin-e2e-'));
    graphsDir = path.join(root, 'graphs');
    stateDir = path.join(root, 'state');
    mkdirSync(path.join(graphsDir, 'models'), { recursive: true });
    // The user's directory: a graph with a model beside it, and a file that is not a graph at all.
    copyFileSync(IRIS_MODEL, path.join(graphsDir, 'models', 'iris.onnx'));
    writeFileSync(path.join(graphsDir, 'iris.yaml'), graphYaml('iris', 'models/iris.onnx'));
    writeFileSync(path.join(graphsDir, 'notes.txt'), 'not a graph\n');
    env = { GRAPHS_DIR: graphsDir, STATE_DIR: stateDir, SYNC_WINDOW_MS: '300' };
    controller = await startController(undefined, env);
  });

  after(async () => {
    await worker?.kill();
    await killHard(controller);
    rmSync(root, { recursive: true, force: true });
  });

  it('lists a GRAPHS_DIR graph with its source, its path relative to GRAPHS_DIR and its content hash', async () => {
    const iris = (await listed(controller.base)).find((g) => g.name === 'iris');
    const hash = createHash('sha256').update(readFileSync(path.join(graphsDir, 'iris.yaml'))).digest('hex');
    assert.deepEqual(iris, { name: 'iris', version: '1', source: 'file', file: 'iris.yaml', contentHash: hash, nodes: ['iris.clf'], state: 'valid' });
  });

  it('refuses an invalid graph, an alias bomb and a taken name (400, 400, 409) and leaves every file of GRAPHS_DIR as it was', async () => {
    const before = fingerprint(graphsDir);

    const invalid = await call(controller.base, 'POST', '/v1/graphs', graphYaml('broken', '/nowhere/model.onnx'));
    assert.equal(invalid.status, 400, JSON.stringify(invalid.json));
    assert.match(String(invalid.json['error']), /^broken\.yaml:9:\d+ spec\.nodes\[0\]\.model\.uri: model\.uri "\/nowhere\/model\.onnx" is outside the allowed roots \(the graph's directory, GRAPHS_DIR and MODEL_ROOTS\)$/);

    const bomb = await call(controller.base, 'POST', '/v1/graphs', BILLION_LAUGHS);
    assert.equal(bomb.status, 400, JSON.stringify(bomb.json));
    assert.match(String(bomb.json['error']), /^the posted graph YAML aliases expand beyond 100 nodes/);

    // A valid document under a GRAPHS_DIR graph's name: once, this silently overwrote the user's file.
    const taken = await call(controller.base, 'POST', '/v1/graphs', graphYaml('iris', IRIS_MODEL, 'an impostor'));
    assert.equal(taken.status, 409, JSON.stringify(taken.json));
    assert.match(String(taken.json['error']), /graph "iris" already exists: it comes from the file iris\.yaml in GRAPHS_DIR/);

    const put = await call(controller.base, 'PUT', '/v1/graphs/iris', graphYaml('iris', IRIS_MODEL, 'an impostor'));
    assert.equal(put.status, 409, JSON.stringify(put.json));
    assert.match(String(put.json['error']), /comes from the file iris\.yaml in GRAPHS_DIR and cannot be replaced through the API/);

    const del = await call(controller.base, 'DELETE', '/v1/graphs/iris');
    assert.equal(del.status, 409, JSON.stringify(del.json));
    assert.match(String(del.json['error']), /comes from the file iris\.yaml in GRAPHS_DIR and cannot be deleted through the API/);

    assert.deepEqual(fingerprint(graphsDir), before);
    assert.deepEqual(readdirSync(path.join(stateDir, 'graphs')), [], 'nothing refused is stored');
    assert.deepEqual((await listed(controller.base)).map((g) => g.name), ['iris']);
  });

  it('refuses a body over 1 MiB with 413, and a PUT whose document names another graph with 400', async () => {
    const big = await call(controller.base, 'POST', '/v1/graphs', `# ${'x'.repeat(1024 * 1024)}\n`);
    assert.equal(big.status, 413, JSON.stringify(big.json));
    const mismatch = await call(controller.base, 'PUT', '/v1/graphs/other', graphYaml('posted', 'models/iris.onnx'));
    assert.equal(mismatch.status, 400);
    assert.match(String(mismatch.json['error']), /metadata\.name "posted" does not match the graph in the path, "other"/);
  });

  it('keeps a posted graph across kill -9 and a restart, places it, and forgets it after DELETE and a restart', async () => {
    const before = fingerprint(graphsDir);
    const text = graphYaml('posted', 'models/iris.onnx', 'posted through the API');
    const post = await call(controller.base, 'POST', '/v1/graphs', text);
    assert.equal(post.status, 201, JSON.stringify(post.json));
    const stored = path.join(stateDir, 'graphs', 'posted.yaml');
    const hash = createHash('sha256').update(readFileSync(stored)).digest('hex');
    assert.deepEqual(post.json, { name: 'posted', version: '1', source: 'api', file: 'api', contentHash: hash, nodes: ['posted.clf'], state: 'valid' });
    // The stored copy: the relative model path now absolute (against the first GRAPHS_DIR), all else as posted.
    assert.equal(readFileSync(stored, 'utf8'), text.replace('uri: models/iris.onnx', `uri: ${JSON.stringify(path.join(graphsDir, 'models', 'iris.onnx'))}`));
    assert.deepEqual(fingerprint(graphsDir), before, 'GRAPHS_DIR is never written');

    await killHard(controller);
    controller = await startController(controller.ports, env);
    const afterRestart = (await listed(controller.base)).find((g) => g.name === 'posted');
    assert.deepEqual(afterRestart, { name: 'posted', version: '1', source: 'api', file: 'api', contentHash: hash, nodes: ['posted.clf'], state: 'valid' });

    // A worker attached to the restarted controller gets the stored graph and serves it.
    const workerGraphs = path.join(root, 'worker-graphs');
    mkdirSync(workerGraphs, { recursive: true });
    worker = await startWorker({ CONTROLLER: controller.control, WORKER_ID: 'admin-a', HEARTBEAT_MS: '200', GRAPHS_DIR: workerGraphs, MODEL_ROOTS: graphsDir });
    await waitFor(async () => {
      const status = (await (await fetch(`${controller.base}/v1/cluster`)).json()) as { graphs: { name: string; nodes: { key: string; replicas: { state: string }[] }[] }[] };
      return status.graphs.find((g) => g.name === 'posted')?.nodes.some((n) => n.replicas.some((r) => r.state === 'READY')) === true;
    }, 'posted.clf READY on the worker');
    await worker.kill();
    worker = undefined;

    const replaced = await call(controller.base, 'PUT', '/v1/graphs/posted', graphYaml('posted', 'models/iris.onnx', 'replaced'));
    assert.equal(replaced.status, 200, JSON.stringify(replaced.json));
    assert.notEqual(replaced.json['contentHash'], hash);

    const del = await call(controller.base, 'DELETE', '/v1/graphs/posted');
    assert.equal(del.status, 200, JSON.stringify(del.json));
    assert.equal(del.json['name'], 'posted');
    assert.equal(existsSync(stored), false);

    await killHard(controller);
    controller = await startController(controller.ports, env);
    assert.deepEqual((await listed(controller.base)).map((g) => g.name), ['iris']);
    assert.deepEqual(fingerprint(graphsDir), before);
  });

  it('creates a graph with PUT (201) and answers 404 for a DELETE of an unknown graph', async () => {
    const created = await call(controller.base, 'PUT', '/v1/graphs/made-by-put', graphYaml('made-by-put', IRIS_MODEL));
    assert.equal(created.status, 201, JSON.stringify(created.json));
    assert.equal(created.json['source'], 'api');
    assert.equal((await call(controller.base, 'DELETE', '/v1/graphs/made-by-put')).status, 200);
    assert.equal((await call(controller.base, 'DELETE', '/v1/graphs/made-by-put')).status, 404);
  });
});

describe('controller start-up with bad files in GRAPHS_DIR', () => {
  let root: string;
  let controller: RunningController | undefined;

  before(() => {
    root = mkdtempSync(path.join(tmpdir(), 'infergraph-bad-files-'));
  });
  after(async () => {
    if (controller !== undefined) await killHard(controller);
    rmSync(root, { recursive: true, force: true });
  });

  it('starts, lists an alias bomb, binary garbage and a directory as failed with their reasons, and serves the other graphs', async () => {
    const graphsDir = path.join(root, 'graphs');
    mkdirSync(graphsDir);
    writeFileSync(path.join(graphsDir, 'iris.yaml'), graphYaml('iris', IRIS_MODEL));
    writeFileSync(path.join(graphsDir, 'bomb.yaml'), BILLION_LAUGHS);
    writeFileSync(path.join(graphsDir, 'garbage.yaml'), Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0x02, 0x01, 0x00, 0xff]));
    mkdirSync(path.join(graphsDir, 'folder.yaml'));
    controller = await startController(undefined, { GRAPHS_DIR: graphsDir, STATE_DIR: path.join(root, 'state') });

    const graphs = await listed(controller.base);
    const byFile = new Map(graphs.map((g) => [g.file, g]));
    assert.equal(byFile.get('iris.yaml')?.state, 'valid');
    assert.deepEqual(byFile.get('iris.yaml')?.nodes, ['iris.clf']);
    for (const [file, reason] of [
      ['bomb.yaml', /^bomb\.yaml YAML aliases expand beyond 100 nodes/],
      ['garbage.yaml', /^garbage\.yaml is binary/],
      ['folder.yaml', /^folder\.yaml is not a regular file$/],
    ] as const) {
      const g = byFile.get(file);
      assert.equal(g?.state, 'failed', `${file}: ${JSON.stringify(g)}`);
      assert.equal(g.source, 'file');
      assert.match(g.error ?? '', reason);
    }
    assert.match(controller.output(), /bomb\.yaml is invalid and will not be placed/);
  });

  it('refuses to start when STATE_DIR cannot be created, and says so', async () => {
    const notADir = path.join(root, 'plain-file');
    writeFileSync(notADir, 'x');
    await assert.rejects(
      startController(undefined, { GRAPHS_DIR: path.join(root, 'graphs'), STATE_DIR: notADir }),
      /STATE_DIR: cannot keep posted graphs in .*plain-file\/graphs: .*set STATE_DIR to a writable directory/,
    );
  });
});

async function waitFor(test: () => Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await test())) {
    if (performance.now() > deadline) assert.fail(`${what} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
