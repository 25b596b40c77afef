// Serving benchmark (issue 8): throughput, p50/p99 latency and peak memory of infergraph against what a
// user would run instead, side by side in one run, on two models:
//   iris logistic regression (4 FP32 features; per-request overhead dominates) and
//   the digits MLP (64 FP32 features, two 1024-unit hidden layers; compute dominates).
// Rows: a direct onnxruntime-node loop in this process (the ceiling), a hand-written node:http server,
// FastAPI + onnxruntime (Python), and infergraph gateways: one-node graph without and with dynamic
// batching, a four-node graph, the one-node graph on a worker over gRPC, and Kafka-connected. Load comes
// from wrk in its own process (bench/load/wrk.driver.ts; a C generator, cheap beside the server on a 2-core
// machine), 64 keep-alive connections, the same one-row V2 JSON request for every HTTP row; the V2 gRPC rows
// (ModelInfer on the gateway's gRPC port) from ghz, a Go generator, 64 calls in flight (bench/load/ghz.driver.ts). Then
// micro-measurements: in-process cost per extra graph node, and the gateway -> worker gRPC hop. Prints the tables and target checks; writes bench/results/serving.json
// (serving-partial.json when BENCH_SCENARIOS filters the rows).
//   npm run bench -- serving
// Environment: BENCH_DURATION_S (10), BENCH_WARMUP_S (2), BENCH_CONNECTIONS (64), BENCH_WRK_THREADS (1; wrk
// threads the connections are spread over, each a core at most), BENCH_SCENARIOS (only
// these comma-separated row keys; a trailing * takes every key it begins, e.g. "iris.node-server,digits.*"),
// BENCH_CPU_PROF (a directory: gateways, workers and the node server run with --cpu-prof, each writing into
// <dir>/<its name>/, the main thread's file with thread id 0; summarise one with
// node dist/bench/tools/cpu-profile.summary.js <file>),
// KAFKA_BROKERS (else the project broker is started and stopped), BENCH_GHZ_CONNECTIONS (1; the HTTP/2
// connections the ghz rows' calls share; INFERGRAPH_GHZ, the binary, is set by scripts/bench.mjs).
import { cpus, totalmem } from 'node:os';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { repoPath } from '../test/support/repo';
import { V2_PROTO_PATH } from '@infergraph/protocol';
import { runGrpcLoad } from './load/ghz.driver';
import { runLoad } from './load/wrk.driver';
import { measureGrpcCoalescing, type CoalescingCost, type CoalescingRun } from './support/grpc-coalescing.micro';
import { measureGrpcHop, type HopLatency } from './support/grpc-hop.micro';
import { measureRequestPath, type RequestPathCost } from './support/request-path.micro';
import { measureNodeOverhead, type NodeOverhead } from './support/node-overhead.micro';
import { runOrtLoop } from './support/ort-loop.runner';
import { peakRssMiB, ProcessGroup } from './support/process-group';
import { kafkaBrokers, probe, ScenarioSkipped, startFastApi, startInfergraph, startNodeServer, type InfergraphOptions, type ServingTarget } from './support/servers.launcher';

const DURATION_S = Number(process.env['BENCH_DURATION_S'] ?? 10);
const WARMUP_S = Number(process.env['BENCH_WARMUP_S'] ?? 2);
const CONNECTIONS = Number(process.env['BENCH_CONNECTIONS'] ?? 64);
const WRK_THREADS = Number(process.env['BENCH_WRK_THREADS'] ?? 1);
const ONLY = (process.env['BENCH_SCENARIOS'] ?? '').split(',').filter((s) => s !== '');
const CPU_PROF = process.env['BENCH_CPU_PROF'];
/** The ghz binary scripts/bench.mjs had built (scripts/ghz/ensure.mjs); the ghz rows are skipped without it. */
const GHZ = process.env['INFERGRAPH_GHZ'] === '' ? undefined : process.env['INFERGRAPH_GHZ'];
const GHZ_CONNECTIONS = Number(process.env['BENCH_GHZ_CONNECTIONS'] ?? 1);
const log = (m: string): void => console.log(`[bench:serving] ${m}`);

