import { credentials, Metadata, type ServiceError, type StatusObject } from '@grpc/grpc-js';
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

  /** A unary call's response with its trailing metadata (string values), e.g. readiness reasons. */
  callWithTrailers<T>(method: string, request: unknown): Promise<{ response: T; trailers: Record<string, string> }> {
    return new Promise((resolve, reject) => {
      const fn = this.stub[method] as unknown as ((request: unknown, metadata: Metadata, callback: (err: ServiceError | null, response: unknown) => void) => { on(event: 'status', listener: (s: StatusObject) => void): void }) | undefined;
      if (fn === undefined) return reject(new Error(`no method ${method}`));
      let response: T | undefined;
      let failure: ServiceError | null = null;
      const call = fn.call(this.stub, request, new Metadata(), (err, value) => {
        failure = err;
        response = value as T;
      });
      call.on('status', (s) => {
        // The callback has run by the time the status arrives.
        if (failure !== null) return reject(failure);
        const trailers: Record<string, string> = {};
        for (const [k, v] of Object.entries(s.metadata.getMap())) if (typeof v === 'string') trailers[k] = v;
        resolve({ response: response as T, trailers });
      });
    });
  }

  close(): void {
    this.stub.close();
  }
}
