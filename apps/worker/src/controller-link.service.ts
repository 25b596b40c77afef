import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { ClientDuplexStream } from '@grpc/grpc-js';
import type { ControllerMessage, WorkerMessage } from '@infergraph/protocol';
import { ControlClient } from '@infergraph/transport-grpc';
import { NodeServingService } from './node-serving.service';
import { WORKER_CONFIG, type WorkerConfig } from './worker.config';

/**
 * Controller mode: keeps one Join stream open to the controller (re-joining after it restarts),
 * sends hello, heartbeats and replica states, and applies each assignment it receives.
 */
@Injectable()
export class ControllerLinkService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('controller-link');
  private client: ControlClient | undefined;
  private stream: ClientDuplexStream<WorkerMessage, ControllerMessage> | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private rejoin: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly serving: NodeServingService,
    @Inject(WORKER_CONFIG) private readonly config: WorkerConfig,
  ) {}

  onApplicationBootstrap(): void {
    if (this.config.controller !== undefined) this.join();
  }

  onApplicationShutdown(): void {
    this.stopped = true;
    clearInterval(this.heartbeat);
    clearTimeout(this.rejoin);
    this.stream?.end();
    this.client?.close();
  }

  private join(): void {
    const controller = this.config.controller as string;
    this.client?.close();
    this.client = new ControlClient(controller);
    const stream = this.client.join();
    this.stream = stream;
    const c = this.config.capacity;
    stream.write({
      hello: {
        worker_id: this.config.id,
        pool: this.config.pool,
        address: `${this.config.host}:${this.config.port}`,
        capacity: { cpu: c.cpu, memory: String(c.memory), gpu_count: c.gpuCount, gpu_memory: String(c.gpuMemory) },
      },
    });
    clearInterval(this.heartbeat);
    this.heartbeat = setInterval(() => {
      const loads = this.serving.takeLoads();
      stream.write({ heartbeat: { in_flight: loads.reduce((n, l) => n + l.in_flight, 0), loads } });
    }, this.config.heartbeatMs);
    this.heartbeat.unref();
    stream.on('data', (message: ControllerMessage) => {
      const a = message.assignment;
      if (a === undefined || a === null) return;
      void this.apply(stream, a.graphs, a.replicas);
    });
    const lost = (why: string): void => {
      if (this.stopped || this.stream !== stream) return;
      clearInterval(this.heartbeat);
      this.logger.warn(`lost the controller at ${controller} (${why}); re-joining`);
      this.rejoin = setTimeout(() => this.join(), 500);
      this.rejoin.unref();
    };
    stream.on('error', (err: Error) => lost(err.message));
    stream.on('end', () => lost('stream ended'));
    this.logger.log(`joined controller ${controller} as ${this.config.id} (pool ${this.config.pool})`);
  }

  private async apply(
    stream: ClientDuplexStream<WorkerMessage, ControllerMessage>,
    graphs: { name: string; file: string }[],
    replicas: { key: string; replica: number }[],
  ): Promise<void> {
    const states = await this.serving.assign(graphs, [...new Set(replicas.map((r) => r.key))]);
    const byKey = new Map(states.map((s) => [s.key, s]));
    for (const r of replicas) {
      const s = byKey.get(r.key);
      stream.write({
        replica: { key: r.key, replica: r.replica, state: s?.ready === true ? 'READY' : 'FAILED', reason: s?.reason ?? '', provider: s?.provider ?? '' },
      });
    }
    this.logger.log(`assigned ${replicas.length} replica(s): ${replicas.map((r) => `${r.key}#${r.replica}`).join(', ') || 'none'}`);
  }
}