type Kind =
  | { kind: 'ort-loop' }
  | { kind: 'node-server'; noSpin?: boolean }
  | { kind: 'fastapi' }
  | ({ kind: 'infergraph'; load?: 'wrk' | 'ghz' } & Omit<InfergraphOptions, 'kafkaBrokers' | 'cpuProfileDir'>);
type Scenario = { readonly key: string; readonly label: string } & Kind;

interface Section {
  readonly model: 'iris' | 'digits';
  readonly title: string;
  readonly modelPath: string;
  readonly row: readonly number[];
  readonly scenarios: readonly Scenario[];
}

interface Row {
  readonly section: Section['model'];
  readonly key: string;
  readonly scenario: string;
  /** ok; flagged: errors or non-2xx answers; skipped: could not run here; failed: broke while running. */
  readonly status: 'ok' | 'flagged' | 'skipped' | 'failed';
  readonly requestsPerS?: number;
  readonly p50Ms?: number;
  readonly p99Ms?: number;
  readonly peakRssMiB?: number;
  /** Server CPU time (user + system, all its processes) per answered request of the measured run. */
  readonly cpuMsPerRequest?: number;
  readonly errors?: number;
  readonly non2xx?: number;
  readonly timeouts?: number;
  /** Which load generator drove the row: wrk (HTTP) or ghz (V2 gRPC). */
  readonly load?: 'wrk' | 'ghz';
  /** The load generator's CPU time per response of the measured run. */
  readonly loadCpuMsPerRequest?: number;
  ratioVsNodeServer?: number;
  readonly note?: string;
}

const IRIS_ROW = [5.1, 3.5, 1.4, 0.2];
// The first digit of models/digits-mlp/1/golden.json (a 0), 8×8 pixels in 0..16.
const DIGITS_ROW = [
  0, 0, 8, 16, 15, 8, 0, 0, 0, 1, 16, 16, 16, 2, 0, 0, 0, 2, 16, 16, 10, 0, 0, 0, 0, 2, 16, 16, 12, 0, 0, 0, 0, 6, 16, 16, 13, 0, 0, 0, 0, 1, 16, 16, 11, 0, 0, 0, 0,
  0, 16, 16, 10, 0, 0, 0, 0, 0, 7, 15, 15, 0, 0, 0,
];

/** The rows every model gets: ceiling, baselines, and infergraph with one model node (bench/graphs/<model>-model[-batched]). */
function commonScenarios(model: string): Scenario[] {
  return [
    { key: `${model}.ort-loop`, label: 'onnxruntime-node direct loop (ceiling, no HTTP)', kind: 'ort-loop' },
    { key: `${model}.node-server`, label: 'hand-written node:http + onnxruntime-node', kind: 'node-server' },
    { key: `${model}.node-server-no-spin`, label: 'the same, onnxruntime threads not spinning (--no-spin)', kind: 'node-server', noSpin: true },
    { key: `${model}.fastapi`, label: 'FastAPI + onnxruntime (uvicorn, 1 worker)', kind: 'fastapi' },
    { key: `${model}.infergraph`, label: 'infergraph, one-node graph', kind: 'infergraph', graph: `${model}-model`, mode: 'inprocess' },
    { key: `${model}.infergraph-batched`, label: 'infergraph, one-node graph, dynamic batching', kind: 'infergraph', graph: `${model}-model-batched`, mode: 'inprocess' },
    { key: `${model}.infergraph-v2grpc`, label: 'infergraph, one-node graph, called over V2 gRPC (ModelInfer, load by ghz)', kind: 'infergraph', graph: `${model}-model`, mode: 'inprocess', load: 'ghz' },
  ];
}

