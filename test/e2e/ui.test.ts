import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { startController, type RunningController } from '../support/controller.process';
import { freePort, freeStartClusterControlPort, startGateway, type RunningGateway } from '../support/gateway.process';
import { untilStreaming } from '../support/kafka-topics';
import { repoPath } from '../support/repo';
import { startWorker, type RunningWorker } from '../support/worker.process';

// The web dashboards in a real browser: Debian's Chromium, headless, driven by puppeteer-core, against a
// real gateway (all graphs of graphs/), a real controller and three real workers, all on loopback. The
// pages' own console is watched for errors, axe-core checks accessibility, and screenshots are kept in
// test-artifacts/ui/.

// The browser's globals inside page functions (the project compiles without the DOM library).
interface PageElement {
  textContent: string | null;
  value?: string;
  hidden?: boolean;
  getAttribute(name: string): string | null;
  classList: { contains(name: string): boolean };
  matches(selector: string): boolean;
}
declare const document: {
  querySelector(selector: string): PageElement | null;
  querySelectorAll(selector: string): Iterable<PageElement> & { length: number };
  activeElement: PageElement | null;
};

/** Text of each element matching `selector`. */
const texts = (page: Page, selector: string): Promise<string[]> => page.evaluate((s) => [...document.querySelectorAll(s)].map((e) => e.textContent ?? ''), selector);
/** Text of the first element matching `selector` ('' when none). */
const text = async (page: Page, selector: string): Promise<string> => (await texts(page, selector))[0] ?? '';
/** An attribute of each element matching `selector`, with ` (shadow)` appended for elements of that class. */
const attrs = (page: Page, selector: string, name: string): Promise<string[]> =>
  page.evaluate((s, n) => [...document.querySelectorAll(s)].map((e) => `${e.getAttribute(n) ?? ''}${e.classList.contains('shadow') ? ' (shadow)' : ''}`), selector, name);

const OPS_TOKEN = 'ui-test-ops-token-0123456789';
const ADMIN_TOKEN = 'ui-test-admin-token-0123456789';
const ARTIFACTS = repoPath('test-artifacts', 'ui');
const brokers = (process.env['KAFKA_BROKERS'] ?? '').split(',').filter((b) => b !== '');
const prefix = `ui${randomUUID().slice(0, 8)}`;

function chromiumPath(): string {
  const found = spawnSync('sh', ['-c', 'command -v chromium || command -v chromium-browser'], { encoding: 'utf8' }).stdout.trim();
  assert.notEqual(found, '', 'Chromium is not installed: run node scripts/chromium/ensure.mjs (npm test does)');
  return found;
}

/** A page of its own browser context (no cookies yet) whose console errors and uncaught exceptions are collected. */
async function watchedPage(browser: Browser): Promise<{ page: Page; problems: string[] }> {
  const page = await (await browser.createBrowserContext()).newPage();
  await page.setViewport({ width: 1400, height: 1000 });
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e instanceof Error ? e.message : String(e)}`));
  return { page, problems };
}

/** axe-core's serious and critical violations on the page as it is now. */
async function seriousViolations(page: Page): Promise<string[]> {
  // Evaluated through DevTools, which the page's Content-Security-Policy does not apply to.
  await page.evaluate(readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8'));
  const violations = await page.evaluate(async () => {
    const axe = (globalThis as unknown as { axe: { run(): Promise<{ violations: { id: string; impact: string; help: string; nodes: { target: string[] }[] }[] }> } }).axe;
    return (await axe.run()).violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, targets: v.nodes.map((n) => n.target.join(' ')).slice(0, 3) }));
  });
  return violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.targets.join(', ')}`);
}

async function signIn(page: Page, base: string, token: string): Promise<void> {
  await page.goto(`${base}/ui`);
  assert.equal(new URL(page.url()).pathname, '/ui/login', 'an unsigned browser is sent to the sign-in form');
  await page.type('#token', token);
  await Promise.all([page.waitForNavigation(), page.keyboard.press('Enter')]);
  assert.equal(new URL(page.url()).pathname, '/ui');
}

/** Presses Tab until the element matching `selector` has the focus (at most 30 times). */
async function tabTo(page: Page, selector: string): Promise<void> {
  for (let i = 0; i < 30; i++) {
    await page.keyboard.press('Tab');
    if (await page.evaluate((s) => document.activeElement?.matches(s) === true, selector)) return;
  }
  assert.fail(`Tab never reached ${selector}`);
}

const cell = (page: Page, graph: string, node: string, field: string): Promise<string> => text(page, `table.figures[data-graph="${graph}"] tr[data-node="${node}"] [data-field="${field}"]`);

