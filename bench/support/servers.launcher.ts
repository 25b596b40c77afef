import { spawnSync, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { freePort } from '../../test/support/gateway.process';
import { repoPath } from '../../test/support/repo';
import { cpuSeconds, peakRssMiB, processTree, tail, type ProcessGroup, type TrackedProcess } from './process-group';

/** A scenario that cannot run here (no Python, no broker, a graph this branch cannot load). */
export class ScenarioSkipped extends Error {}

/** One started server under test: where to send requests, and the processes that serve them. */
export interface ServingTarget {
  readonly inferUrl: string;
  /** host:port of the server's V2 gRPC front end, when it has one (infergraph gateways). */
  readonly grpcAddress?: string;
  /** Sum of the peak RSS of every process serving the requests. */
  peakRssMiB(): number;
  /** Sum of the CPU seconds every process serving the requests has used so far. */
  cpuSeconds(): number;
  stop(): Promise<void>;
}

const log = (m: string): void => console.log(`[bench:serving] ${m}`);

function targetOf(group: ProcessGroup, inferUrl: string, children: readonly ChildProcess[], grpcAddress?: string): ServingTarget {
  return {
    inferUrl,
    ...(grpcAddress === undefined ? {} : { grpcAddress }),
    // Each process with its descendants: a gateway's serving processes (SERVING_PROCESSES) count as its own.
    peakRssMiB: () => children.reduce((sum, c) => sum + processTree(c.pid).reduce((s, pid) => s + peakRssMiB(pid), 0), 0),
    cpuSeconds: () => children.reduce((sum, c) => sum + processTree(c.pid).reduce((s, pid) => s + cpuSeconds(pid), 0), 0),
    stop: async () => {
      await Promise.all(children.map((c) => group.stop(c)));
    },
  };
}

/** The hand-written node:http + onnxruntime-node server (bench/servers/node-ort.server.ts); `noSpin` adds --no-spin. */
export async function startNodeServer(group: ProcessGroup, modelPath: string, modelName: string, noSpin: boolean, cpuProfileDir?: string): Promise<ServingTarget> {
  const nodeArgs = cpuProfileArgs(cpuProfileDir, `${modelName}.node-server${noSpin ? '-no-spin' : ''}`);
  const server = group.spawn('node-ort server', process.execPath, [...nodeArgs, path.resolve(__dirname, '..', 'servers', 'node-ort.server.js'), modelPath, modelName, ...(noSpin ? ['--no-spin'] : [])]);
  const [, base] = await server.waitFor(/listening on (http:\/\/[\d.]+:\d+)/, 30_000);
  return targetOf(group, `${base}/v2/models/${modelName}/infer`, [server.child]);
}

/** The Python interpreter of .cache/venv-bench, created on first use; ScenarioSkipped when that fails. */
function benchPython(): string {
  log('preparing the FastAPI venv (.cache/venv-bench, bench/servers/fastapi-venv.sh)…');
  const r = spawnSync('bash', [repoPath('bench', 'servers', 'fastapi-venv.sh')], { cwd: repoPath(), encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: 600_000 });
  const python = (r.stdout ?? '').trim().split('\n').pop() ?? '';
  if (r.error !== undefined) throw new ScenarioSkipped(`cannot create the Python venv: ${r.error.message}`);
  if (r.status !== 0 || python === '') throw new ScenarioSkipped(`cannot create the Python venv (bench/servers/fastapi-venv.sh exited ${r.status ?? r.signal}; see its output above)`);
  return python;
}

/** FastAPI + onnxruntime under uvicorn, one worker (bench/servers/fastapi_ort.py). */
export async function startFastApi(group: ProcessGroup, modelPath: string, modelName: string): Promise<ServingTarget> {
  const python = benchPython();
  const port = await freePort();
  const server = group.spawn('fastapi server', python, [repoPath('bench', 'servers', 'fastapi_ort.py'), modelPath, modelName, String(port)]);
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    const res = await fetch(`${base}/v2/health/ready`).catch(() => undefined);
    if (res?.status === 200) break;
    if (server.child.exitCode !== null) throw new ScenarioSkipped(`the FastAPI server exited with ${server.child.exitCode}: ${tail(server.output(), 3)}`);
    if (Date.now() > deadline) throw new Error(`the FastAPI server did not answer within 60 s:\n${tail(server.output())}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return targetOf(group, `${base}/v2/models/${modelName}/infer`, [server.child]);
}

/**
 * Node flags that make a process write CPU profiles into `<dir>/<name>/` when it stops (not allowed in
 * NODE_OPTIONS), one per thread under Node's own names: the main thread's is `CPU.<date>.<time>.<pid>.0.<seq>.cpuprofile`
 * (thread id 0). Worker threads inherit the flags, so one fixed file name would leave whichever thread ended
 * last. The preload makes SIGTERM a normal exit, so the profiles get written.
 */
export function cpuProfileArgs(dir: string | undefined, name: string): string[] {
  if (dir === undefined) return [];
  const preload = path.resolve(__dirname, 'exit-on-sigterm.preload.js');
  return ['--cpu-prof', `--cpu-prof-dir=${path.join(path.resolve(dir), name)}`, '--require', preload];
}

/** A worker process (dist/apps/worker) on a free loopback port, serving every node of GRAPHS_DIR. */
export async function startWorkerProcess(group: ProcessGroup, env: Readonly<Record<string, string>>, nodeArgs: readonly string[] = []): Promise<{ address: string; process: TrackedProcess }> {
  const port = await freePort();
  const worker = group.spawn('worker', process.execPath, [...nodeArgs, repoPath('dist', 'apps', 'worker', 'src', 'main.js')], {
    cwd: repoPath(),
    env: { ...process.env, HOST: '127.0.0.1', LOG_FORMAT: 'json', ...env, WORKER_PORT: String(port) },
  });
  await worker.waitFor(/worker listening on grpc:\/\//, 60_000).catch(async (err: unknown) => {
    await group.stop(worker.child);
    throw err;
  });
  return { address: `127.0.0.1:${port}`, process: worker };
}

/** A gateway process (dist/apps/gateway) on free loopback ports; resolves once its graphs settled. */
export async function startGatewayProcess(group: ProcessGroup, env: Readonly<Record<string, string>>, nodeArgs: readonly string[] = []): Promise<{ baseUrl: string; grpcAddress: string; process: TrackedProcess }> {
  const grpcPort = await freePort();
  const gateway = group.spawn('gateway', process.execPath, [...nodeArgs, repoPath('dist', 'apps', 'gateway', 'src', 'main.js')], {
    cwd: repoPath(),
    // info: the gateway says where it listens at that level; it logs nothing per request.
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', LOG_FORMAT: 'json', LOG_LEVEL: 'info', ...env, GRPC_PORT: String(grpcPort) },
  });
  try {
    const [, baseUrl = ''] = await gateway.waitFor(/listening on (http:\/\/[\d.]+:\d+)/, 60_000);
    const deadline = Date.now() + 60_000;
    for (;;) {
      const res = await fetch(`${baseUrl}/v2/health/ready`).catch(() => undefined);
      if (res?.status === 200) return { baseUrl, grpcAddress: `127.0.0.1:${grpcPort}`, process: gateway };
      if (gateway.child.exitCode !== null || gateway.child.signalCode !== null) throw new Error(`gateway exited:\n${tail(gateway.output())}`);
      if (Date.now() > deadline) throw new Error(`gateway not ready within 60 s:\n${tail(gateway.output())}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  } catch (err) {
    await group.stop(gateway.child);
    throw err;
  }
}

export interface InfergraphOptions {
  /** Directory under bench/graphs/ holding the graph file; also the graph's name. */
  readonly graph: string;
  /** in-process nodes, nodes on one worker process over gRPC, or nodes through Kafka to one worker. */
  readonly mode: 'inprocess' | 'grpc' | 'kafka';
  readonly kafkaBrokers?: readonly string[];
  /** More of the gateway's environment (e.g. SERVING_PROCESSES). */
  readonly gatewayEnv?: Readonly<Record<string, string>>;
  /** Where gateway and worker write CPU profiles (node --cpu-prof); none when undefined. */
  readonly cpuProfileDir?: string | undefined;
}

/**
 * A gateway process serving one bench graph (plus a worker process for the gRPC and Kafka modes). A graph
 * the gateway fails to load (e.g. a field this branch does not know yet) is a ScenarioSkipped naming why.
 */
export async function startInfergraph(group: ProcessGroup, options: InfergraphOptions): Promise<ServingTarget> {
  const graphsDir = path.join('bench', 'graphs', options.graph);
  const base: Record<string, string> = { GRAPHS_DIR: graphsDir };
  const children: ChildProcess[] = [];
  try {
    let env = { ...base };
    if (options.mode === 'kafka') {
      const prefix = `bench${Date.now().toString(36)}`;
      env = { ...env, KAFKA_BROKERS: (options.kafkaBrokers ?? []).join(','), KAFKA_TOPIC_PREFIX: prefix, KAFKA_GROUP_ID: `${prefix}.gw` };
    }
    if (options.mode !== 'inprocess') {
      log(`starting a worker process (GRAPHS_DIR=${graphsDir}${options.mode === 'kafka' ? ', Kafka-connected nodes' : ''})…`);
      const worker = await startWorkerProcess(group, env, cpuProfileArgs(options.cpuProfileDir, `${options.graph}.${options.mode}.worker`));
      children.push(worker.process.child);
      if (options.mode === 'grpc') env = { ...env, NODE_TRANSPORT: 'grpc', WORKERS: worker.address };
    }
    log(`starting a gateway process (GRAPHS_DIR=${graphsDir}${options.mode === 'grpc' ? ', NODE_TRANSPORT=grpc' : ''})…`);
    const gateway = await startGatewayProcess(group, { ...env, ...options.gatewayEnv }, cpuProfileArgs(options.cpuProfileDir, `${options.graph}.${options.mode}.gateway`));
    children.push(gateway.process.child);
    const graphs = (await (await fetch(`${gateway.baseUrl}/v1/graphs`)).json()) as { graphs: { name: string; state: string; error?: string }[] };
    const entry = graphs.graphs.find((g) => g.name === options.graph);
    if (entry?.state !== 'ready') {
      // The loader's message names the file on every line; keep the problems.
      const problems = (entry?.error ?? '').split('\n').slice(1).map((l) => l.trim().replace(/^\S+\.ya?ml:\d+:\d+ /, '')).filter((l) => l !== '');
      const why = problems.length > 0 ? problems.join('; ') : (entry?.error ?? 'not listed by GET /v1/graphs');
      throw new ScenarioSkipped(`graph ${options.graph} did not load on this branch: ${why}`);
    }
    return targetOf(group, `${gateway.baseUrl}/v2/models/${options.graph}/infer`, children, gateway.grpcAddress);
  } catch (err) {
    await Promise.all(children.map((c) => group.stop(c)));
    throw err;
  }
}

/**
 * Sends one request until it answers 200 (a Kafka-connected node answers once its worker's consumers
 * joined); a 4xx/5xx other than 503 is a setup error worth seeing before load starts.
 */
export async function probe(target: ServingTarget, body: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    const res = await fetch(target.inferUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body, signal: AbortSignal.timeout(10_000) }).catch((err: unknown) => {
      last = err instanceof Error ? err.message : String(err);
      return undefined;
    });
    if (res?.status === 200) return;
    if (res !== undefined) {
      last = `${res.status} ${(await res.text()).slice(0, 300)}`;
      if (res.status !== 503 && res.status !== 504) throw new Error(`probe request to ${target.inferUrl} failed: ${last}`);
    }
    if (Date.now() > deadline) throw new Error(`probe request to ${target.inferUrl} did not succeed within ${timeoutMs} ms: ${last}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** KAFKA_BROKERS, or the project's broker (scripts/kafka/broker.mjs start); ScenarioSkipped when it cannot start. */
export function kafkaBrokers(): { brokers: string[]; stop: () => void } {
  const given = (process.env['KAFKA_BROKERS'] ?? '').split(',').filter((b) => b !== '');
  if (given.length > 0) return { brokers: given, stop: () => undefined };
  log('starting the project Kafka broker (scripts/kafka/broker.mjs start)…');
  const script = repoPath('scripts', 'kafka', 'broker.mjs');
  const r = spawnSync(process.execPath, [script, 'start'], { cwd: repoPath(), encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 300_000 });
  const address = (r.stdout ?? '').split('\n').map((l) => l.trim()).filter((l) => /^[\w.-]+:\d+$/.test(l)).pop();
  if (r.status !== 0 || address === undefined) {
    const why = (r.stderr ?? '').trim().split('\n').filter((l) => l.includes('rror')).pop() ?? r.error?.message ?? `exit ${r.status ?? r.signal}`;
    throw new ScenarioSkipped(`the Kafka broker could not start: ${why}`);
  }
  const startedHere = !(r.stderr ?? '').includes('already listens');
  let stopped = false;
  return {
    brokers: [address],
    stop: () => {
      if (!startedHere || stopped) return;
      stopped = true;
      log('stopping the Kafka broker this run started…');
      spawnSync(process.execPath, [script, 'stop'], { cwd: repoPath(), stdio: 'ignore' });
    },
  };
}