const SECTIONS: readonly Section[] = [
  {
    model: 'iris',
    title: 'iris logistic regression (1 row × 4 FP32)',
    modelPath: repoPath('models', 'iris-logreg', '1', 'model.onnx'),
    row: IRIS_ROW,
    scenarios: [
      ...commonScenarios('iris'),
      // Two processes answering the port (SERVING_PROCESSES=2): the gateway hands every other connection to a serving process.
      { key: 'iris.infergraph-2p', label: 'infergraph, one-node graph, two processes (SERVING_PROCESSES=2)', kind: 'infergraph', graph: 'iris-model', mode: 'inprocess', gatewayEnv: { SERVING_PROCESSES: '2' } },
      {
        key: 'iris.infergraph-batched-2p',
        label: 'infergraph, one-node graph, dynamic batching (batches of 32), two processes (SERVING_PROCESSES=2)',
        kind: 'infergraph',
        graph: 'iris-model-batched-2p',
        mode: 'inprocess',
        gatewayEnv: { SERVING_PROCESSES: '2' },
      },
      { key: 'iris.infergraph-four-node', label: 'infergraph, four-node graph (transformer → router → model → transformer)', kind: 'infergraph', graph: 'iris-four-node', mode: 'inprocess' },
      { key: 'iris.infergraph-grpc', label: 'infergraph, one-node graph on a worker over gRPC', kind: 'infergraph', graph: 'iris-model', mode: 'grpc' },
      // The router runs in the gateway whatever the transport (routing is the executor's); the other three nodes on the worker.
      { key: 'iris.infergraph-four-node-grpc', label: 'infergraph, four-node graph, every node on a worker over gRPC', kind: 'infergraph', graph: 'iris-four-node', mode: 'grpc' },
      { key: 'iris.infergraph-kafka', label: 'infergraph, one-node graph Kafka-connected to a worker', kind: 'infergraph', graph: 'iris-kafka', mode: 'kafka' },
    ],
  },
  {
    model: 'digits',
    title: 'digits MLP, 2 × 1024 hidden (1 row × 64 FP32)',
    modelPath: repoPath('models', 'digits-mlp', '1', 'model.onnx'),
    row: DIGITS_ROW,
    scenarios: [
      ...commonScenarios('digits'),
      { key: 'digits.infergraph-grpc', label: 'infergraph, one-node graph on a worker over gRPC', kind: 'infergraph', graph: 'digits-model', mode: 'grpc' },
      // The worker's batcher fills from the gateway's stream messages, one message per request.
      { key: 'digits.infergraph-batched-grpc', label: 'infergraph, one-node graph, dynamic batching, on a worker over gRPC', kind: 'infergraph', graph: 'digits-model-batched', mode: 'grpc' },
    ],
  },
];

/** Peak RSS (VmHWM, gateway + worker) of the gRPC row before node calls moved to streams (docs/performance.md, 2026-11-30). */
const PRE_STREAM_GRPC_RSS_MIB = 461;

const selected = (key: string): boolean => ONLY.length === 0 || ONLY.some((w) => (w.endsWith('*') ? key.startsWith(w.slice(0, -1)) : key === w));

class Bench {
  private readonly group = new ProcessGroup();
  private kafka: { brokers: string[]; stop: () => void } | ScenarioSkipped | undefined;

  async section(section: Section): Promise<Row[]> {
    const body = JSON.stringify({ inputs: [{ name: 'input', shape: [1, section.row.length], datatype: 'FP32', data: section.row }] });
    const rows: Row[] = [];
    for (const s of section.scenarios.filter((x) => selected(x.key))) {
      log(`${s.key}: ${s.label}`);
      const base = { section: section.model, key: s.key, scenario: s.label };
      try {
        rows.push({ ...base, ...(await this.scenario(section, s, body)) });
      } catch (err) {
        const skipped = err instanceof ScenarioSkipped;
        const note = err instanceof Error ? err.message : String(err);
        log(`${s.key}: ${skipped ? 'skipped' : 'FAILED'}: ${note}`);
        rows.push({ ...base, status: skipped ? 'skipped' : 'failed', note: skipped ? note : note.split('\n')[0] });
      }
    }
    const baseline = rows.find((r) => r.key === `${section.model}.node-server` && r.status === 'ok');
    for (const r of rows) if (baseline?.requestsPerS !== undefined && r.requestsPerS !== undefined) r.ratioVsNodeServer = r.requestsPerS / baseline.requestsPerS;
    return rows;
  }

