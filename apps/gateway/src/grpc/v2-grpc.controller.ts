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
import { GraphInferenceService } from '@infergraph/engine';
import { decodedRequest, headersOf, type UndecodableRequest } from '@infergraph/transport-grpc';
import { SERVER_VERSION } from '../http/health.controller';
import { PredictAuthenticator, withPrincipal } from '../auth/predict-authenticator';
import { InFlightLimiter } from '../in-flight.limiter';

const SERVICE = 'GRPCInferenceService';

interface ModelRequestMessage {
  readonly name: string;
  readonly version: string;
}

/** Open Inference Protocol V2 over gRPC: the same graphs and service calls as the REST controller. */
@Controller()
export class V2GrpcController {
  constructor(
    private readonly inference: GraphInferenceService,
    private readonly authenticator: PredictAuthenticator,
    private readonly limiter: InFlightLimiter,
  ) {}

  @GrpcMethod(SERVICE, 'ServerLive')
  serverLive(): { live: boolean } {
    return { live: true };
  }

  @GrpcMethod(SERVICE, 'ServerReady')
  serverReady(): { ready: boolean } {
    return { ready: this.inference.serverReadiness().ready };
  }

  @GrpcMethod(SERVICE, 'ServerMetadata')
  serverMetadata(): unknown {
    return { name: 'infergraph', version: SERVER_VERSION, extensions: [] };
  }

  @GrpcMethod(SERVICE, 'ModelReady')
  modelReady(message: ModelRequestMessage | UndecodableRequest): { ready: boolean } {
    return guard(() => {
      const request = decodedRequest(message);
      return { ready: this.inference.readiness(request.name, request.version || undefined).ready };
    });
  }

  @GrpcMethod(SERVICE, 'ModelMetadata')
  modelMetadata(message: ModelRequestMessage | UndecodableRequest): unknown {
    return guard(() => {
      const request = decodedRequest(message);
      return this.inference.metadata(request.name, request.version || undefined);
    });
  }

  @GrpcMethod(SERVICE, 'ModelInfer')
  async modelInfer(message: ModelInferRequestMessage | UndecodableRequest, metadata: Metadata): Promise<ModelInferResponseMessage> {
    let entered = false;
    try {
      const request = decodedRequest(message);
      this.limiter.enter();
      entered = true;
      const auth = this.inference.ready(request.model_name, request.model_version || undefined).spec.spec.auth;
      const sent = headersOf(metadata);
      const headers = withPrincipal(sent, auth === undefined ? undefined : await this.authenticator.authenticate(request.model_name, auth, sent));
      const response = await this.inference.infer({
        graph: request.model_name,
        version: request.model_version || undefined,
        request: decodeModelInferRequest(request),
        requestId: headers['x-request-id'],
        headers,
      });
      return encodeModelInferResponse(response);
    } catch (err) {
      throw new RpcException(grpcStatusOf(err));
    } finally {
      if (entered) this.limiter.leave();
    }
  }
}

function guard<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw new RpcException(grpcStatusOf(err));
  }
}
