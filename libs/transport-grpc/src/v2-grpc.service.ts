import { loadPackageDefinition, type ServiceClientConstructor } from '@grpc/grpc-js';
import { loadSync, type PackageDefinition, type ServiceDefinition } from '@grpc/proto-loader';
import { V2_PROTO_LOADER_OPTIONS, V2_PROTO_PATH, invalidArgument } from '@infergraph/protocol';

/**
 * What a V2 server method receives in place of a request whose bytes are no valid protobuf message.
 * grpc-js answers a deserializer that throws with INTERNAL (a server fault, the gRPC 500); the caller
 * sent the broken bytes, so servers turn this into INVALID_ARGUMENT with `decodedRequest`.
 */
export class UndecodableRequest {
  constructor(
    /** The message type, e.g. `ModelInferRequest`. */
    readonly messageType: string,
    readonly reason: string,
  ) {}
}

/** The request itself, or INVALID_ARGUMENT (a 400) when its bytes could not be decoded. */
export function decodedRequest<T>(request: T | UndecodableRequest): T {
  if (request instanceof UndecodableRequest) throw invalidArgument(`malformed protobuf ${request.messageType}: ${request.reason}`);
  return request;
}

let definition: PackageDefinition | undefined;

/**
 * The V2 `inference` package as @grpc/proto-loader loads it, except that every method's request
 * deserializer returns an `UndecodableRequest` instead of throwing. Loaded once per process; what servers
 * register (NestJS's `packageDefinition` option, `V2GrpcServer`) and clients use.
 */
export function v2PackageDefinition(): PackageDefinition {
  if (definition === undefined) {
    const loaded = loadSync(V2_PROTO_PATH, { ...V2_PROTO_LOADER_OPTIONS });
    for (const service of Object.values(loaded)) {
      if (!isServiceDefinition(service)) continue;
      for (const method of Object.values(service)) {
        const deserialize = method.requestDeserialize;
        const messageType = (method.requestType.type as { name?: unknown }).name;
        method.requestDeserialize = (bytes: Buffer): object => {
          try {
            return deserialize(bytes);
          } catch (err) {
            return new UndecodableRequest(typeof messageType === 'string' ? messageType : `request of ${method.path}`, err instanceof Error ? err.message : String(err));
          }
        };
      }
    }
    definition = loaded;
  }
  return definition;
}

/** A service of a package definition (its methods), as opposed to a message or enum type. */
function isServiceDefinition(value: PackageDefinition[string]): value is ServiceDefinition {
  return !('format' in value);
}

let service: ServiceClientConstructor | undefined;

/**
 * The V2 `inference.GRPCInferenceService` from `v2PackageDefinition`: a client constructor whose `service`
 * is the definition servers register. Loaded once per process, for clients and servers alike.
 */
export function v2GrpcService(): ServiceClientConstructor {
  if (service === undefined) {
    const loaded = (loadPackageDefinition(v2PackageDefinition())['inference'] as Record<string, ServiceClientConstructor | undefined> | undefined)?.['GRPCInferenceService'];
    if (loaded === undefined) throw new Error(`GRPCInferenceService missing from the V2 proto ${V2_PROTO_PATH}`);
    service = loaded;
  }
  return service;
}