  private async scenario(section: Section, s: Scenario, body: string): Promise<Omit<Row, 'section' | 'key' | 'scenario'>> {
    if (s.kind === 'ort-loop') {
      log(`  ${CONNECTIONS} promise chains for ${WARMUP_S} s warm-up + ${DURATION_S} s…`);
      const r = await runOrtLoop(section.modelPath, 'input', section.row, CONNECTIONS, DURATION_S, WARMUP_S);
      return { status: 'ok', requestsPerS: r.requestsPerS, p50Ms: r.p50Ms, p99Ms: r.p99Ms, peakRssMiB: peakRssMiB(process.pid), cpuMsPerRequest: r.cpuMsPerRequest, note: 'in the bench process; RSS is the bench process' };
    }
    if (s.kind === 'infergraph' && s.load === 'ghz' && GHZ === undefined) throw new ScenarioSkipped('ghz is not built here (scripts/ghz/ensure.mjs failed; see its message above)');
    const target = await this.start(section, s);
    try {
      await probe(target, body, s.kind === 'infergraph' && s.mode === 'kafka' ? 90_000 : 30_000);
      if (s.kind === 'infergraph' && s.load === 'ghz') return await this.grpcLoad(section, target);
      log(`  load: wrk, ${CONNECTIONS} connections on ${WRK_THREADS} thread(s), ${WARMUP_S} s warm-up + ${DURATION_S} s…`);
      let cpuBefore = Number.NaN;
      const r = await runLoad(this.group, { url: target.inferUrl, body, connections: CONNECTIONS, threads: WRK_THREADS, durationS: DURATION_S, warmupS: WARMUP_S, onMeasureStart: () => (cpuBefore = target.cpuSeconds()) });
      const cpuMsPerRequest = ((target.cpuSeconds() - cpuBefore) * 1000) / r.ok;
      const bad = r.errors + r.non2xx + r.timeouts;
      const codes = Object.entries(r.statuses).map(([code, n]) => `${n} × ${code}`).join(', ');
      log(`  ${num(r.requestsPerS, 0)} req/s, p50 ${num(r.p50Ms, 2)} / p99 ${num(r.p99Ms, 2)} ms, server CPU ${num(cpuMsPerRequest, 3)} ms/req, wrk CPU ${num(r.loadCpuMsPerRequest, 3)} ms/req; responses: ${codes === '' ? 'none' : codes}`);
      return {
        status: bad === 0 ? 'ok' : 'flagged',
        load: 'wrk',
        requestsPerS: r.requestsPerS,
        p50Ms: r.p50Ms,
        p99Ms: r.p99Ms,
        peakRssMiB: target.peakRssMiB(),
        cpuMsPerRequest,
        errors: r.errors,
        non2xx: r.non2xx,
        timeouts: r.timeouts,
        loadCpuMsPerRequest: r.loadCpuMsPerRequest,
        ...(bad === 0 ? {} : { note: `${r.errors} socket errors, ${r.non2xx} non-2xx (${codes}), ${r.timeouts} timeouts` }),
      };
    } finally {
      await target.stop();
    }
  }

  /** The measured run of a ghz-driven row: ModelInfer calls to the gateway's V2 gRPC port. */
  private async grpcLoad(section: Section, target: ServingTarget): Promise<Omit<Row, 'section' | 'key' | 'scenario'>> {
    if (target.grpcAddress === undefined || GHZ === undefined) throw new ScenarioSkipped('this server has no V2 gRPC port');
    const model = /\/v2\/models\/([^/]+)\/infer$/.exec(target.inferUrl)?.[1] ?? '';
    const request = { model_name: model, inputs: [{ name: 'input', datatype: 'FP32', shape: [1, section.row.length], contents: { fp32_contents: section.row } }] };
    log(`  load: ghz, ${CONNECTIONS} calls in flight on ${GHZ_CONNECTIONS} HTTP/2 connection(s), ${WARMUP_S} s warm-up + ${DURATION_S} s…`);
    let cpuBefore = Number.NaN;
    const r = await runGrpcLoad(this.group, {
      ghz: GHZ,
      address: target.grpcAddress,
      protoPath: V2_PROTO_PATH,
      request,
      concurrency: CONNECTIONS,
      connections: GHZ_CONNECTIONS,
      durationS: DURATION_S,
      warmupS: WARMUP_S,
      onMeasureStart: () => (cpuBefore = target.cpuSeconds()),
    });
    const cpuMsPerRequest = ((target.cpuSeconds() - cpuBefore) * 1000) / r.ok;
    const codes = Object.entries(r.statuses).map(([code, n]) => `${n} × ${code}`).join(', ');
    log(`  ${num(r.requestsPerS, 0)} calls/s, p50 ${num(r.p50Ms, 2)} / p99 ${num(r.p99Ms, 2)} ms, server CPU ${num(cpuMsPerRequest, 3)} ms/call, ghz CPU ${num(r.loadCpuMsPerRequest, 3)} ms/call; answers: ${codes === '' ? 'none' : codes}`);
    return {
      status: r.failed === 0 ? 'ok' : 'flagged',
      load: 'ghz',
      requestsPerS: r.requestsPerS,
      p50Ms: r.p50Ms,
      p99Ms: r.p99Ms,
      peakRssMiB: target.peakRssMiB(),
      cpuMsPerRequest,
      loadCpuMsPerRequest: r.loadCpuMsPerRequest,
      ...(r.failed === 0 ? {} : { note: `${r.failed} calls not OK (${codes})` }),
    };
  }

