import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { freePort, request, startGateway, type RunningGateway } from '../support/gateway.process';
import { startController, type RunningController } from '../support/controller.process';
import { startWorker, type RunningWorker } from '../support/worker.process';
import { repoPath } from '../support/repo';

// Real parts: a real Prometheus server (Debian's package, installed by scripts/prometheus/ensure.mjs from
// the test set-up) scraping a real gateway, two real workers (one standalone, one placed by the
// controller) and the real controller over loopback HTTP; promtool lints every /metrics output.

const ROW = { name: 'features', shape: [1, 4], datatype: 'FP32', data: [5.1, 3.5, 1.4, 0.2] };

function promtoolCheck(text: string): { status: number | null; output: string } {
  const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  if (r.error !== undefined) assert.fail(`promtool is not installed (${r.error.message}); run node scripts/prometheus/ensure.mjs`);
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

async function scrape(url: string): Promise<string> {
  const res = await fetch(`${url}/metrics`);
  assert.equal(res.status, 200, `${url}/metrics answered ${res.status}`);
  return res.text();
}

interface Prometheus {
  readonly base: string;
  readonly process: ChildProcess;
  readonly dir: string;
  output(): string;
}

async function startPrometheus(targets: Record<string, string>): Promise<Prometheus> {
  const dir = mkdtempSync(path.join(tmpdir(), 'infergraph-prometheus-'));
  const jobs = Object.entries(targets).map(([job, url]) => `  - job_name: ${job}\n    static_configs:\n      - targets: ['${new URL(url).host}']`);
  writeFileSync(path.join(dir, 'prometheus.yml'), `global:\n  scrape_interval: 1s\n  scrape_timeout: 900ms\nscrape_configs:\n${jobs.join('\n')}\n`);
  const port = await freePort();
  const child = spawn('prometheus', [`--config.file=${path.join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${path.join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr.on('data', (b: Buffer) => (out += b.toString()));
  const base = `http://127.0.0.1:${port}`;
  const deadline = performance.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) assert.fail(`prometheus exited with ${child.exitCode}:\n${out}`);
    const ready = await fetch(`${base}/-/ready`).then((r) => r.status === 200, () => false);
    if (ready) return { base, process: child, dir, output: () => out };
    if (performance.now() > deadline) assert.fail(`prometheus was not ready within 30 s:\n${out}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Polls an instant query until `accept` holds for its result (a scrape happens every second). */
async function query(p: Prometheus, promql: string, accept: (values: number[]) => boolean, timeoutMs = 20_000): Promise<number[]> {
  const deadline = performance.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    const res = await fetch(`${p.base}/api/v1/query?query=${encodeURIComponent(promql)}`);
    const body = (await res.json()) as { status: string; data?: { result: { value: [number, string] }[] } };
    last = body;
    const values = (body.data?.result ?? []).map((r) => Number(r.value[1]));
    if (body.status === 'success' && accept(values)) return values;
    if (performance.now() > deadline) assert.fail(`${promql}: no acceptable answer within ${timeoutMs} ms; last: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe('Prometheus scrapes the gateway, workers and controller', () => {
  let controller: RunningController;
  let placed: RunningWorker;
  let worker: RunningWorker;
  let gateway: RunningGateway;
  let prometheus: Prometheus;

  before(async () => {
    controller = await startController(undefined, { GRAPHS_DIR: 'test/fixtures/graphs-cluster' });
    placed = await startWorker({ CONTROLLER: controller.control, WORKER_ID: 'cpu-metrics', WORKER_CPU: '2', WORKER_MEMORY: String(4 * 1024 ** 3), WORKER_GPUS: '0', WORKER_GPU_MEMORY: '0', HEARTBEAT_MS: '200' });
    worker = await startWorker({ GRAPHS_DIR: 'graphs' });
    gateway = await startGateway({ GRAPHS_DIR: 'graphs', NODE_TRANSPORT: 'grpc', WORKERS: worker.address, KAFKA_BROKERS: '' });
    assert.ok(worker.metricsUrl !== undefined && placed.metricsUrl !== undefined, `workers logged no metrics address:\n${worker.output()}`);
    prometheus = await startPrometheus({ gateway: gateway.baseUrl, worker: worker.metricsUrl, placed: placed.metricsUrl, controller: controller.base });
  });

  after(async () => {
    prometheus?.process.kill('SIGKILL');
    if (prometheus !== undefined) rmSync(prometheus.dir, { recursive: true, force: true });
    await gateway?.stop();
    await Promise.all([worker?.kill(), placed?.kill()]);
    controller?.process.kill('SIGKILL');
  });

  it('serves /metrics on every process in a format promtool accepts', async () => {
    for (let i = 0; i < 3; i++) assert.equal((await request(gateway, 'POST', '/v2/models/iris/infer', { inputs: [ROW] })).status, 200);
    const targets: [string, string][] = [['gateway', gateway.baseUrl], ['worker', worker.metricsUrl as string], ['placed worker', placed.metricsUrl as string], ['controller', controller.base]];
    for (const [what, url] of targets) {
      const text = await scrape(url);
      const lint = promtoolCheck(text);
      assert.equal(lint.status, 0, `promtool check metrics on the ${what}:\n${lint.output}`);
      assert.match(text, new RegExp(`component="${what === 'placed worker' ? 'worker' : what}"`));
    }
  });

  it('records request, node, worker and placement series that Prometheus answers queries on', async () => {
    const before = (await query(prometheus, 'sum(infergraph_graph_requests_total{graph="iris",code="OK"})', (v) => v.length === 1))[0] as number;
    for (let i = 0; i < 7; i++) assert.equal((await request(gateway, 'POST', '/v2/models/iris/infer', { inputs: [ROW] })).status, 200);
    assert.equal((await request(gateway, 'POST', '/v2/models/iris/infer', { inputs: [{ ...ROW, shape: [1, 3], data: [5.1, 3.5, 1.4] }] })).status, 400);

    await query(prometheus, 'sum(infergraph_graph_requests_total{graph="iris",code="OK"})', (v) => v[0] === before + 7);
    await query(prometheus, 'sum(infergraph_graph_requests_total{graph="iris",code="INVALID_ARGUMENT"})', (v) => (v[0] ?? 0) >= 1);
    // The worker served every iris node call the gateway made: 10 requests so far, classifier once each.
    await query(prometheus, 'sum(infergraph_node_calls_total{job="worker",component="worker",graph="iris",node="classifier",status="ok"})', (v) => v[0] === before + 7);
    await query(prometheus, 'histogram_quantile(0.99, sum by (le) (rate(infergraph_node_duration_seconds_bucket{component="gateway",graph="iris"}[1m])))', (v) => v.length === 1 && (v[0] as number) > 0);
    // Controller: the placed worker's declared capacity, READY replicas on it, and the GPU-only graph unplaced.
    await query(prometheus, 'infergraph_worker_capacity{job="controller",worker="cpu-metrics",resource="cpu"}', (v) => v[0] === 2);
    await query(prometheus, 'sum(infergraph_node_replicas{job="controller",graph="iris-replicated",state="READY"})', (v) => (v[0] ?? 0) >= 2);
    await query(prometheus, 'infergraph_replicas_unplaced{job="controller"}', (v) => (v[0] ?? 0) >= 1);
    await query(prometheus, 'infergraph_graph_ready{job="placed",graph="iris-replicated"}', (v) => v[0] === 1);
    const up = await query(prometheus, 'up', (v) => v.length === 4 && v.every((x) => x === 1));
    assert.deepEqual(up, [1, 1, 1, 1]);
  });

  it('has a Grafana dashboard whose every query Prometheus accepts and names only exported series', async () => {
    const dashboard = JSON.parse(readFileSync(repoPath('deploy', 'grafana', 'infergraph-dashboard.json'), 'utf8')) as { panels: { title: string; targets?: { expr: string }[] }[] };
    const exprs = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr })));
    assert.ok(exprs.length >= 15, `dashboard has ${exprs.length} queries`);
    const exported = new Set<string>();
    for (const url of [gateway.baseUrl, worker.metricsUrl as string, placed.metricsUrl as string, controller.base]) {
      for (const m of (await scrape(url)).matchAll(/^# TYPE (\S+) /gm)) exported.add(m[1] as string);
    }
    for (const { panel, expr } of exprs) {
      const promql = expr.replaceAll('$__rate_interval', '1m').replaceAll('$graph', '.*');
      const res = await fetch(`${prometheus.base}/api/v1/query?query=${encodeURIComponent(promql)}`);
      const body = (await res.json()) as { status: string; error?: string };
      assert.equal(body.status, 'success', `panel "${panel}": ${expr}: ${body.error ?? ''}`);
      for (const m of expr.matchAll(/\b(infergraph_[a-z_]+)/g)) {
        const name = (m[1] as string).replace(/_(bucket|sum|count)$/, '');
        assert.ok(exported.has(name), `panel "${panel}" queries ${name}, which no process exports`);
      }
    }
  });
});
