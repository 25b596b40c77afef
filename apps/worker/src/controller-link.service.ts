import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { ClientDuplexStream } from '@grpc/grpc-js';
import { randomUUID } from 'node:crypto';
import type { ControllerMessage, GraphRefMessage, ReplicaStateMessage, WorkerMessage } from '@infergraph/protocol';
import { ControlClient, ControllerAddresses } from '@infergraph/transport-grpc';
import { checkSentGraphs, type AssignedGraph } from '@infergraph/engine';
import { DrainGate } from './drain.gate';
import { NodeServingService } from './node-serving.service';
import { WORKER_CONFIG, type WorkerConfig } from './worker.config';

/** How soon a worker tries again after losing the controller (its channel also reconnects fast). */
const REJOIN_MS = 200;
/** After its release, how long a draining worker still takes calls while gateways apply the new routes. */
const ROUTES_SETTLE_MS = 1000;

/**
 * Controller mode: keeps one Join stream open to the controller (re-joining within a second after it
 * restarts), says hello with the replicas it holds (so a restarted controller adopts them instead of
 * starting from nothing), sends heartbeats and replica states, and applies each assignment it receives.
 *
 * Shutdown (SIGTERM) is a drain: the worker tells the controller, which places replacements and moves
 * routing to them once they are READY, then releases the worker; only then does the worker stop serving
 * (bounded by DRAIN_TIMEOUT_MS). `drained()` is what the serving side waits for.
 */