  private start(section: Section, s: Scenario): Promise<ServingTarget> {
    const name = path.basename(path.dirname(path.dirname(section.modelPath)));
    switch (s.kind) {
      case 'node-server':
        return startNodeServer(this.group, section.modelPath, name, s.noSpin === true, CPU_PROF);
      case 'fastapi':
        return startFastApi(this.group, section.modelPath, name);
      case 'infergraph':
        return startInfergraph(this.group, { ...s, kafkaBrokers: s.mode === 'kafka' ? this.brokers() : [], cpuProfileDir: CPU_PROF });
      case 'ort-loop':
        throw new Error('the ORT loop starts no server');
    }
  }

  private brokers(): string[] {
    if (this.kafka === undefined) {
      try {
        const kafka = kafkaBrokers();
        this.group.atExit(kafka.stop);
        this.kafka = kafka;
      } catch (err) {
        this.kafka = err instanceof ScenarioSkipped ? err : new ScenarioSkipped(String(err));
      }
    }
    if (this.kafka instanceof ScenarioSkipped) throw this.kafka;
    return this.kafka.brokers;
  }

  async micro(): Promise<Micro> {
    const notes: string[] = [];
    const attempt = async <T>(what: string, run: () => Promise<T>): Promise<T | undefined> => {
      try {
        return await run();
      } catch (err) {
        notes.push(`${what} failed: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`);
        return undefined;
      }
    };
    let nodeOverhead: NodeOverhead | undefined;
    let grpcHop: HopLatency | undefined;
    let requestPath: RequestPathCost | undefined;
    let coalescing: CoalescingCost | undefined;
    if (selected('micro.request-path')) {
      log(`micro.request-path: iris request path without HTTP, in-process, ${CONNECTIONS} in flight: infergraph vs the hand-written server's code…`);
      requestPath = await attempt('request path', () => measureRequestPath(CONNECTIONS));
    }
    if (selected('micro.node-overhead')) {
      log('micro.node-overhead: executor in-process, chains of 1 and 9 clip transformers, one request at a time…');
      nodeOverhead = await attempt('node overhead', () => measureNodeOverhead());
    }
    if (selected('micro.grpc-hop')) {
      log('micro.grpc-hop: iris classifier node, in-process vs a worker process over gRPC, concurrency 1…');
      grpcHop = await attempt('gRPC hop', () => measureGrpcHop(this.group, CPU_PROF));
    }
    if (selected('micro.grpc-coalescing')) {
      log(`micro.grpc-coalescing: batched digits node on a worker, ${CONNECTIONS} one-row calls in flight: one stream message per request vs stacked in the caller…`);
      coalescing = await attempt('gRPC coalescing', () => measureGrpcCoalescing(this.group, CONNECTIONS, DURATION_S, CPU_PROF));
    }
    return { nodeOverhead, grpcHop, requestPath, coalescing, notes };
  }

  /** Stops every child; the broker, if this run started it, stops when the process exits. */
  async close(): Promise<void> {
    await this.group.stopAll();
  }
}

