import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { Autoscaler, ClusterState, type ClusterStatus } from '@infergraph/cluster';
import type { CatalogueMessage, RoutingTableMessage, WorkerMessage } from '@infergraph/protocol';
import { ControlServer, GRPC_STATUS, type WorkerSession } from '@infergraph/transport-grpc';
import type { ClusterView } from '@infergraph/telemetry';
import { checkWorkerMessage } from './control-message.schema';
import { CONTROLLER_CONFIG, type ControllerConfig } from './controller.config';
import { GraphCatalogueService, type CatalogueGraph } from './graph-catalogue.service';
import { KnownWorkersStore } from './known-workers.store';

/**
 * The controller: live workers (one Join stream each), placement, and what gateways watch (the routing
 * table and the graph catalogue). Every change replans and pushes new assignments and routes.
 *
 * Start-up is a sync: the controller only listens until every worker the previous run had live (kept in
 * STATE_DIR) has re-joined, or `syncWindowMs` has passed. Workers rejoin and say what they hold; their
 * replicas are adopted as they are. Only then does it place anything and publish routes, tagged with its own
 * epoch, so gateways never swap a working table for the empty one of a controller that just started.
 *
 * Heartbeat ages, expiry and autoscaling windows are read on the monotonic clock (`performance.now()`): a wall
 * clock stepped forward (an NTP step, a VM resumed or migrated) would otherwise expire every worker at once,
 * and one stepped back would keep a dead worker for as long as the step.
 */
