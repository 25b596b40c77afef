import { Inject, Injectable, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import type { RequestLifetime } from '@infergraph/executor';
import {
  decodeModelInferRequest,
  encodeModelInferResponse,
  type InferRequest,
  type InferResponse,
  type ModelInferRequestMessage,
  type ModelInferResponseMessage,
} from '@infergraph/protocol';
import { V2GrpcServer, type V2GrpcHandlers, type V2ModelMetadataMessage, type V2ModelRequestMessage, type V2ServerMetadataMessage } from '@infergraph/transport-grpc';
import { DrainGate } from './drain.gate';
import { NodeServingService } from './node-serving.service';
import { WORKER_CONFIG, type WorkerConfig } from './worker.config';

/**
 * V2 gRPC on a worker: every graph node it holds is a model named "<graph>.<node>". Depending on
 * NodeServingService, it starts after the graphs are loaded and stops taking calls (letting those in
 * flight finish) before the Kafka consumers, sessions and registry close.
 */
@Injectable()
export class WorkerGrpcServer implements V2GrpcHandlers, OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly server: V2GrpcServer;

  constructor(
    private readonly serving: NodeServingService,
    @Inject(WORKER_CONFIG) config: WorkerConfig,
    private readonly gate: DrainGate,
  ) {
    this.server = new V2GrpcServer(this, {
      host: config.host,
      port: config.port,
      maxReceiveMessageLength: config.bodyLimitBytes,
      maxSendMessageLength: config.bodyLimitBytes,
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

  serverLive(): { live: boolean } {
    return { live: true };
  }

  serverReady(): { ready: boolean } {
    return this.serving.inference.serverReadiness();
  }

  serverMetadata(): V2ServerMetadataMessage {
    return { name: 'infergraph-worker', version: '0.1.0', extensions: [] };
  }

  modelReady(request: V2ModelRequestMessage): { ready: boolean } {
    return { ready: this.serving.inference.readiness(request.name).ready };
  }

  modelMetadata(request: V2ModelRequestMessage): V2ModelMetadataMessage {
    return this.serving.inference.metadata(request.name);
  }

  async modelInfer(request: ModelInferRequestMessage, headers: Record<string, string>): Promise<ModelInferResponseMessage> {
    return encodeModelInferResponse(await this.serving.inference.infer(request.model_name, decodeModelInferRequest(request), headers));
  }

  streamInfer(model: string, request: InferRequest, headers: Record<string, string>, deadline: number | undefined, end: RequestLifetime): Promise<InferResponse> {
    return this.serving.inference.infer(model, request, headers, deadline, end);
  }
}
