import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startController, type RunningController } from '../support/controller.process';
import { startGateway, type RunningGateway } from '../support/gateway.process';
import { repoPath } from '../support/repo';
import { startWorker, type RunningWorker } from '../support/worker.process';

// Attacks on the path boundary with real processes: a controller (and a worker attached to it) and a
// gateway run as OS processes on loopback. GRAPHS_DIR, STATE_DIR and an "outside" directory (a module that
// would write a marker file if it ever ran, a CSV with a secret header, a model) are fresh directories under
// the OS temp dir; MODEL_ROOTS is left at its default (the repository root, the processes' working directory),
// so the outside directory is in no root.

const root = mkdtempSync(path.join(tmpdir(), 'infergraph-path-attacks-'));
const graphsDir = path.join(root, 'graphs');
const outside = mkdtempSync(path.join(tmpdir(), 'infergraph-outside-'));
const MARKER = path.join(outside, 'module-ran.txt');
const EVIL = path.join(outside, 'evil.js');
const SECRET_CSV = path.join(outside, 'secret.csv');
const SECRETS = ['SECRET_HEADER_alpha', 'SECRET_HEADER_beta', '31337.25', '42424.5'];

const graph = (name: string, nodes: string, outputs: string): string => `apiVersion: infergraph.dev/v1alpha1
kind: InferenceGraph
metadata:
  name: ${name}
spec:
  inputs: [{name: input, datatype: FP32, shape: [-1, 2]}]
  nodes:
${nodes}
  outputs: [${outputs}]
`;

const evilGraph = (name: string, module: string): string =>
  graph(name, `    - {name: t, type: transformer, inputs: [graph.inputs], transformer: {module: ${JSON.stringify(module)}, outputs: [{name: y, datatype: FP32, shape: [-1, 2]}]}}`, 't');

const modelGraph = (uri: string): string => graph('probe', `    - {name: m, type: model, inputs: [graph.inputs], model: {uri: ${JSON.stringify(uri)}}}`, 'm');

async function call(base: string, method: string, route: string, body?: string): Promise<{ status: number; text: string; error: string }> {
  const res = await fetch(`${base}${route}`, { method, ...(body === undefined ? {} : { body, headers: { 'content-type': 'application/yaml' } }) });
  const text = await res.text();
  let error = '';
  try {
    const parsed = JSON.parse(text) as { error?: unknown };
    error = typeof parsed.error === 'string' ? parsed.error : '';
  } catch {
    // not JSON: the text itself is checked
  }
  return { status: res.status, text, error };
}

function assertNoSecret(text: string, where: string): void {
  for (const secret of SECRETS) assert.ok(!text.includes(secret), `${where} reveals ${secret}: ${text}`);
}

before(() => {
  mkdirSync(graphsDir, { recursive: true });
  writeFileSync(EVIL, `require('node:fs').writeFileSync(${JSON.stringify(MARKER)}, 'ran');\nexports.transform = (inputs) => inputs;\n`);
  writeFileSync(SECRET_CSV, `${SECRETS[0]},${SECRETS[1]}\n${SECRETS[2]},1\n${SECRETS[3]},2\n3,4\n`);
  copyFileSync(repoPath('models', 'iris-logreg', '1', 'model.onnx'), path.join(outside, 'model.onnx'));
});

after(() => {
  rmSync(root, { recursive: true, force: true });
  rmSync(outside, { recursive: true, force: true });
});