describe('web dashboards in headless Chromium', () => {
  let browser: Browser;
  let gateway: RunningGateway;

  before(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    const executablePath = chromiumPath();
    // With a broker, graphs/iris.yaml also streams from its Kafka topics (the dashboard shows their lag).
    const kafka: Record<string, string> = brokers.length === 0 ? {} : { KAFKA_BROKERS: brokers.join(','), KAFKA_TOPIC_PREFIX: prefix, KAFKA_GROUP_ID: `${prefix}-gateway` };
    gateway = await startGateway({ GRAPHS_DIR: 'graphs', OPS_TOKEN, ...kafka });
    if (brokers.length > 0) await untilStreaming(gateway, `${prefix}.iris.inputs`);
    // Chromium's sandbox needs user namespaces that root in a container does not get.
    const asRoot = typeof process.getuid === 'function' && process.getuid() === 0;
    browser = await puppeteer.launch({ executablePath, headless: true, args: asRoot ? ['--no-sandbox'] : [] });
  });
  after(async () => {
    await browser?.close();
    await gateway?.stop();
  });

  it('keeps the dashboard, its files and its live feed behind OPS_TOKEN, with a strict Content-Security-Policy', async () => {
    const page = await fetch(`${gateway.baseUrl}/ui`, { redirect: 'manual' });
    assert.equal(page.status, 303);
    assert.equal(page.headers.get('location'), '/ui/login');
    assert.match(page.headers.get('content-security-policy') ?? '', /script-src 'self';.*frame-ancestors 'none'/);
    assert.equal(page.headers.get('x-content-type-options'), 'nosniff');
    assert.equal((await fetch(`${gateway.baseUrl}/ui/assets/app.js`)).status, 401);
    assert.equal((await fetch(`${gateway.baseUrl}/v1/live`)).status, 401);
    const wrong = await fetch(`${gateway.baseUrl}/ui/login`, { method: 'POST', body: 'token=not-the-token', headers: { 'content-type': 'application/x-www-form-urlencoded' }, redirect: 'manual' });
    assert.equal(wrong.status, 401);
    assert.equal(wrong.headers.get('set-cookie'), null);
    const right = await fetch(`${gateway.baseUrl}/ui/login`, { method: 'POST', body: `token=${OPS_TOKEN}`, headers: { 'content-type': 'application/x-www-form-urlencoded' }, redirect: 'manual' });
    assert.equal(right.status, 303);
    const cookie = (right.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
    assert.match(right.headers.get('set-cookie') ?? '', /HttpOnly; SameSite=Strict/);
    assert.ok(!cookie.includes(OPS_TOKEN), 'the cookie does not carry the token itself');
    assert.equal((await fetch(`${gateway.baseUrl}/v1/graphs`, { headers: { cookie } })).status, 200);
  });

  it('draws iris-ab as its five nodes and edges, and shows live figures that follow the requests sent', async () => {
    const { page, problems } = await watchedPage(browser);
    await signIn(page, gateway.baseUrl, OPS_TOKEN);
    await page.waitForSelector('svg[data-graph="iris-ab"] g[data-node]');
    const nodes = (await attrs(page, 'svg[data-graph="iris-ab"] g[data-node]', 'data-node')).sort();
    assert.deepEqual(nodes, ['forest', 'logreg', 'mlp', 'species', 'split']);
    const edges = (await attrs(page, 'svg[data-graph="iris-ab"] [data-edge]', 'data-edge')).sort();
    assert.deepEqual(edges, ['forest->species', 'logreg->species', 'split->forest', 'split->logreg', 'split->mlp (shadow)']);
    const stateRow = await text(page, '#graph-list tr[data-graph="iris-ab"]');
    assert.match(stateRow, /iris-ab\s*ready\s*1/);

    const before = Number(await cell(page, 'iris-ab', 'split', 'calls'));
    const sent = 12;
    for (let i = 0; i < sent; i++) {
      const res = await fetch(`${gateway.baseUrl}/v2/models/iris-ab/infer`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-user-id': `user-${i}` }, body: JSON.stringify({ inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 4], data: [5.1, 3.5, 1.4, 0.2] }] }) });
      assert.equal(res.status, 200);
    }
    // The page learns of them only through the live feed.
    await page.waitForFunction((want) => document.querySelector('table.figures[data-graph="iris-ab"] tr[data-node="split"] [data-field="calls"]')?.textContent === String(want), { timeout: 15_000 }, before + sent);
    assert.ok(Number(await cell(page, 'iris-ab', 'split', 'rate')) > 0, 'a request rate over the window');
    assert.notEqual(await cell(page, 'iris-ab', 'species', 'p99'), '—', 'a p99 latency once calls ran');
    assert.match(await cell(page, 'iris-ab', 'split', 'more'), /logreg \d+%/, 'the router split per route');
    const shadow = await text(page, '#graph-list tr[data-graph="iris-ab"] [data-field="shadow"]');
    assert.ok(Number(shadow.split('/')[0]) >= sent, `shadow outcomes counted (${shadow})`);
    await page.screenshot({ path: `${ARTIFACTS}/graphs.png` });
    await (await page.$('[data-card="iris-ab"]'))?.screenshot({ path: `${ARTIFACTS}/iris-ab.png` });
    assert.deepEqual(await seriousViolations(page), []);
    assert.deepEqual(problems, []);
    await page.close();
  });

  it('shows the consumer lag of each partition of a streamed graph\'s inputs topic', { skip: brokers.length === 0 ? 'KAFKA_BROKERS is not set' : false }, async () => {
    const { page, problems } = await watchedPage(browser);
    await signIn(page, gateway.baseUrl, OPS_TOKEN);
    // Lag is known per partition once the stream fetched from it: one record into each.
    const producer = new Kafka({ clientId: 'infergraph-ui-test', brokers, logLevel: logLevel.ERROR }).producer();
    await producer.connect();
    const value = JSON.stringify({ inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 4], data: [5.1, 3.5, 1.4, 0.2] }] });
    await producer.send({ topic: `${prefix}.iris.inputs`, messages: [0, 1, 2].map((partition) => ({ partition, key: `k${partition}`, value })) });
    await producer.disconnect();
    const rows = `[data-field="kafka-lag"] tr[data-topic="${prefix}.iris.inputs"]`;
    await page.waitForFunction((selector) => document.querySelectorAll(selector).length === 3, { timeout: 20_000 }, rows);
    // graphs/iris.yaml streams from 3 partitions.
    assert.deepEqual((await attrs(page, rows, 'data-partition')).sort(), ['0', '1', '2']);
    assert.deepEqual(problems, []);
    await page.close();
  });

  it('sends a request from "Try it", reached by keyboard, and shows the outputs and the per-node trace', async () => {
    const { page, problems } = await watchedPage(browser);
    await signIn(page, gateway.baseUrl, OPS_TOKEN);
    await page.waitForSelector('svg[data-graph="iris-ab"]');
    await tabTo(page, '.tab[data-tab="try"]');
    await page.keyboard.press('Enter');
    assert.equal(await page.evaluate(() => document.querySelector('#try')?.hidden), false);
    await page.waitForSelector('#try-graph option[value="iris-ab"]');
    await tabTo(page, '#try-graph');
    await page.select('#try-graph', 'iris-ab');
    await page.waitForFunction(() => document.querySelector('#try-body')?.value?.includes('"features"') === true);
    const body = JSON.stringify({ inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 4], data: [6.7, 3.0, 5.2, 2.3] }] });
    await page.evaluate((b) => {
      const area = document.querySelector('#try-body');
      if (area !== null) area.value = b;
    }, body);
    await tabTo(page, '#try-send');
    await page.keyboard.press('Enter');
    await page.waitForSelector('#try-result [data-field="trace"] tbody tr');
    const traced = await attrs(page, '#try-result [data-field="trace"] tr[data-node]', 'data-node');
    assert.ok(['split', 'species'].every((n) => traced.includes(n)), `trace rows: ${traced.join(', ')}`);
    assert.match(await text(page, '#try-result [data-field="outputs"]'), /virginica/);
    await page.screenshot({ path: `${ARTIFACTS}/try-it.png` });
    assert.deepEqual(await seriousViolations(page), []);
    assert.deepEqual(problems, []);
    await page.close();
  });

  it('plots the drift p-values of iris-monitored once a window of 50 rows completed', async () => {
    const { page, problems } = await watchedPage(browser);
    await signIn(page, gateway.baseUrl, OPS_TOKEN);
    await tabTo(page, '.tab[data-tab="detectors"]');
    await page.keyboard.press('Enter');
    await page.waitForSelector('[data-drift="iris-monitored.drift"]');
    assert.equal(await page.$('[data-drift="iris-monitored.drift"] svg[data-plot="drift"]'), null, 'no plot before a window completed');
    // Rows far from the reference: the window drifts.
    const rows = Array.from({ length: 50 }, (_, i) => [7.5 + (i % 5) * 0.1, 2.0, 6.5, 2.4]);
    const res = await fetch(`${gateway.baseUrl}/v2/models/iris-monitored/infer`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ inputs: [{ name: 'features', datatype: 'FP32', shape: [50, 4], data: rows }] }) });
    assert.equal(res.status, 200);
    // The page redraws on the feed's drift event.
    await page.waitForSelector('[data-drift="iris-monitored.drift"] svg[data-plot="drift"]', { timeout: 20_000 });
    const features = (await attrs(page, '[data-drift="iris-monitored.drift"] polyline[data-feature]', 'data-feature')).length;
    assert.equal(features, 4, 'one line per feature');
    assert.ok(await page.$('[data-drift="iris-monitored.drift"] line[data-threshold]'), 'the threshold line');
    assert.equal(await text(page, '[data-drift="iris-monitored.drift"] [data-field="is_drift"]'), 'drift');
    // A feature's button draws the reference sample against the latest window on shared bins.
    const first = (await attrs(page, '[data-drift="iris-monitored.drift"] button[data-histogram]', 'data-histogram'))[0];
    assert.ok(first !== undefined, 'a histogram button per feature');
    await page.click(`[data-drift="iris-monitored.drift"] button[data-histogram="${first}"]`);
    await page.waitForSelector(`[data-drift="iris-monitored.drift"] svg[data-plot="histogram"][data-feature="${first}"]`, { timeout: 10_000 });
    const series = await attrs(page, '[data-drift="iris-monitored.drift"] svg[data-plot="histogram"] rect[data-series]', 'data-series');
    assert.deepEqual([series.filter((x) => x === 'reference').length, series.filter((x) => x === 'recent').length], [20, 20]);
    const auth = { authorization: `Bearer ${OPS_TOKEN}` };
    const hist = (await (await fetch(`${gateway.baseUrl}/v1/graphs/iris-monitored/nodes/drift/drift/histogram?feature=${encodeURIComponent(first)}&bins=5`, { headers: auth })).json()) as { edges: number[]; reference: number[]; recent: number[]; recentSize: number };
    assert.equal(hist.edges.length, 6);
    assert.equal(hist.recentSize, 50, 'the latest window holds the 50 rows sent');
    assert.ok(Math.abs(hist.reference.reduce((a, b) => a + b, 0) - 1) < 1e-9 && Math.abs(hist.recent.reduce((a, b) => a + b, 0) - 1) < 1e-9, 'shares of each sample');
    const bad = await fetch(`${gateway.baseUrl}/v1/graphs/iris-monitored/nodes/drift/drift/histogram?feature=${encodeURIComponent(first)}&bins=0`, { headers: auth });
    assert.equal(bad.status, 400);
    assert.match(await bad.text(), /bins: must be an integer from 1 to 100/);
    const unknown = await fetch(`${gateway.baseUrl}/v1/graphs/iris-monitored/nodes/drift/drift/histogram?feature=colour`, { headers: auth });
    assert.equal(unknown.status, 404);
    // The outlier node scored the same 50 rows: its rate over time gets its first interval.
    await page.waitForSelector('[data-field="outliers"] tr[data-node="iris-monitored.outliers"] svg[data-plot="outliers"]', { timeout: 10_000 });
    assert.deepEqual((await texts(page, '[data-field="outliers"] tr[data-node="iris-monitored.outliers"] td')).slice(2, 3), ['50']);
    await page.screenshot({ path: `${ARTIFACTS}/detectors.png`, fullPage: true });
    assert.deepEqual(await seriousViolations(page), []);
    assert.deepEqual(problems, []);
    await page.close();
  });

  describe('cluster view of the controller', () => {
    let controller: RunningController;
    let workers: RunningWorker[] = [];

    before(async () => {
      controller = await startController(undefined, { GRAPHS_DIR: 'test/fixtures/graphs-cluster', ADMIN_TOKEN });
      const env = (id: string) => ({ CONTROLLER: controller.control, WORKER_ID: id, WORKER_POOL: 'cpu', WORKER_CPU: '2', WORKER_MEMORY: String(2 * 1024 ** 3), HEARTBEAT_MS: '200' });
      workers = await Promise.all(['cpu-a', 'cpu-b', 'cpu-c'].map((id) => startWorker(env(id))));
    });
    after(async () => {
      await Promise.all(workers.map((w) => w.kill()));
      controller?.process.kill('SIGKILL');
    });

    it('lists the three workers with their replicas, the pending GPU replica with its reason and the routing version', async () => {
      assert.equal((await fetch(`${controller.base}/v1/cluster`)).status, 401, 'the data stays behind the admin token');
      const { page, problems } = await watchedPage(browser);
      await signIn(page, controller.base, ADMIN_TOKEN);
      await page.waitForFunction(() => document.querySelectorAll('[data-pool="cpu"] tr[data-worker]').length === 3, { timeout: 20_000 });
      const workerIds = (await attrs(page, '[data-pool="cpu"] tr[data-worker]', 'data-worker')).sort();
      assert.deepEqual(workerIds, ['cpu-a', 'cpu-b', 'cpu-c']);
      await page.waitForFunction(() => [...document.querySelectorAll('#replicas td')].some((td) => td.textContent === 'READY'), { timeout: 20_000 });
      assert.match(await text(page, '#pending'), /gpu-only\.mlp.*no worker in pool "gpu"/);
      assert.match(await text(page, '[data-field="routing-version"]'), /version \d+/);
      const session = (await page.cookies()).find((c) => c.name === 'infergraph_controller_session');
      const write = await fetch(`${controller.base}/v1/graphs/iris-replicated`, { method: 'DELETE', headers: { cookie: `${session?.name}=${session?.value}` } });
      assert.equal(write.status, 403, 'a browser session only reads');
      await page.screenshot({ path: `${ARTIFACTS}/cluster.png`, fullPage: true });
      assert.deepEqual(await seriousViolations(page), []);
      assert.deepEqual(problems, []);
      await page.close();
    });
  });

  describe('cluster view under npm run start:cluster', () => {
    // The script as a user runs it: a controller, workers cpu-0, cpu-1 (pool cpu) and gpu-0 (pool gpu), a gateway.
    const devDir = mkdtempSync(path.join(tmpdir(), 'infergraph-ui-dev-'));
    let cluster: ChildProcess | undefined;
    let out = '';
    let adminPort = 0;

    before(async () => {
      const restPort = await freePort();
      adminPort = await freePort();
      cluster = spawn(process.execPath, [repoPath('scripts', 'start-cluster.mjs')], {
        cwd: repoPath(),
        env: { ...process.env, PORT: String(restPort), GRPC_PORT: String(await freePort()), ADMIN_PORT: String(adminPort), CONTROL_PORT: String(await freeStartClusterControlPort()), INFERGRAPH_DEV_DIR: devDir, KAFKA_BROKERS: '' },
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true,
      });
      cluster.stdout?.on('data', (b: Buffer) => (out += b.toString()));
      cluster.stderr?.on('data', (b: Buffer) => (out += b.toString()));
      const deadline = performance.now() + 60_000;
      for (;;) {
        const res = await fetch(`http://127.0.0.1:${restPort}/v2/models/iris/ready`).catch(() => undefined);
        if (res?.status === 200) break;
        if (performance.now() > deadline || cluster.exitCode !== null) assert.fail(`npm run start:cluster did not serve iris within 60 s:\n${out.slice(-4000)}`);
        await new Promise((r) => setTimeout(r, 250));
      }
    });
    after(async () => {
      const pid = cluster?.pid;
      if (cluster !== undefined && pid !== undefined && cluster.exitCode === null) {
        const exited = new Promise((r) => cluster?.once('exit', r));
        process.kill(pid, 'SIGTERM');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
        try {
          process.kill(-pid, 'SIGKILL');
        } catch {
          // Already gone.
        }
      }
      rmSync(devDir, { recursive: true, force: true });
    });

    it('lists its three workers by pool, signed in with the admin token the script made', async () => {
      const { page, problems } = await watchedPage(browser);
      await signIn(page, `http://127.0.0.1:${adminPort}`, readFileSync(path.join(devDir, 'admin-token'), 'utf8').trim());
      await page.waitForFunction(() => document.querySelectorAll('tr[data-worker]').length === 3, { timeout: 20_000 }).catch(async (err: unknown) => {
        // What the page and the cluster said, for the next reader of a failure.
        const shown = await attrs(page, 'tr[data-worker]', 'data-worker').catch(() => []);
        console.log(`[ui] workers shown: ${JSON.stringify(shown)}\n--- npm run start:cluster\n${out.slice(-6000)}`);
        throw err;
      });
      assert.deepEqual((await attrs(page, '[data-pool="cpu"] tr[data-worker]', 'data-worker')).sort(), ['cpu-0', 'cpu-1']);
      assert.deepEqual(await attrs(page, '[data-pool="gpu"] tr[data-worker]', 'data-worker'), ['gpu-0']);
      await page.screenshot({ path: `${ARTIFACTS}/start-cluster.png`, fullPage: true });
      assert.deepEqual(await seriousViolations(page), []);
      assert.deepEqual(problems, []);
      await page.close();
    });
  });
});
