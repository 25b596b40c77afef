import { Server, type CustomTransportStrategy } from '@nestjs/microservices';
import type { GraphInferenceService } from '@infergraph/engine';
import { withPrincipal, type PredictAuthenticator } from '../auth/predict-authenticator';
import type { InFlightLimiter } from '../in-flight.limiter';
import { V2GrpcServer, v2GrpcHandlers, type V2GrpcServerOptions } from '@infergraph/transport-grpc';

/**
 * The gateway's public V2 gRPC endpoint, hosted as a NestJS microservice: a custom transport strategy
 * around the one `V2GrpcServer` (the workers' too), serving the engine's graphs. NestJS starts it with the
 * application (`startAllMicroservices`) and closes it on shutdown, ahead of the Kafka and engine shutdown.
 */
export class V2GrpcStrategy extends Server implements CustomTransportStrategy {
  private readonly server: V2GrpcServer;

  constructor(inference: GraphInferenceService, authenticator: PredictAuthenticator, limiter: InFlightLimiter, options: V2GrpcServerOptions) {
    super();
    const handlers = v2GrpcHandlers({
      serverReadiness: () => inference.serverReadiness(),
      serverMetadata: () => inference.serverMetadata(),
      readiness: (graph, version) => inference.readiness(graph, version),
      metadata: (graph, version) => inference.metadata(graph, version),
      admit: (graph, version) => void inference.ready(graph, version),
      // As on REST: MAX_IN_FLIGHT counts both, spec.auth is checked, and clients cannot send the auth headers.
      infer: async (graph, version, request, sent) => {
        limiter.enter();
        try {
          const auth = inference.ready(graph, version).spec.spec.auth;
          const headers = withPrincipal(sent, auth === undefined ? undefined : await authenticator.authenticate(graph, auth, sent));
          return await inference.infer({ graph, version, request, requestId: headers['x-request-id'], headers });
        } finally {
          limiter.leave();
        }
      },
    });
    this.server = new V2GrpcServer(handlers, options);
  }

  listen(callback: (err?: unknown) => void): void {
    this.server.listen().then(
      () => callback(),
      (err: unknown) => callback(err),
    );
  }

  close(): Promise<void> {
    return this.server.close();
  }

  /** The strategy emits no events of its own. */
  on(): void {
    return undefined;
  }

  unwrap<T>(): T {
    return this.server as T;
  }
}