describe('the controller admin API against path attacks', () => {
  let controller: RunningController;
  let worker: RunningWorker | undefined;

  before(async () => {
    controller = await startController(undefined, { GRAPHS_DIR: graphsDir, STATE_DIR: path.join(root, 'state'), SYNC_WINDOW_MS: '0' });
  });
  after(async () => {
    await worker?.kill();
    controller.process.kill('SIGKILL');
  });

  it('refuses a posted graph with a custom module (400 naming the field and ALLOW_POSTED_MODULES), and the module never runs', async () => {
    for (const [name, module] of [
      ['evil', EVIL],
      ['inside', repoPath('test', 'fixtures', 'modules', 'branches.js')],
    ] as const) {
      const posted = await call(controller.base, 'POST', '/v1/graphs', evilGraph(name, module));
      assert.equal(posted.status, 400, posted.text);
      assert.match(posted.error, /^spec\.nodes\[0\]\.transformer\.module: a graph posted through the admin API cannot load custom modules/);
      assert.match(posted.error, /ALLOW_POSTED_MODULES=true/);
      const put = await call(controller.base, 'PUT', `/v1/graphs/${name}`, evilGraph(name, module));
      assert.equal(put.status, 400, put.text);
    }
    // A worker attaching finds nothing to load: the graph was never stored.
    worker = await startWorker({ CONTROLLER: controller.control, WORKER_ID: 'attacked', HEARTBEAT_MS: '200' });
    await new Promise((r) => setTimeout(r, 1500));
    const graphs = await call(controller.base, 'GET', '/v1/graphs');
    assert.deepEqual((JSON.parse(graphs.text) as { graphs: unknown[] }).graphs, []);
    assert.equal(existsSync(MARKER), false, 'the module ran');
  });

  it('refuses a reference sample outside the roots without revealing any of its cells', async () => {
    const drift = graph('leak', `    - {name: d, type: drift, inputs: [graph.inputs], drift: {method: ks, reference: {path: ${JSON.stringify(SECRET_CSV)}}, window: {size: 10}}}`, 'graph.inputs.input');
    const posted = await call(controller.base, 'POST', '/v1/graphs', drift);
    assert.equal(posted.status, 400, posted.text);
    assert.match(posted.error, new RegExp(`spec\\.nodes\\[0\\]\\.drift\\.reference\\.path: drift\\.reference\\.path ".*secret\\.csv" is outside the allowed roots`));
    assertNoSecret(posted.text, 'POST /v1/graphs');
    const relative = drift.replace(JSON.stringify(SECRET_CSV), JSON.stringify(path.relative(graphsDir, SECRET_CSV)));
    const viaDots = await call(controller.base, 'POST', '/v1/graphs', relative);
    assert.equal(viaDots.status, 400, viaDots.text);
    assertNoSecret(viaDots.text, 'POST /v1/graphs (a relative path with ..)');
    assertNoSecret((await call(controller.base, 'GET', '/v1/graphs')).text, 'GET /v1/graphs');
    assertNoSecret((await call(controller.base, 'GET', '/v1/cluster')).text, 'GET /v1/cluster');
  });

  it('answers the same for an existing and a missing model file outside the roots', async () => {
    const existing = path.join(outside, 'model.onnx');
    const missing = path.join(outside, 'missing.onnx');
    const a = await call(controller.base, 'POST', '/v1/graphs', modelGraph(existing));
    const b = await call(controller.base, 'POST', '/v1/graphs', modelGraph(missing));
    assert.equal(a.status, 400, a.text);
    assert.equal(b.status, 400, b.text);
    assert.match(a.error, /model\.uri ".*model\.onnx" is outside the allowed roots/);
    assert.equal(a.error.replace(existing, '<path>'), b.error.replace(missing, '<path>'));
  });
});

describe('a gateway whose GRAPHS_DIR graph names a module outside the roots', () => {
  let gateway: RunningGateway;
  const gatewayGraphs = path.join(root, 'gateway-graphs');

  before(async () => {
    mkdirSync(gatewayGraphs, { recursive: true });
    writeFileSync(path.join(gatewayGraphs, 'evil.yaml'), evilGraph('evil', path.relative(gatewayGraphs, EVIL)));
    gateway = await startGateway({ GRAPHS_DIR: gatewayGraphs, KAFKA_BROKERS: '' }, { waitReady: false });
  });
  after(() => gateway.stop());

  it('fails to load that graph with the roots message and never runs the module', async () => {
    const deadline = performance.now() + 20_000;
    let entry: { name: string; state: string; error?: string } | undefined;
    while (entry?.state !== 'failed') {
      assert.ok(performance.now() < deadline, `graph "evil" did not fail in time: ${JSON.stringify(entry)}\n${gateway.output()}`);
      await new Promise((r) => setTimeout(r, 100));
      const res = await fetch(`${gateway.baseUrl}/v1/graphs`).catch(() => undefined);
      if (res?.status !== 200) continue;
      entry = ((await res.json()) as { graphs: { name: string; state: string; error?: string }[] }).graphs.find((g) => g.name === 'evil');
    }
    assert.match(entry.error ?? '', /spec\.nodes\[0\]\.transformer\.module: transformer\.module ".*evil\.js" is outside the allowed roots/);
    assert.equal(existsSync(MARKER), false, 'the module ran');
  });
});