interface Micro {
  readonly nodeOverhead?: NodeOverhead | undefined;
  readonly grpcHop?: HopLatency | undefined;
  readonly requestPath?: RequestPathCost | undefined;
  readonly coalescing?: CoalescingCost | undefined;
  readonly notes: string[];
}

interface Target {
  readonly name: string;
  readonly status: 'PASS' | 'MISS' | 'SKIP';
  readonly detail: string;
}

function targets(rows: readonly Row[], micro: Micro): Target[] {
  const find = (key: string): Row | undefined => rows.find((r) => r.key === key && r.status === 'ok');
  const ratio = (name: string, key: string, base: string, field: 'requestsPerS' | 'p99Ms' | 'cpuMsPerRequest', bound: number, atLeast: boolean): Target => {
    const [a, b] = [find(key)?.[field], find(base)?.[field]];
    if (a === undefined || b === undefined) return { name, status: 'SKIP', detail: `${find(key) === undefined ? key : base} not measured` };
    const r = a / b;
    const digits = field === 'requestsPerS' ? 0 : field === 'p99Ms' ? 2 : 3;
    return { name, status: (atLeast ? r >= bound : r <= bound) ? 'PASS' : 'MISS', detail: `${r.toFixed(2)}× (${a.toFixed(digits)} vs ${b.toFixed(digits)})` };
  };
  const peakRss = (name: string, value: number | undefined, max: number): Target =>
    value === undefined ? { name, status: 'SKIP', detail: 'iris.infergraph-grpc not measured' } : { name, status: value <= max ? 'PASS' : 'MISS', detail: `${value.toFixed(0)} MiB (bound ${max.toFixed(0)} MiB)` };
  const bound = (name: string, value: number | undefined, max: number, unit: string): Target =>
    value === undefined ? { name, status: 'SKIP', detail: 'not measured' } : { name, status: value <= max ? 'PASS' : 'MISS', detail: `${value.toFixed(unit === 'µs' ? 1 : 3)} ${unit}` };
  return [
    ratio('iris: infergraph one-node throughput ≥ 0.9× node server', 'iris.infergraph', 'iris.node-server', 'requestsPerS', 0.9, true),
    ratio('iris: infergraph one-node p99 ≤ 1.2× node server', 'iris.infergraph', 'iris.node-server', 'p99Ms', 1.2, false),
    ratio('iris: infergraph one-node with dynamic batching throughput ≥ 0.9× node server', 'iris.infergraph-batched', 'iris.node-server', 'requestsPerS', 0.9, true),
    ratio('iris: infergraph one-node with dynamic batching p99 ≤ 1.2× node server', 'iris.infergraph-batched', 'iris.node-server', 'p99Ms', 1.2, false),
    ratio('digits: infergraph dynamic batching throughput ≥ 2× node server', 'digits.infergraph-batched', 'digits.node-server', 'requestsPerS', 2, true),
    ratio('digits: infergraph dynamic batching throughput ≥ 2× node server --no-spin', 'digits.infergraph-batched', 'digits.node-server-no-spin', 'requestsPerS', 2, true),
    // Issue 22, under wrk.
    ratio('iris: infergraph one-node throughput ≥ 1.0× node server', 'iris.infergraph', 'iris.node-server', 'requestsPerS', 1, true),
    ratio('iris: infergraph one-node p99 ≤ 1.0× node server', 'iris.infergraph', 'iris.node-server', 'p99Ms', 1, false),
    ratio('iris: infergraph one-node server CPU per request ≤ 1.0× node server', 'iris.infergraph', 'iris.node-server', 'cpuMsPerRequest', 1, false),
    ratio('digits: infergraph one-node throughput ≥ 1.0× node server', 'digits.infergraph', 'digits.node-server', 'requestsPerS', 1, true),
    ratio('iris: infergraph dynamic batching throughput ≥ 2.5× node server', 'iris.infergraph-batched', 'iris.node-server', 'requestsPerS', 2.5, true),
    ratio('digits: infergraph dynamic batching throughput ≥ 4× node server', 'digits.infergraph-batched', 'digits.node-server', 'requestsPerS', 4, true),
    // The same target with both cores answering HTTP: one event loop bounds the row above (docs/performance.md).
    ratio('iris: infergraph dynamic batching, SERVING_PROCESSES=2, throughput ≥ 2.5× node server', 'iris.infergraph-batched-2p', 'iris.node-server', 'requestsPerS', 2.5, true),
    bound('in-process overhead per extra graph node ≤ 25 µs (chain)', micro.nodeOverhead?.perNodeUs, 25, 'µs'),
    bound('in-process overhead per extra graph node ≤ 25 µs (general scheduler)', micro.nodeOverhead?.schedulerPerNodeUs, 25, 'µs'),
    bound('gRPC hop p50 ≤ 0.3 ms', micro.grpcHop?.hopP50Ms, 0.3, 'ms'),
    // Issue 15.
    ratio('iris: four-node graph in-process throughput ≥ 0.8× one-node in-process', 'iris.infergraph-four-node', 'iris.infergraph', 'requestsPerS', 0.8, true),
    ratio('iris: one-node graph on a worker over gRPC throughput ≥ 0.6× in-process', 'iris.infergraph-grpc', 'iris.infergraph', 'requestsPerS', 0.6, true),
    ratio('iris: four-node graph, every node on a worker over gRPC, throughput ≥ 0.4× one-node in-process', 'iris.infergraph-four-node-grpc', 'iris.infergraph', 'requestsPerS', 0.4, true),
    bound('gRPC hop p50 ≤ 0.25 ms', micro.grpcHop?.hopP50Ms, 0.25, 'ms'),
    peakRss(`iris: gRPC row peak RSS, gateway + worker, ≤ 1.5× the pre-stream ${PRE_STREAM_GRPC_RSS_MIB} MiB`, find('iris.infergraph-grpc')?.peakRssMiB, 1.5 * PRE_STREAM_GRPC_RSS_MIB),
  ];
}

