import { loadPackageDefinition, type ServiceClientConstructor } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { V2_PROTO_LOADER_OPTIONS, V2_PROTO_PATH } from '@infergraph/protocol';

let service: ServiceClientConstructor | undefined;

/**
 * The V2 `inference.GRPCInferenceService` as loaded from the protocol's .proto: a client constructor whose
 * `service` is the definition servers register. Loaded once per process, for clients and servers alike.
 */
export function v2GrpcService(): ServiceClientConstructor {
  if (service === undefined) {
    const definition = loadPackageDefinition(loadSync(V2_PROTO_PATH, { ...V2_PROTO_LOADER_OPTIONS }));
    const loaded = (definition['inference'] as Record<string, ServiceClientConstructor | undefined> | undefined)?.['GRPCInferenceService'];
    if (loaded === undefined) throw new Error(`GRPCInferenceService missing from the V2 proto ${V2_PROTO_PATH}`);
    service = loaded;
  }
  return service;
}
