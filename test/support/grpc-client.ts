import { credentials, loadPackageDefinition, Metadata, type ServiceError } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { V2_PROTO_LOADER_OPTIONS, V2_PROTO_PATH } from '@infergraph/protocol';

type Unary = (request: unknown, metadata: Metadata, callback: (err: ServiceError | null, response: unknown) => void) => void;

/** A plain @grpc/grpc-js client for the V2 GRPCInferenceService, for tests. */
export class V2GrpcClient {
  private readonly stub: Record<string, Unary> & { close(): void };

  constructor(address: string) {
    const definition = loadPackageDefinition(loadSync(V2_PROTO_PATH, { ...V2_PROTO_LOADER_OPTIONS }));
    const Service = (definition['inference'] as Record<string, new (address: string, creds: unknown) => unknown>)['GRPCInferenceService'];
    if (Service === undefined) throw new Error('GRPCInferenceService missing from the proto');
    this.stub = new Service(address, credentials.createInsecure()) as Record<string, Unary> & { close(): void };
  }

  call<T>(method: string, request: unknown, headers: Record<string, string> = {}): Promise<T> {
    const metadata = new Metadata();
    for (const [k, v] of Object.entries(headers)) metadata.set(k, v);
    return new Promise<T>((resolve, reject) => {
      const fn = this.stub[method];
      if (fn === undefined) return reject(new Error(`no method ${method}`));
      fn.call(this.stub, request, metadata, (err, response) => (err ? reject(err) : resolve(response as T)));
    });
  }

  close(): void {
    this.stub.close();
  }
}