const num = (v: number | undefined, digits: number): string => (v === undefined || Number.isNaN(v) ? '–' : v.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }));

function printRows(section: Section, rows: readonly Row[]): void {
  console.log(`\n${section.title}: wrk, ${CONNECTIONS} connections on ${WRK_THREADS} thread(s), ${DURATION_S} s per row`);
  console.log('| scenario | load | req/s | p50 ms | p99 ms | peak RSS MiB | server CPU ms/req | ratio vs node server |');
  console.log('|---|---|---|---|---|---|---|---|');
  for (const r of rows) {
    if (r.status === 'skipped' || r.status === 'failed') {
      console.log(`| ${r.scenario} | | ${r.status}: ${r.note ?? ''} | | | | | |`);
      continue;
    }
    const flag = r.status === 'flagged' ? ` (FLAGGED: ${r.note ?? ''})` : '';
    console.log(`| ${r.scenario}${flag} | ${r.load ?? 'in-process'} | ${num(r.requestsPerS, 0)} | ${num(r.p50Ms, 2)} | ${num(r.p99Ms, 2)} | ${num(r.peakRssMiB, 0)} | ${num(r.cpuMsPerRequest, 3)} | ${num(r.ratioVsNodeServer, 2)} |`);
  }
}

async function main(): Promise<void> {
  const bench = new Bench();
  const rows: Row[] = [];
  let micro: Awaited<ReturnType<Bench['micro']>>;
  try {
    for (const section of SECTIONS) rows.push(...(await bench.section(section)));
    micro = await bench.micro();
  } finally {
    await bench.close();
  }
  for (const section of SECTIONS) {
    const mine = rows.filter((r) => r.section === section.model);
    if (mine.length > 0) printRows(section, mine);
  }
  console.log('\nmicro-measurements (in the bench process, one request at a time)');
  console.log('| measurement | value |');
  console.log('|---|---|');
  const p = micro.requestPath;
  if (p !== undefined) {
    console.log(`| iris request path without HTTP, ${p.concurrency} in flight, CPU µs per request: infergraph (decode, infer, encode) / hand-written (parse, run, stringify) | ${num(p.infergraphUs, 1)} / ${num(p.handWrittenUs, 1)} (${num(p.infergraphUs - p.handWrittenUs, 1)} µs more) |`);
    console.log(`| the same infergraph path through the four-node graph (transformer → router → model → transformer), CPU µs per request | ${num(p.fourNodeUs, 1)} (${num(p.fourNodeUs - p.infergraphUs, 1)} µs more than one node) |`);
  }
  const o = micro.nodeOverhead;
  if (o !== undefined) {
    console.log(`| executor, 1 vs ${o.nodes} clip transformers: µs per extra node | ${num(o.perNodeUs, 1)} (1 node ${num(o.oneNodeUs, 1)} µs, ${o.nodes} nodes ${num(o.chainUs, 1)} µs) |`);
    console.log(`| the same through the general scheduler (graphs with routers, combiners, detectors): µs per extra node | ${num(o.schedulerPerNodeUs, 1)} (1 node ${num(o.schedulerOneNodeUs, 1)} µs, ${o.nodes} nodes ${num(o.schedulerChainUs, 1)} µs) |`);
  }
  const h = micro.grpcHop;
  if (h !== undefined) {
    console.log(`| iris node call in-process: p50 / p99 ms | ${num(h.inProcessP50Ms, 3)} / ${num(h.inProcessP99Ms, 3)} |`);
    console.log(`| same node on a worker over gRPC: p50 / p99 ms | ${num(h.grpcP50Ms, 3)} / ${num(h.grpcP99Ms, 3)} |`);
    console.log(`| gRPC hop (p50 difference) ms | ${num(h.hopP50Ms, 3)} |`);
    console.log(`| floor: same client, bare grpc-js server answering without inference: p50 / p99 ms | ${num(h.bareGrpcP50Ms, 3)} / ${num(h.bareGrpcP99Ms, 3)} |`);
    console.log(`| floor by call kind, the same bare server: grpc-js unary ModelInfer / one message on an open ModelStreamInfer stream, p50 ms | ${num(h.bareUnaryP50Ms, 3)} / ${num(h.bareGrpcP50Ms, 3)} |`);
    console.log(`| the same bare server answering one event-loop turn later (setImmediate): p50 / p99 ms | ${num(h.deferredGrpcP50Ms, 3)} / ${num(h.deferredGrpcP99Ms, 3)} |`);
  }
  const c = micro.coalescing;
  if (c !== undefined) {
    const show = (r: CoalescingRun): string => `${num(r.requestsPerS, 0)} req/s, ${num(r.cpuMsPerRequest, 3)} CPU ms/req, p50 ${num(r.p50Ms, 2)} / p99 ${num(r.p99Ms, 2)} ms, ${num(r.messagesPerRequest, 3)} messages/req`;
    console.log(`| batched digits node on a worker, ${c.concurrency} one-row calls in flight: one stream message per request (the worker's batcher fills from them) | ${show(c.perRequest)} |`);
    console.log(`| the same, stacked in the caller first (one message per batch) | ${show(c.coalesced)} |`);
  }
  for (const n of micro.notes) console.log(`| ${n} | |`);
  const checks = targets(rows, micro);
  console.log('\ntargets');
  for (const t of checks) console.log(`${t.status} ${t.name}: ${t.detail}`);

  const out = repoPath('bench', 'results');
  mkdirSync(out, { recursive: true });
  const cpu = cpus();
  const machine = { cpuModel: cpu[0]?.model ?? 'unknown', cpus: cpu.length, memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version, platform: `${process.platform} ${process.arch}` };
  const result = { date: new Date().toISOString(), machine, load: 'wrk', wrkThreads: WRK_THREADS, connections: CONNECTIONS, durationS: DURATION_S, warmupS: WARMUP_S, scenarios: ONLY, cpuProfiled: CPU_PROF !== undefined, rows, micro: { nodeOverhead: micro.nodeOverhead, grpcHop: micro.grpcHop, requestPath: micro.requestPath, coalescing: micro.coalescing, notes: micro.notes }, targets: checks };
  // A filtered run never overwrites the figures of the last complete one.
  const file = path.join(out, ONLY.length === 0 ? 'serving.json' : 'serving-partial.json');
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  console.log(`\nwrote ${path.relative(repoPath(), file)}`);
  if (rows.some((r) => r.status === 'failed') || micro.notes.length > 0) process.exitCode = 1;
}

main().then(
  () => process.exit(),
  (err: unknown) => {
    console.error(err instanceof Error ? err.stack : String(err));
    process.exit(1);
  },
);