@Injectable()
export class ControllerLinkService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('controller-link');
  /** Random per process: a restarted worker with the same id holds nothing of the old one. */
  private readonly incarnation = randomUUID();
  private client: ControlClient | undefined;
  private stream: ClientDuplexStream<WorkerMessage, ControllerMessage> | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private rejoin: NodeJS.Timeout | undefined;
  private stopped = false;
  /** The latest state reported per replica (`key#replica`): what a hello says this worker holds. */
  private readonly states = new Map<string, ReplicaStateMessage>();
  /** Graphs of the current assignment, as loaded (name, file and content hash; no document: hellos stay small). */
  private graphs: readonly GraphRefMessage[] = [];
  /** Assignments are applied one after another, in the order they came. */
  private applying: Promise<void> = Promise.resolve();
  private draining: Promise<void> | undefined;
  /** Set while the controller is lost: retries are quiet until a stream answers again. */
  private away = false;
  private releasedBy: (() => void) | undefined;
  /** CONTROLLER: one address, or several tried in turn after a lost stream. */
  private addresses: ControllerAddresses | undefined;

  constructor(
    private readonly serving: NodeServingService,
    @Inject(WORKER_CONFIG) private readonly config: WorkerConfig,
    gate: DrainGate,
  ) {
    gate.register(() => this.drained());
  }

  onApplicationBootstrap(): void {
    if (this.config.controller === undefined) return;
    this.addresses = new ControllerAddresses(this.config.controller);
    this.join();
  }

  onApplicationShutdown(): void {
    this.stopped = true;
    clearInterval(this.heartbeat);
    clearTimeout(this.rejoin);
    this.stream?.end();
    this.client?.close();
  }

  /**
   * Starts the drain (once) and resolves when the controller released this worker, or after the drain
   * timeout, or at once without a controller. Serving stops only after it.
   */
  drained(): Promise<void> {
    if (this.config.controller === undefined) return Promise.resolve();
    this.draining ??= new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.logger.warn(`drain: no release from the controller within ${this.config.drainTimeoutMs} ms; stopping anyway`);
        resolve();
      }, this.config.drainTimeoutMs);
      this.releasedBy = () => {
        clearTimeout(timer);
        // The release goes out with the routing table that no longer names this worker; give gateways a
        // moment to apply it before calls here are refused.
        setTimeout(resolve, ROUTES_SETTLE_MS);
      };
      this.logger.log('draining: asking the controller to move this worker’s replicas elsewhere');
      this.stream?.write({ drain: { in_flight: this.serving.inference.inFlightTotal() } });
    });
    return this.draining;
  }

  private join(): void {
    const controller = (this.addresses as ControllerAddresses).current;
    this.client?.close();
    const client = new ControlClient(controller, this.config.controlSecurity);
    this.client = client;
    const stream = client.join();
    this.stream = stream;
    const c = this.config.capacity;
    stream.write({
      hello: {
        worker_id: this.config.id,
        pool: this.config.pool,
        address: `${this.config.host}:${this.config.port}`,
        capacity: { cpu: c.cpu, memory: String(c.memory), gpu_count: c.gpuCount, gpu_memory: String(c.gpuMemory) },
        held: [...this.states.values()],
        graphs: [...this.graphs],
        incarnation: this.incarnation,
        draining: this.draining !== undefined,
      },
    });
    clearInterval(this.heartbeat);
    this.heartbeat = setInterval(() => {
      const loads = this.serving.inference.takeLoads();
      stream.write({ heartbeat: { in_flight: loads.reduce((n, l) => n + l.in_flight, 0), loads } });
    }, this.config.heartbeatMs);
    this.heartbeat.unref();
    stream.on('data', (message: ControllerMessage) => {
      if (this.away) {
        this.away = false;
        this.logger.log(`re-joined controller ${controller}`);
      }
      if (message.release) {
        this.logger.log(`released by the controller (${message.release.reason}): finishing calls in flight`);
        this.releasedBy?.();
        return;
      }
      const a = message.assignment;
      if (a === undefined || a === null) return;
      this.applying = this.applying.then(() => this.apply(stream, a.graphs, a.replicas));
    });
    let lostOnce = false;
    const lost = (why: string): void => {
      // 'error' and 'end' can both come for one loss: re-join once.
      if (this.stopped || lostOnce || this.stream !== stream) return;
      lostOnce = true;
      clearInterval(this.heartbeat);
      if (!this.away) this.logger.warn(`lost the controller at ${controller} (${why}); re-joining every ${REJOIN_MS} ms${(this.addresses?.all.length ?? 1) > 1 ? ', trying each listed controller in turn' : ''}`);
      this.away = true;
      // With several controllers listed, the next one may be the leader now.
      this.addresses?.advance();
      this.rejoin = setTimeout(() => this.join(), REJOIN_MS);
      this.rejoin.unref();
    };
    stream.on('error', (err: Error) => lost(err.message));
    stream.on('end', () => lost('stream ended'));
    if (!this.away) this.logger.log(`joining controller ${controller} as ${this.config.id} (pool ${this.config.pool}, holding ${this.states.size} replica(s))`);
  }

  private async apply(stream: ClientDuplexStream<WorkerMessage, ControllerMessage>, graphs: GraphRefMessage[], replicas: { key: string; replica: number }[]): Promise<void> {
    const wanted = new Set(replicas.map((r) => `${r.key}#${r.replica}`));
    for (const slot of [...this.states.keys()]) if (!wanted.has(slot)) this.states.delete(slot);
    const report = (key: string, state: ReplicaStateMessage['state'], reason: string, provider: string): void => {
      for (const r of replicas) {
        if (r.key !== key) continue;
        const message: ReplicaStateMessage = { key, replica: r.replica, state, reason, provider };
        this.states.set(`${key}#${r.replica}`, message);
        stream.write({ replica: message });
      }
    };
    // Each graph document is checked here (size, hash, fields); the nodes of a refused one fail with the reason.
    const checked = checkSentGraphs(graphs);
    for (const r of checked.refused) this.logger.error(r.problem);
    const assigned: AssignedGraph[] = [
      ...checked.graphs,
      ...checked.refused.flatMap((r) => (r.name === undefined ? [] : [{ name: r.name, file: '', contentHash: '', problem: r.problem }])),
    ];
    this.graphs = checked.graphs.map((g) => ({ name: g.name, file: g.file, content_hash: g.contentHash }));
    await this.serving.assign(assigned, [...new Set(replicas.map((r) => r.key))], report);
    this.logger.log(`assigned ${replicas.length} replica(s): ${replicas.map((r) => `${r.key}#${r.replica}`).join(', ') || 'none'}`);
  }
}
