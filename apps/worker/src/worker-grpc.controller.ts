import { Controller } from '@nestjs/common';
import { GrpcMethod, RpcException } from '@nestjs/microservices';
import type { Metadata } from '@grpc/grpc-js';
import {
  decodeModelInferRequest,
  encodeModelInferResponse,
  grpcStatusOf,
  type ModelInferRequestMessage,
  type ModelInferResponseMessage,
} from '@infergraph/protocol';
import { headersOf } from '@infergraph/transport-grpc';
import { NodeServingService } from './node-serving.service';

const SERVICE = 'GRPCInferenceService';

/** V2 gRPC on a worker: every graph node it holds is a model named "<graph>.<node>". */
@Controller()
export class WorkerGrpcController {
  constructor(private readonly serving: NodeServingService) {}

  @GrpcMethod(SERVICE, 'ServerLive')
  serverLive(): { live: boolean } {
    return { live: true };
  }

  @GrpcMethod(SERVICE, 'ServerReady')
  serverReady(): { ready: boolean } {
    return { ready: this.serving.ready };
  }

  @GrpcMethod(SERVICE, 'ServerMetadata')
  serverMetadata(): unknown {
    return { name: 'infergraph-worker', version: '0.1.0', extensions: [] };
  }

  @GrpcMethod(SERVICE, 'ModelReady')
  modelReady(request: { name: string }): { ready: boolean } {
    return { ready: this.serving.has(request.name) };
  }

  @GrpcMethod(SERVICE, 'ModelMetadata')
  modelMetadata(request: { name: string }): unknown {
    try {
      return this.serving.metadata(request.name);
    } catch (err) {
      throw new RpcException(grpcStatusOf(err));
    }
  }

  @GrpcMethod(SERVICE, 'ModelInfer')
  async modelInfer(request: ModelInferRequestMessage, metadata: Metadata): Promise<ModelInferResponseMessage> {
    try {
      return encodeModelInferResponse(await this.serving.infer(request.model_name, decodeModelInferRequest(request), headersOf(metadata)));
    } catch (err) {
      throw new RpcException(grpcStatusOf(err));
    }
  }
}
