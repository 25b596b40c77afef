import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Inject, Injectable, Logger, type BeforeApplicationShutdown, type OnApplicationShutdown } from '@nestjs/common';
import { GraphRegistry } from '@infergraph/engine';
import { EngineMetrics, type MetricsJson } from '@infergraph/telemetry';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config/gateway.config';
import { servedGraphs } from './served-graphs';
import { parseToGateway, type ToServing } from './serving.protocol';

/** net.Socket's ties to the server that accepted it (node:net's own fields; stable since Node 0.x). */
interface ServerSocket {
  server: (Server & { _connections: number }) | null;
  _server: (Server & { _connections: number }) | null;
}

function detach(socket: Socket): void {
  const s = socket as unknown as ServerSocket;
  s.server = null;
  s._server = null;
}

function attach(socket: Socket, server: Server & { _connections: number }): void {
  const s = socket as unknown as ServerSocket;
  s.server = server;
  s._server = server;
}

/** What a serving process is told at its start (its environment, beside the gateway's own). */
export const SERVING_ENV = {
  /** Its number, 1 to SERVING_PROCESSES - 1 (the gateway is 0). */
  index: 'INFERGRAPH_SERVING_INDEX',
  /** The private directory holding the gateway's forward socket. */
  dir: 'INFERGRAPH_SERVING_DIR',
} as const;

/** The gateway's socket in SERVING_ENV.dir: requests a serving process does not answer itself go there. */
export const FORWARD_SOCKET = 'gateway.sock';

const RESTART_FIRST_MS = 500;
const RESTART_MAX_MS = 30_000;
/** A process that served this long has its restart delay reset. */
const RESTART_RESET_AFTER_MS = 60_000;
/** The longest the gateway waits for its serving processes before its port opens. */
const READY_WAIT_MS = 90_000;
/** How long a scrape waits for the serving processes' series; a late one is left out of that scrape. */
const SCRAPE_TIMEOUT_MS = 2000;

interface Member {
  readonly index: number;
  child: ChildProcess | undefined;
  ready: boolean;
  startedAt: number;
  restartDelayMs: number;
  restartTimer: NodeJS.Timeout | undefined;
  /** The graphs message last sent (JSON), so an unchanged table is not sent again. */
  lastGraphs: string;
  /** Sockets given to send() whose delivery is not confirmed yet (they may wait behind the previous one's acknowledgement). */
  readonly inTransit: Set<InTransit>;
}

interface InTransit {
  readonly socket: Socket;
  readonly server: (Server & { _connections: number }) | null;
}

/**
 * SERVING_PROCESSES > 1: the gateway starts SERVING_PROCESSES - 1 serving processes (this program again, as
 * serving-process.ts) and hands them new connections of its HTTP port in turn with itself, as sockets over
 * the IPC channel before a byte is read. A serving process answers the inference requests of the graphs the
 * gateway lists to it (servedGraphs: loaded from the same files, checked by hash) and passes every other
 * request to the gateway over a private Unix socket, so operator endpoints, the dashboard, rollouts and
 * detectors keep one owner. A serving process that exits is started again (0.5 s, doubling to 30 s); the
 * gateway keeps the connections meanwhile. `/metrics` sums every process's series.
 */
@Injectable()
export class ServingPool implements BeforeApplicationShutdown, OnApplicationShutdown {
  private readonly logger = new Logger('serving');
  private readonly members: Member[] = [];
  private dir: string | undefined;
  private forward: Server | undefined;
  private stopping = false;
  private turn = 0;
  private scrapes = 0;
  private readonly pendingScrapes = new Map<number, { readonly member: Member; readonly resolve: (series: MetricsJson | undefined) => void }>();
  private readonly connections: number[];
  private restarts = 0;
  private graphsTimer: NodeJS.Timeout | undefined;
  /** Serves a connection in this process (node:http's own listeners); set once the port's connections are taken. */
  private keepHere: (socket: Socket) => void = (socket) => socket.destroy();

