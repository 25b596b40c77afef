import { Inject, Injectable, Logger, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { V2GrpcServer, describeRejectedTls, reloadingServerCredentials, v2GrpcHandlers, watchTlsFiles } from '@infergraph/transport-grpc';
import { DrainGate } from './drain.gate';
import { NodeServingService } from './node-serving.service';
import { WORKER_CONFIG, type WorkerConfig } from './worker.config';

/** How often a worker looks for renewed NODE_TLS_* files. */
const NODE_TLS_RELOAD_MS = 10_000;

/**
 * V2 gRPC on a worker: the engine's NodeInferenceService (every graph node it holds is a model named
 * "<graph>.<node>") on the one V2GrpcServer. Depending on NodeServingService, it starts after the graphs
 * are loaded and stops taking calls (letting those in flight finish) before the Kafka consumers, sessions
 * and registry close.
 */
@Injectable()
export class WorkerGrpcServer implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly server: V2GrpcServer;

  constructor(
    serving: NodeServingService,
    @Inject(WORKER_CONFIG) config: WorkerConfig,
    private readonly gate: DrainGate,
  ) {
    const nodes = serving.inference;
    const handlers = v2GrpcHandlers({
      serverReadiness: () => nodes.serverReadiness(),
      serverMetadata: () => nodes.serverMetadata(),
      readiness: (model) => nodes.readiness(model),
      metadata: (model) => nodes.metadata(model),
      // A plain V2 client's call carries no deadline: the node's own limit applies.
      infer: (model, _version, request, headers) => nodes.infer(model, request, headers),
      streamInfer: (model, request, headers, expiresAt, end) => nodes.infer(model, request, headers, expiresAt, end),
    });
    this.server = new V2GrpcServer(handlers, {
      host: config.host,
      port: config.port,
      maxReceiveMessageLength: config.bodyLimitBytes,
      maxSendMessageLength: config.bodyLimitBytes,
      // NODE_TLS_*: only callers with a certificate of the cluster CA (gateways) reach the nodes; renewed files are read again.
      ...(config.nodeTls === undefined ? {} : { credentials: reloadingServerCredentials(watchTlsFiles(config.nodeTls.files, NODE_TLS_RELOAD_MS), (why) => Logger.warn(describeRejectedTls('the node-call port', why), 'tls')) }),
    });
  }

  /** The bound gRPC port (once bootstrapped). */
  get port(): number | undefined {
    return this.server.port;
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.server.listen();
  }

  /** After the drain (routes moved elsewhere): stop taking calls and let those in flight finish. */
  async beforeApplicationShutdown(): Promise<void> {
    await this.gate.wait();
    await this.server.close();
  }
}
