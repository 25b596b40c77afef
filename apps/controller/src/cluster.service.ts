import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { writeFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { Autoscaler, ClusterState } from '@infergraph/cluster';
import { InferenceError, type RoutingTableMessage, type WorkerMessage } from '@infergraph/protocol';
import { ControlServer, type WorkerSession } from '@infergraph/transport-grpc';
import type { ClusterView } from '@infergraph/telemetry';
import { CONTROLLER_CONFIG, type ControllerConfig } from './controller.config';
import { graphFilesIn, readGraphFile, type CatalogEntry } from './graph-catalog';

/**
 * The controller: desired graphs, live workers (one Join stream each), placement and the routing
 * table gateways watch. Every change replans and pushes new assignments and routes.
 */
@Injectable()
export class ClusterService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('controller');
  private readonly state: ClusterState;
  private readonly catalog = new Map<string, CatalogEntry>();
  private readonly posted = new Set<string>();
  private readonly sessions = new Map<string, WorkerSession>();
  private readonly watchers = new Set<(table: RoutingTableMessage) => void>();
  private readonly server: ControlServer;
  private readonly autoscaler: Autoscaler;
  /** Latest peak in-flight per worker and node key, from heartbeats. */
  private readonly loads = new Map<string, Map<string, number>>();
  private expiry: NodeJS.Timeout | undefined;
  private scaling: NodeJS.Timeout | undefined;

  constructor(@Inject(CONTROLLER_CONFIG) private readonly config: ControllerConfig) {
    this.state = new ClusterState({ heartbeatTimeoutMs: config.heartbeatTimeoutMs });
    this.autoscaler = new Autoscaler(config.autoscale);
    this.server = new ControlServer({
      join: (session) => this.onJoin(session),
      watchRoutes: (push, onClose) => {
        this.watchers.add(push);
        onClose(() => this.watchers.delete(push));
        push(this.routingTable());
      },
    });
  }

  async onApplicationBootstrap(): Promise<void> {
    for (const file of graphFilesIn(this.config.graphDirs)) this.register(readGraphFile(file));
    const port = await this.server.listen(`${this.config.host}:${this.config.controlPort}`);
    this.logger.log(`control plane listening on grpc://${this.config.host}:${port}`);
    this.expiry = setInterval(() => {
      const gone = this.state.expire(Date.now());
      if (gone.length === 0) return;
      for (const id of gone) {
        this.logger.warn(`worker ${id} missed its heartbeats for ${this.config.heartbeatTimeoutMs} ms: removed (it must re-join)`);
        // Ending its stream makes a worker that was only stalled say hello again.
        this.sessions.get(id)?.end();
        this.sessions.delete(id);
        this.loads.delete(id);
      }
      this.replan();
    }, Math.max(50, Math.floor(this.config.heartbeatTimeoutMs / 5)));
    this.expiry.unref();
    this.scaling = setInterval(() => this.autoscale(Date.now()), 250);
    this.scaling.unref();
  }

  /** Feeds observed load to the autoscaler and applies its decisions. */
  private autoscale(now: number): void {
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

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.expiry);
    clearInterval(this.scaling);
    await this.server.close();
  }

  status(): unknown {
    return this.state.status(Date.now());
  }

  /** The numbers Prometheus scrapes: capacity per worker, replicas per node and state, unplaced replicas. */
  metricsView(): ClusterView {
    const status = this.state.status(Date.now());
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

  graphs(): unknown {
    return { graphs: [...this.catalog.values()].map((e) => ({ name: e.name, file: e.file, nodes: e.demands.map((d) => d.key), error: e.error })) };
  }

  /** Admin API: a graph posted as YAML is stored beside the other graphs (relative model paths work the same). */
  addGraph(yaml: string): unknown {
    const dir = this.config.graphDirs[0];
    if (dir === undefined) throw new InferenceError('INTERNAL', 'no GRAPHS_DIR to store graphs in');
    const nameMatch = /^\s*name:\s*([a-z0-9-]+)\s*$/m.exec(yaml);
    if (nameMatch?.[1] === undefined) throw new InferenceError('INVALID_ARGUMENT', 'metadata.name: required (a DNS-1123 label)');
    const file = path.join(dir, `${nameMatch[1]}.yaml`);
    writeFileSync(file, yaml);
    const entry = readGraphFile(file);
    if (entry.error !== undefined) {
      rmSync(file, { force: true });
      throw new InferenceError('INVALID_ARGUMENT', entry.error);
    }
    this.posted.add(entry.name);
    this.register(entry);
    this.replan();
    return { name: entry.name, file, nodes: entry.demands.map((d) => d.key) };
  }

  removeGraph(name: string): unknown {
    const entry = this.catalog.get(name);
    if (entry === undefined) throw new InferenceError('NOT_FOUND', `unknown graph "${name}"`);
    this.catalog.delete(name);
    this.autoscaler.setPolicies([...this.catalog.values()].flatMap((e) => e.scaling));
    this.state.removeGraph(name);
    if (this.posted.delete(name)) rmSync(entry.file, { force: true });
    this.replan();
    return { removed: name };
  }

  private register(entry: CatalogEntry): void {
    this.catalog.set(entry.name, entry);
    this.autoscaler.setPolicies([...this.catalog.values()].flatMap((e) => e.scaling));
    if (entry.error !== undefined) {
      this.logger.error(`graph ${entry.file} is invalid and will not be placed:\n${entry.error}`);
      return;
    }
    this.state.setGraph(entry.name, entry.file, [...entry.demands]);
    this.logger.log(`graph "${entry.name}": ${entry.demands.length} placeable node(s)`);
  }

  private onJoin(session: WorkerSession): void {
    let id: string | undefined;
    session.onMessage((m: WorkerMessage) => {
      const now = Date.now();
      if (m.hello) {
        const h = m.hello;
        id = h.worker_id;
        this.sessions.set(id, session);
        this.state.upsertWorker(
          {
            id,
            pool: h.pool,
            address: h.address,
            capacity: { cpu: h.capacity.cpu, memory: Number(h.capacity.memory), gpuCount: h.capacity.gpu_count, gpuMemory: Number(h.capacity.gpu_memory) },
          },
          now,
        );
        this.logger.log(`worker ${id} joined (pool ${h.pool}, ${h.address})`);
        this.replan();
      } else if (m.heartbeat && id !== undefined) {
        if (!this.state.heartbeat(id, now)) {
          session.end(); // removed meanwhile: make it re-join
          return;
        }
        this.loads.set(id, new Map((m.heartbeat.loads ?? []).map((l) => [l.key, l.in_flight])));
      } else if (m.replica && id !== undefined) {
        const r = m.replica;
        this.state.reportReplica(id, r.key, r.replica, r.state, r.reason, r.provider);
        if (r.state === 'FAILED') this.logger.warn(`replica ${r.key}#${r.replica} on ${id} failed: ${r.reason}`);
        this.publishRoutes();
      }
    });
    session.onClose((reason) => {
      if (id === undefined || this.sessions.get(id) !== session) return;
      this.sessions.delete(id);
      this.loads.delete(id);
      this.state.removeWorker(id, reason);
      this.logger.warn(`worker ${id} left (${reason}); re-placing its replicas`);
      this.replan();
    });
  }

  private replan(): void {
    const { changedWorkers } = this.state.replan();
    for (const workerId of changedWorkers) {
      const a = this.state.assignmentFor(workerId);
      this.sessions.get(workerId)?.send({ assignment: { graphs: [...a.graphs], replicas: [...a.replicas] } });
    }
    this.publishRoutes();
  }

  private lastVersion = -1;

  private publishRoutes(): void {
    const table = this.routingTable();
    if (Number(table.version) === this.lastVersion) return;
    this.lastVersion = Number(table.version);
    for (const push of this.watchers) push(table);
  }

  private routingTable(): RoutingTableMessage {
    const r = this.state.routes();
    return { version: String(r.version), routes: r.routes.map((x) => ({ key: x.key, addresses: [...x.addresses] })) };
  }
}
