import { Agent, createServer, request, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { GraphRegistry, graphFilesIn } from '@infergraph/engine';
import { EngineMetrics, StructuredLogger, TracingSdk } from '@infergraph/telemetry';
import { AppModule } from '../app.module';
import { loadGatewayConfig, type GatewayConfig } from '../config/gateway.config';
import { answerLiveness, deadlineOptions, guardServer } from '../http/connection-guards';
import { inferTarget } from '../http/infer.route';
import { RawHttpRoutes } from '../http/raw-routes';
import { FORWARD_SOCKET, SERVING_ENV } from './serving-pool';
import { parseToServing, type ServedGraph, type ToGateway } from './serving.protocol';

/** The longest a serving process waits for its graphs before it says it is ready. */
const READY_WAIT_MS = 60_000;
/** Requests passed to the gateway at once over its socket, per serving process. */
const FORWARD_SOCKETS = 64;
/** Headers that belong to one connection, not to the request passed on. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'upgrade']);

/**
 * A serving process (SERVING_PROCESSES > 1; started by the gateway's ServingPool, never by hand): the
 * gateway's engine over the same graph files and settings, without its ports, Kafka streams, watcher or
 * controller. It answers inference requests for the graphs the gateway lists (same version, same file hash)
 * on the connections the gateway hands it, and passes every other request to the gateway over the private
 * forward socket. It exits when the gateway says stop (after its requests in flight) or goes away.
 */
export async function runServingProcess(): Promise<void> {
  const index = Number(process.env[SERVING_ENV.index]);
  const dir = process.env[SERVING_ENV.dir] ?? '';
  if (!(index >= 1) || dir === '' || process.send === undefined) throw new Error('a serving process is started by its gateway (SERVING_PROCESSES), not by hand');
  const gatewayConfig = loadGatewayConfig();
  // Only the gateway streams Kafka topics, follows graph files and counts as SERVING_PROCESSES' owner.
  const config: GatewayConfig = Object.freeze({ ...gatewayConfig, servingProcesses: 1, watch: undefined, kafka: Object.freeze({ ...gatewayConfig.kafka, brokers: Object.freeze([]) }) });
  const t = config.telemetry;
  const logger = new StructuredLogger({ component: `gateway-serving-${index}`, format: t.logFormat, level: t.logLevel });
  const tracing = t.tracing ? await TracingSdk.start(t.serviceName ?? 'infergraph-gateway') : undefined;
  const rawRoutes = new RawHttpRoutes();
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forConfig(config, logger, tracing, rawRoutes), new FastifyAdapter(), { logger, bodyParser: false });
  await app.init();
  const registry = app.get(GraphRegistry);
  const metrics = app.get(EngineMetrics);
  const served = new ServedGraphs(registry, config, new Logger('serving'));
  const forward = forwarder(path.join(dir, FORWARD_SOCKET));

  const h = config.http;
  let guard: (req: IncomingMessage, res: ServerResponse) => void = () => undefined;
  const server: Server = createServer(deadlineOptions(h), (req, res) => {
    guard(req, res);
    if (answerLiveness(req, res)) return;
    if (req.method === 'POST' && served.answersHere(req.url ?? '') && rawRoutes.dispatch(req, res)) return;
    forward(req, res);
  });
  guard = guardServer(server, h);
  // Listening (on a socket of the private directory, which nothing connects to) starts node:http's checks of
  // header and request deadlines; the connections themselves come from the gateway.
  // A serving process started again finds its predecessor's socket file (the directory is the gateway's own).
  const own = path.join(dir, `serving-${index}.sock`);
  rmSync(own, { force: true });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(own, () => resolve());
  });

  // The connections handed here: node:http's server does not count sockets given to it with 'connection', so
  // its close() would not wait for them.
  const open = new Set<Socket>();
  let stopping = false;
  const stop = (why: string): void => {
    if (stopping) return;
    stopping = true;
    Logger.log(`${why}: finishing the requests in flight`, 'serving');
    const exit = (): void => void app.close().finally(() => process.exit(0));
    const bound = setTimeout(exit, h.requestTimeoutMs + 1000);
    bound.unref();
    // Each connection closes with its answer (endConnectionsOnClose), idle ones at once.
    server.close();
    const check = setInterval(() => {
      if (open.size > 0) return;
      clearInterval(check);
      clearTimeout(bound);
      exit();
    }, 20);
  };
  process.on('message', (raw: unknown, handle: unknown) => {
    const message = parseToServing(raw);
    if ('problem' in message) {
      (handle as Socket | undefined)?.destroy?.();
      return Logger.warn(`a message from the gateway was dropped: ${message.problem}`, 'serving');
    }
    switch (message.kind) {
      case 'socket':
        if (handle === undefined || handle === null) return;
        // One handed over just before the stop is still answered (its answer closes it), like those already here.
        open.add(handle as Socket);
        (handle as Socket).once('close', () => open.delete(handle as Socket));
        server.emit('connection', handle);
        return;
      case 'graphs':
        served.update(message.graphs);
        return;
      case 'scrape':
        void metrics.json().then(
          (series) => send({ kind: 'metrics', id: message.id, series: series as unknown as Extract<ToGateway, { kind: 'metrics' }>['series'] }),
          () => send({ kind: 'metrics', id: message.id, series: [] }),
        );
        return;
      case 'stop':
        stop('stop from the gateway');
        return;
    }
  });
  // The gateway is gone (killed, crashed): nothing hands connections or passes answers any more.
  process.once('disconnect', () => stop('the gateway went away'));
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => stop(signal));

  // Until then its graphs' requests would all go to the gateway, through this process.
  await waitForGraphs(registry, config.graphDirs);
  send({ kind: 'ready' });
  Logger.log(`serving process ${index} ready (graphs from ${config.graphDirs.join(', ')})`, 'serving');
}