@Injectable()
export class ClusterService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('controller');
  private readonly state: ClusterState;
  /** This controller's incarnation: routing tables and assignments carry it. */
  readonly epoch = randomUUID();
  private synced = false;
  private readonly sessions = new Map<string, WorkerSession>();
  private readonly routeWatchers = new Set<(table: RoutingTableMessage) => void>();
  private readonly catalogueWatchers = new Set<(catalogue: CatalogueMessage) => void>();
  private readonly server: ControlServer;
  private readonly autoscaler: Autoscaler;
  /** Latest peak in-flight per worker and node key, from heartbeats. */
  private readonly loads = new Map<string, ReadonlyMap<string, number>>();
  /** Draining workers already told to leave. */
  private readonly released = new Set<string>();
  /**
   * The identity that first said hello for each worker id, for this controller's life: another identity
   * re-using the id is refused, so a credential holder cannot take over another worker's routes.
   */
  private readonly owners = new Map<string, string>();
  private expiry: NodeJS.Timeout | undefined;
  private scaling: NodeJS.Timeout | undefined;
  private syncTimer: NodeJS.Timeout | undefined;
  /** Files mode: the live workers' ids, kept so a restarted controller knows whom its sync waits for. */
  private readonly knownWorkers: KnownWorkersStore | undefined;
  /** Workers of the previous run that the start-up sync still waits for. */
  private readonly awaited = new Set<string>();
  /** Shutting down: the workers' streams close, but they are still this cluster's workers. */
  private closing = false;
  private lastPublished = '';
  private listening = false;
  /** Closed for good (Kubernetes mode, leadership over): a grpc-js server cannot listen again. */
  private stopped = false;

  constructor(
    @Inject(CONTROLLER_CONFIG) private readonly config: ControllerConfig,
    private readonly catalogue: GraphCatalogueService,
  ) {
    this.state = new ClusterState({ heartbeatTimeoutMs: config.heartbeatTimeoutMs, defaultReplicas: config.defaultReplicas });
    this.autoscaler = new Autoscaler(config.autoscale);
    this.knownWorkers = config.kubernetes === undefined ? new KnownWorkersStore(config.stateDir) : undefined;
    this.server = new ControlServer({
      join: (session) => this.onJoin(session),
      watchRoutes: (push, onClose) => {
        this.routeWatchers.add(push);
        onClose(() => this.routeWatchers.delete(push));
        // An unsynced controller publishes nothing: the gateway keeps the table it has.
        if (this.synced) push(this.routingTable());
      },
      watchCatalogue: (push, onClose) => {
        this.catalogueWatchers.add(push);
        onClose(() => this.catalogueWatchers.delete(push));
        push(this.catalogueMessage());
      },
      refused: (method, peer, details) => this.logger.warn(`refused a control-plane ${method} call from ${peer}: ${details}`),
    }, config.controlSecurity);
    this.catalogue.onChange((name, graph) => this.onCatalogueChange(name, graph));
  }

  /** Files mode serves at once; in Kubernetes mode the operator calls `startServing` once it leads. */
  async onApplicationBootstrap(): Promise<void> {
    if (this.config.kubernetes !== undefined) return;
    this.catalogue.loadFiles();
    await this.startServing();
  }

  /** Whether the control plane listens (always in files mode; only on the leader in Kubernetes mode). */
  get serving(): boolean {
    return this.listening;
  }

  /** Whether the start-up sync is over (placement and routes are published). */
  get isSynced(): boolean {
    return this.synced;
  }

  /** The cluster as placement sees it now: for the operator's status writes and pool scaling. */
  clusterStatus(): ClusterStatus {
    return this.state.status(performance.now());
  }

  /**
   * Opens the control plane and starts the sync window: workers re-join and are adopted, then the
   * controller places and publishes. Called once.
   */
  async startServing(): Promise<void> {
    if (this.listening || this.stopped) return;
    this.listening = true;
    for (const id of this.knownWorkers?.load((m) => this.logger.warn(m)) ?? []) this.awaited.add(id);
    const port = await this.server.listen(`${this.config.host}:${this.config.controlPort}`);
    const waitingFor = this.awaited.size === 0 ? '' : `, or until ${this.awaited.size} worker(s) of the previous run re-join: ${[...this.awaited].join(', ')}`;
    this.logger.log(`control plane listening on grpc://${this.config.host}:${port} (epoch ${this.epoch}; syncing for ${this.config.syncWindowMs} ms${waitingFor})`);
    this.syncTimer = setTimeout(() => this.finishSync(), this.config.syncWindowMs);
    this.syncTimer.unref();
    this.expiry = setInterval(() => this.expireWorkers(), Math.max(50, Math.floor(this.config.heartbeatTimeoutMs / 5)));
    this.expiry.unref();
    this.scaling = setInterval(() => this.autoscale(performance.now()), 250);
    this.scaling.unref();
  }

  /**
   * Kubernetes mode, when leadership ends: closes the control plane at once, so workers and gateways move
   * to the new leader instead of keeping their streams to this one.
   */
  stopServing(): void {
    if (!this.listening) return;
    this.listening = false;
    this.stopped = true;
    clearTimeout(this.syncTimer);
    clearInterval(this.expiry);
    clearInterval(this.scaling);
    this.server.forceClose();
    this.logger.log('control plane closed');
  }

  async onApplicationShutdown(): Promise<void> {
    this.closing = true;
    // A leader handing over must not wait for its workers' streams to end: they move to the next leader.
    if (this.config.kubernetes !== undefined) this.stopServing();
    clearTimeout(this.syncTimer);
    clearInterval(this.expiry);
    clearInterval(this.scaling);
    await this.server.close();
    await this.knownWorkers?.settled();
  }

  status(): unknown {
    return { epoch: this.epoch, synced: this.synced, ...this.state.status(performance.now()) };
  }

  /** The numbers Prometheus scrapes: capacity per worker, replicas per node and state, unplaced replicas. */
  metricsView(): ClusterView {
    const status = this.state.status(performance.now());
    const held = new Map(status.workers.map((w) => [w.id, w.replicas]));
    return {
      workers: this.state.liveWorkers().map((h) => ({
        id: h.id,
        pool: h.pool,
        cpu: h.capacity.cpu,
        memoryBytes: h.capacity.memory,
        gpus: h.capacity.gpuCount,
        gpuMemoryBytes: h.capacity.gpuMemory,
        replicas: held.get(h.id) ?? 0,
      })),
      nodes: status.graphs.flatMap((g) =>
        g.nodes.map((n) => {
          const states: Record<string, number> = {};
          for (const r of n.replicas) states[r.state] = (states[r.state] ?? 0) + 1;
          return { key: n.key, wanted: n.wanted, states };
        }),
      ),
      pending: status.pending.length,
      routingVersion: status.routing.version,
    };
  }

  private finishSync(): void {
    if (this.synced) return;
    this.synced = true;
    clearTimeout(this.syncTimer);
    if (this.awaited.size > 0) this.logger.warn(`sync window over without ${[...this.awaited].join(', ')}: placing without them`);
    this.awaited.clear();
    this.recordWorkers();
    const adopted = this.state.status(performance.now()).graphs.reduce((n, g) => n + g.nodes.reduce((m, x) => m + x.replicas.length, 0), 0);
    this.logger.log(`synced: ${this.sessions.size} worker(s) rejoined holding ${adopted} replica(s); placing`);
    this.replan(this.config.rebalanceMaxMoves);
  }

  private onCatalogueChange(name: string, graph: CatalogueGraph | undefined): void {
    this.autoscaler.setPolicies(this.catalogue.list().flatMap((e) => e.scaling));
    if (graph === undefined || graph.error !== undefined) this.state.removeGraph(name);
    else this.state.setGraph(graph.id, graph.file, [...graph.demands], graph.contentHash);
    const message = this.catalogueMessage();
    for (const push of this.catalogueWatchers) push(message);
    this.replan();
  }

  /** Feeds observed load to the autoscaler and applies its decisions. */
  private autoscale(now: number): void {
    if (!this.synced) return;
    const totals = new Map<string, number>();
    for (const perKey of this.loads.values()) for (const [key, n] of perKey) totals.set(key, (totals.get(key) ?? 0) + n);
    const routes = new Map(this.state.routes().routes.map((r) => [r.key, r.addresses.length]));
    for (const [key, n] of totals) this.autoscaler.observe(key, n, routes.get(key) ?? 0, now);
    const changes = this.autoscaler.decide((key) => this.state.wantedReplicas(key), now);
    if (changes.length === 0) return;
    for (const c of changes) {
      this.state.setReplicas(c.key, c.replicas);
      this.logger.log(`autoscale ${c.key} to ${c.replicas} replica(s): ${c.reason}`);
    }
    this.replan();
  }

  private expireWorkers(): void {
    const gone = this.state.expire(performance.now());
    if (gone.length === 0) return;
    for (const id of gone) {
      this.logger.warn(`worker ${id} missed its heartbeats for ${this.config.heartbeatTimeoutMs} ms: removed (it must re-join)`);
      // Ending its stream makes a worker that was only stalled say hello again.
      this.sessions.get(id)?.end();
      this.forget(id);
    }
    this.replan();
  }

  private onJoin(session: WorkerSession): void {
    let id: string | undefined;
    session.onMessage((raw: WorkerMessage) => {
      const m = checkWorkerMessage(raw);
      const now = performance.now();
      switch (m.kind) {
        case 'invalid':
          this.logger.warn(`refused a control message${id === undefined ? '' : ` from worker ${id}`}: ${m.problem}`);
          if (id === undefined) session.refuse(GRPC_STATUS.INVALID_ARGUMENT, `control message refused: ${m.problem}`);
          return;
        case 'hello': {
          const owner = this.owners.get(m.hello.id);
          if (owner !== undefined && owner !== session.identity) {
            this.logger.warn(`refused a hello for worker ${m.hello.id} from ${session.identity}: that id belongs to ${owner}`);
            session.refuse(GRPC_STATUS.PERMISSION_DENIED, `worker id "${m.hello.id}" is held by another identity; choose another WORKER_ID`);
            return;
          }
          this.owners.set(m.hello.id, session.identity);
          const previous = id === undefined ? undefined : this.sessions.get(id);
          id = m.hello.id;
          const replaced = this.sessions.get(id);
          if (replaced !== undefined && replaced !== session && replaced !== previous) replaced.end();
          this.sessions.set(id, session);
          this.released.delete(id);
          this.state.upsertWorker(m.hello, now);
          const held = m.hello.held?.length ?? 0;
          this.logger.log(`worker ${id} joined (pool ${m.hello.pool}, ${m.hello.address}, holding ${held} replica(s)${m.hello.draining === true ? ', draining' : ''})`);
          this.recordWorkers();
          if (!this.synced && this.awaited.delete(id) && this.awaited.size === 0) {
            this.logger.log('every worker of the previous run re-joined');
            this.finishSync();
            return;
          }
          // A joining (or returning) worker gets a fair share: a few replicas move to it, make-before-break.
          this.replan(this.config.rebalanceMaxMoves);
          return;
        }
        case 'heartbeat':
          if (id === undefined) return;
          if (!this.state.heartbeat(id, now)) {
            session.end(); // removed meanwhile: make it re-join
            return;
          }
          this.loads.set(id, m.loads);
          return;
        case 'replica': {
          if (id === undefined) return;
          const r = m.replica;
          const result = this.state.reportReplica(id, r.key, r.replica, r.state, r.reason, r.provider);
          if (r.state === 'FAILED') this.logger.warn(`replica ${r.key}#${r.replica} on ${id} failed: ${r.reason}`);
          this.sendAssignments(result.changedWorkers);
          this.publishRoutes();
          this.releaseDrained();
          return;
        }
        case 'drain':
          if (id === undefined || !this.state.drainWorker(id)) return;
          this.logger.log(`worker ${id} is draining: placing its replicas elsewhere`);
          this.replan();
          return;
      }
    });
    session.onClose((reason) => {
      if (id === undefined || this.sessions.get(id) !== session) return;
      this.forget(id);
      this.state.removeWorker(id, reason);
      this.logger.warn(`worker ${id} left (${reason}); re-placing its replicas`);
      this.replan();
    });
  }

  private forget(id: string): void {
    this.sessions.delete(id);
    this.loads.delete(id);
    this.released.delete(id);
    this.recordWorkers();
  }

  /** Keeps the live workers (and, while syncing, those still awaited) for the next start's sync. */
  private recordWorkers(): void {
    if (this.closing || this.stopped) return;
    void this.knownWorkers?.save([...this.sessions.keys(), ...this.awaited], (m) => this.logger.warn(m));
  }

  /** Places replicas (not while syncing: the workers' reports come first) and pushes what changed. */
  private replan(maxMoves = 0): void {
    if (!this.synced) return;
    const { changedWorkers } = this.state.replan({ maxMoves });
    this.sendAssignments(changedWorkers);
    this.publishRoutes();
    this.releaseDrained();
  }

  private sendAssignments(workers: readonly string[]): void {
    for (const workerId of workers) {
      const a = this.state.assignmentFor(workerId);
      this.sessions.get(workerId)?.send({
        assignment: {
          // The documents travel with the assignment: workers share no volume with the controller.
          graphs: a.graphs.map((g) => ({ name: g.name, file: g.file, content_hash: g.contentHash, source: this.documentOf(g.name, g.contentHash) })),
          replicas: [...a.replicas],
          epoch: this.epoch,
        },
      });
    }
  }

  /**
   * The document of a placed graph. The cluster state and the catalogue change together, so the hash always
   * matches; an empty document (refused by the worker, naming it) would mean they did not.
   */
  private documentOf(name: string, contentHash: string): string {
    const entry = this.catalogue.get(name);
    if (entry?.contentHash === contentHash) return entry.document;
    this.logger.error(`graph "${name}": no document with sha256 ${contentHash} in the catalogue`);
    return '';
  }

  /** Tells each draining worker that holds nothing anymore (every replica replaced) to leave. */
  private releaseDrained(): void {
    for (const id of this.state.drainedWorkers()) {
      if (this.released.has(id)) continue;
      this.released.add(id);
      this.logger.log(`worker ${id} drained: no route points at it; releasing it`);
      this.sessions.get(id)?.send({ release: { reason: 'every replica was replaced' } });
    }
  }

  private publishRoutes(): void {
    if (!this.synced) return;
    const table = this.routingTable();
    const key = String(table.version);
    if (key === this.lastPublished) return;
    this.lastPublished = key;
    for (const push of this.routeWatchers) push(table);
  }

  private routingTable(): RoutingTableMessage {
    const r = this.state.routes();
    return { version: String(r.version), routes: r.routes.map((x) => ({ key: x.key, addresses: [...x.addresses] })), epoch: this.epoch, synced: this.synced };
  }

  private catalogueMessage(): CatalogueMessage {
    return {
      epoch: this.epoch,
      graphs: this.catalogue
        .list()
        .filter((g) => g.error === undefined)
        .map((g) => ({ name: g.id, file: g.file, content_hash: g.contentHash, source: g.document })),
    };
  }
}
