import { credentials, Metadata, type ServiceError } from '@grpc/grpc-js';
import { v2GrpcService } from '@infergraph/transport-grpc';

type Unary = (request: unknown, metadata: Metadata, callback: (err: ServiceError | null, response: unknown) => void) => void;

/** A plain @grpc/grpc-js client for the V2 GRPCInferenceService, for tests. */
export class V2GrpcClient {
  private readonly stub: Record<string, Unary> & { close(): void };

  constructor(address: string) {
    const Service = v2GrpcService();
    this.stub = new Service(address, credentials.createInsecure()) as unknown as Record<string, Unary> & { close(): void };
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