function send(message: ToGateway): void {
  if (process.connected) process.send?.(message);
}

/** Until every graph file of GRAPHS_DIR has loaded or failed here (at most READY_WAIT_MS: then ready anyway). */
async function waitForGraphs(registry: GraphRegistry, dirs: readonly string[]): Promise<void> {
  const deadline = Date.now() + READY_WAIT_MS;
  const files = await graphFilesIn(dirs).catch(() => []);
  while (!(registry.settled && registry.list().length >= files.length) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
}

/**
 * The gateway's list of graphs this process may answer, and this process's registry kept in step with it:
 * versions the gateway no longer serves are removed here, versions it serves from other bytes are loaded
 * again from their file. A request is answered here only while both agree (version and file hash);
 * otherwise it goes to the gateway.
 */
class ServedGraphs {
  private graphs = new Map<string, ServedGraph>();
  /** Verdicts per request path, cleared whenever the list or the registry changes. */
  private readonly verdicts = new Map<string, boolean>();
  /** `file@hash` already loaded (or tried) for the gateway's list. */
  private readonly tried = new Set<string>();

  constructor(
    private readonly registry: GraphRegistry,
    private readonly config: GatewayConfig,
    private readonly logger: Logger,
  ) {
    const clear = (): void => this.verdicts.clear();
    registry.events.on('versions', clear);
    registry.events.on('loaded', clear);
  }

  answersHere(url: string): boolean {
    const known = this.verdicts.get(url);
    if (known !== undefined) return known;
    const target = inferTarget(url);
    if (target === undefined) return false;
    const graph = this.graphs.get(target.graph);
    if (graph === undefined) return false;
    const version = target.version ?? graph.defaultVersion;
    const wanted = graph.versions.find((v) => v.version === version);
    const entry = this.registry.get(target.graph, version);
    const verdict =
      wanted !== undefined &&
      entry?.state === 'ready' &&
      entry.contentHash === wanted.hash &&
      (target.version !== undefined || this.registry.defaultVersion(target.graph) === graph.defaultVersion);
    // Paths of listed graphs only: a caller cannot grow the map with made-up names.
    if (this.verdicts.size < 4096) this.verdicts.set(url, verdict);
    return verdict;
  }

  update(graphs: readonly ServedGraph[]): void {
    this.graphs = new Map(graphs.map((g) => [g.name, g]));
    this.verdicts.clear();
    for (const graph of graphs) {
      const wanted = new Set(graph.versions.map((v) => v.version));
      for (const entry of this.registry.versionsOf(graph.name)) if (entry.version !== undefined && !wanted.has(entry.version)) this.registry.remove(graph.name, entry.version);
      for (const v of graph.versions) {
        const entry = this.registry.get(graph.name, v.version);
        if (entry?.contentHash === v.hash && entry.state !== 'failed') continue;
        const key = `${v.file}@${v.hash}`;
        if (this.tried.has(key)) continue;
        this.tried.add(key);
        if (!this.inGraphDirs(v.file)) {
          this.logger.warn(`graph ${graph.name}: ${v.file} is outside GRAPHS_DIR; its requests go to the gateway`);
          continue;
        }
        void this.registry.loadFile(v.file).catch((err: unknown) => this.logger.warn(`graph ${graph.name}: ${err instanceof Error ? err.message : String(err)}`));
      }
    }
  }

  private inGraphDirs(file: string): boolean {
    return this.config.graphDirs.some((dir) => {
      const relative = path.relative(dir, file);
      return relative !== '' && !relative.startsWith('..') && !path.isAbsolute(relative);
    });
  }
}

/** Passes a request to the gateway over its forward socket and its answer back, streamed both ways. */
function forwarder(socketPath: string): (req: IncomingMessage, res: ServerResponse) => void {
  const agent = new Agent({ keepAlive: true, maxSockets: FORWARD_SOCKETS });
  return (req, res) => {
    const upstream = request({ socketPath, agent, method: req.method, path: req.url, headers: passedOn(req.headers) }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, passedOn(answer.headers));
      answer.pipe(res);
      answer.once('error', () => res.destroy());
    });
    upstream.once('error', (err) => {
      if (res.headersSent) return void res.destroy();
      const body = JSON.stringify({ error: `the gateway process did not answer: ${err.message}` });
      res.writeHead(502, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
      res.end(body);
    });
    res.once('close', () => {
      if (!res.writableFinished) upstream.destroy();
    });
    req.pipe(upstream);
  };
}

function passedOn(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  const out: IncomingHttpHeaders = {};
  for (const key in headers) if (!HOP_BY_HOP.has(key)) out[key] = headers[key];
  return out;
}