  constructor(
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
    private readonly registry: GraphRegistry,
    metrics: EngineMetrics,
  ) {
    this.connections = new Array<number>(config.servingProcesses).fill(0);
    if (config.servingProcesses <= 1) return;
    metrics.countersFrom('infergraph_serving_connections_total', 'Connections of the HTTP port handed to each process since start (0: the gateway; SERVING_PROCESSES).', ['process'], () =>
      this.connections.map((n, i) => [{ process: String(i) }, n] as const),
    );
    metrics.counterFrom('infergraph_serving_process_restarts_total', 'Serving processes started again after they exited unexpectedly.', () => this.restarts);
    metrics.gaugeFrom('infergraph_serving_processes_ready', 'Serving processes taking connections now (the gateway not counted).', () => this.members.filter((m) => m.ready).length);
  }

  get enabled(): boolean {
    return this.config.servingProcesses > 1;
  }

  /**
   * Starts the serving processes and takes over `server`'s new connections: from now on each goes to the next
   * process in turn that is ready, the gateway (0) included. `dispatch` answers what the serving processes
   * pass back (the gateway's own request handler).
   */
  async start(server: Server, dispatch: (req: IncomingMessage, res: ServerResponse) => void): Promise<void> {
    if (!this.enabled) return;
    // A directory only this user can enter: the forward socket answers as the gateway does, without its port's
    // exposure, so no other local user may reach it.
    this.dir = mkdtempSync(path.join(tmpdir(), 'infergraph-serving-'));
    const forward = createServer({ keepAliveTimeout: this.config.http.keepAliveTimeoutMs }, dispatch);
    this.forward = forward;
    await new Promise<void>((resolve, reject) => {
      forward.once('error', reject);
      forward.listen(path.join(this.dir as string, FORWARD_SOCKET), () => resolve());
    });
    this.takeConnections(server);
    for (let index = 1; index < this.config.servingProcesses; index++) {
      const member: Member = { index, child: undefined, ready: false, startedAt: 0, restartDelayMs: RESTART_FIRST_MS, restartTimer: undefined, lastGraphs: '', inTransit: new Set() };
      this.members.push(member);
      this.spawn(member);
    }
    this.registry.events.on('versions', this.sendGraphs);
    this.registry.events.on('loaded', this.sendGraphs);
    // Rollout steps and promotions move defaults without a load; a periodic check sends what changed.
    this.graphsTimer = setInterval(this.sendGraphs, 1000);
    this.graphsTimer.unref();
    // The port opens once they take connections (a client's first connections stay where they land), or after
    // READY_WAIT_MS without them: this process answers alone meanwhile.
    const deadline = Date.now() + READY_WAIT_MS;
    while (this.members.some((m) => !m.ready) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    const ready = this.members.filter((m) => m.ready).length;
    if (ready < this.members.length) this.logger.warn(`${this.members.length - ready} serving process(es) not ready after ${READY_WAIT_MS} ms; this process takes their connections until they are`);
    this.logger.log(`answering HTTP in ${this.config.servingProcesses} processes (SERVING_PROCESSES): this one and ${this.members.length} serving process(es)`);
  }

  /** Every ready serving process's series, for one scrape (a process that does not answer in time is left out). */
  async scrape(): Promise<MetricsJson[]> {
    const asks = this.members.filter((m) => m.ready && m.child?.connected === true).map((m) => this.scrapeOne(m));
    return (await Promise.all(asks)).filter((s): s is MetricsJson => s !== undefined);
  }

  async beforeApplicationShutdown(): Promise<void> {
    if (!this.enabled || this.stopping) return;
    this.stopping = true;
    clearInterval(this.graphsTimer);
    this.registry.events.off('versions', this.sendGraphs);
    this.registry.events.off('loaded', this.sendGraphs);
    // The serving processes finish what they took (each connection closes with its answer, so its client comes
    // back to a port the gateway still answers), within the bound a whole request has.
    const bound = this.config.http.requestTimeoutMs + 2000;
    await Promise.all(
      this.members.map(async (m) => {
        clearTimeout(m.restartTimer);
        const child = m.child;
        m.ready = false;
        if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
        const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        this.send(m, { kind: 'stop' });
        const timer = setTimeout(() => {
          this.logger.warn(`serving process ${m.index} did not stop within ${bound} ms; killing it`);
          child.kill('SIGKILL');
        }, bound);
        await exited;
        clearTimeout(timer);
      }),
    );
  }

  async onApplicationShutdown(): Promise<void> {
    if (!this.enabled) return;
    await this.beforeApplicationShutdown();
    const forward = this.forward;
    if (forward !== undefined) await new Promise<void>((resolve) => forward.close(() => resolve()));
    if (this.dir !== undefined) rmSync(this.dir, { recursive: true, force: true });
  }

  private takeConnections(server: Server): void {
    // Sockets arrive paused (nothing read yet), so one handed on loses no byte; those kept are resumed once
    // node:http's own listeners have them.
    // net.Server's option, read on every accept; node:http does not pass it through its constructor.
    (server as Server & { pauseOnConnect: boolean }).pauseOnConnect = true;
    const own = server.listeners('connection') as ((socket: Socket) => void)[];
    server.removeAllListeners('connection');
    this.keepHere = (socket) => {
      this.connections[0] = (this.connections[0] ?? 0) + 1;
      for (const listener of own) listener.call(server, socket);
      socket.resume();
    };
    server.on('connection', (socket: Socket) => {
      const member = this.next();
      if (member !== undefined && this.handOver(member, socket)) {
        this.connections[member.index] = (this.connections[member.index] ?? 0) + 1;
        return;
      }
      this.keepHere(socket);
    });
  }

  /** The serving process whose turn it is, or undefined for the gateway's turn (or when none is ready). */
  private next(): Member | undefined {
    if (this.stopping) return undefined;
    const slots = this.members.length + 1;
    for (let tried = 0; tried < slots; tried++) {
      const slot = this.turn++ % slots;
      if (slot === 0) return undefined;
      const member = this.members[slot - 1];
      if (member?.ready === true && member.child?.connected === true) return member;
    }
    return undefined;
  }

  private handOver(member: Member, socket: Socket): boolean {
    const child = member.child;
    if (child === undefined) return false;
    const server = (socket as unknown as ServerSocket).server;
    try {
      // node:child_process would enrol a socket still tied to its server in cluster-style bookkeeping, whose
      // handshake at close never ends once the serving process is gone (the gateway would not stop); untied,
      // the socket leaves this server's count here, once.
      detach(socket);
      if (server !== null) server._connections--;
      const entry: InTransit = { socket, server };
      member.inTransit.add(entry);
      // Once sent, node:child_process closes the gateway's copy of the socket. send()'s false only says that
      // messages queue (behind the acknowledgement of the previous socket): this one is on its way all the same.
      child.send({ kind: 'socket' } satisfies ToServing, socket, { keepOpen: false }, (err) => {
        if (err === null || err === undefined) return void member.inTransit.delete(entry);
        this.logger.warn(`a connection could not be handed to serving process ${member.index}: ${err.message}`);
        this.takeBack(member, entry);
      });
      return true;
    } catch (err) {
      this.logger.warn(`serving process ${member.index}: ${err instanceof Error ? err.message : String(err)}; this process keeps the connection`);
      if (server !== null) {
        server._connections++;
        attach(socket, server);
      }
      return false;
    }
  }

  /**
   * A socket whose hand-over did not complete: one still queued in node:child_process (its handle is still
   * here, nothing read) is served by this process after all; one already sent went with the serving process.
   */
  private takeBack(member: Member, entry: InTransit): void {
    if (!member.inTransit.delete(entry)) return;
    const { socket, server } = entry;
    if ((socket as unknown as { _handle: unknown })._handle === null) return void socket.destroy();
    if (server !== null) {
      server._connections++;
      attach(socket, server);
    }
    this.keepHere(socket);
  }

  private spawn(member: Member): void {
    // This program again (dist/apps/gateway/src/main.js), which runs serving-process.ts when it finds SERVING_ENV.
    const child = fork(path.resolve(__dirname, '..', 'main.js'), [], {
      env: { ...process.env, [SERVING_ENV.index]: String(member.index), [SERVING_ENV.dir]: this.dir },
      // The gateway's Node flags (--cpu-prof, memory limits), but not an inspector: its port is the gateway's.
      execArgv: process.execArgv.filter((flag) => !/^--(inspect|debug)/.test(flag)),
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    member.child = child;
    member.ready = false;
    member.lastGraphs = '';
    member.startedAt = Date.now();
    child.on('message', (message: unknown) => this.received(member, message));
    child.on('error', (err) => this.logger.warn(`serving process ${member.index}: ${err.message}`));
    child.once('exit', (code, signal) => {
      member.ready = false;
      // Sockets queued for it that it never got: its channel is gone, so this process answers them.
      for (const entry of [...member.inTransit]) this.takeBack(member, entry);
      for (const pending of [...this.pendingScrapes.values()]) if (pending.member === member) pending.resolve(undefined);
      if (this.stopping) return;
      if (Date.now() - member.startedAt > RESTART_RESET_AFTER_MS) member.restartDelayMs = RESTART_FIRST_MS;
      const delay = member.restartDelayMs;
      member.restartDelayMs = Math.min(RESTART_MAX_MS, delay * 2);
      this.restarts++;
      this.logger.warn(`serving process ${member.index} exited (${signal ?? `code ${code}`}); the gateway takes its turn until it is started again in ${delay} ms`);
      member.restartTimer = setTimeout(() => this.spawn(member), delay);
      member.restartTimer.unref();
    });
  }

  private received(member: Member, message: unknown): void {
    const m = parseToGateway(message);
    if ('problem' in m) return this.logger.warn(`serving process ${member.index} sent a message that was dropped: ${m.problem}`);
    if (m.kind === 'ready') {
      this.sendGraphsTo(member, this.graphsMessage());
      member.ready = true;
      this.logger.log(`serving process ${member.index} (pid ${member.child?.pid}) takes connections`);
      return;
    }
    const pending = this.pendingScrapes.get(m.id);
    this.pendingScrapes.delete(m.id);
    pending?.resolve(m.series as unknown as MetricsJson);
  }

  private readonly sendGraphs = (): void => {
    const message = this.graphsMessage();
    for (const member of this.members) if (member.child?.connected === true) this.sendGraphsTo(member, message);
  };

  private graphsMessage(): { readonly message: ToServing; readonly text: string } {
    const message: ToServing = { kind: 'graphs', graphs: servedGraphs(this.registry) };
    return { message, text: JSON.stringify(message) };
  }

  private sendGraphsTo(member: Member, graphs: { readonly message: ToServing; readonly text: string }): void {
    if (graphs.text === member.lastGraphs) return;
    member.lastGraphs = graphs.text;
    this.send(member, graphs.message);
  }

  private scrapeOne(member: Member): Promise<MetricsJson | undefined> {
    // Its exit answers its pending scrapes at once.
    const id = ++this.scrapes;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.pendingScrapes.delete(id);
        resolve(undefined);
      }, SCRAPE_TIMEOUT_MS);
      this.pendingScrapes.set(id, {
        member,
        resolve: (series) => {
          clearTimeout(timer);
          this.pendingScrapes.delete(id);
          resolve(series);
        },
      });
      if (!this.send(member, { kind: 'scrape', id })) this.pendingScrapes.get(id)?.resolve(undefined);
    });
  }

  private send(member: Member, message: ToServing): boolean {
    const child = member.child;
    if (child?.connected !== true) return false;
    try {
      return child.send(message, (err) => {
        if (err !== null && err !== undefined) this.logger.warn(`serving process ${member.index}: ${message.kind} not delivered: ${err.message}`);
      });
    } catch {
      return false;
    }
  }
}
