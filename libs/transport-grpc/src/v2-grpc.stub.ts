import { credentials, loadPackageDefinition, Metadata, type Client, type ServiceError } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { V2_PROTO_LOADER_OPTIONS, V2_PROTO_PATH, type ModelInferRequestMessage, type ModelInferResponseMessage } from '@infergraph/protocol';

type Unary<Req, Res> = (request: Req, metadata: Metadata, options: { deadline?: number }, callback: (err: ServiceError | null, response: Res) => void) => void;

interface V2Stub extends Client {
  ModelInfer: Unary<ModelInferRequestMessage, ModelInferResponseMessage>;
  ServerReady: Unary<Record<string, never>, { ready: boolean }>;
}

const FORWARDED = /^(x-[a-z0-9-_.]+|traceparent|tracestate|baggage)$/;

let serviceCtor: (new (address: string, creds: ReturnType<typeof credentials.createInsecure>) => V2Stub) | undefined;

/** A grpc-js client of one V2 GRPCInferenceService endpoint (one worker replica). */
export class V2GrpcStub {
  private readonly stub: V2Stub;

  constructor(readonly address: string) {
    if (serviceCtor === undefined) {
      const definition = loadPackageDefinition(loadSync(V2_PROTO_PATH, { ...V2_PROTO_LOADER_OPTIONS }));
      serviceCtor = (definition['inference'] as unknown as Record<string, typeof serviceCtor>)['GRPCInferenceService'];
    }
    if (serviceCtor === undefined) throw new Error('GRPCInferenceService missing from the V2 proto');
    this.stub = new serviceCtor(address, credentials.createInsecure());
  }

  modelInfer(request: ModelInferRequestMessage, headers: Readonly<Record<string, string>>, deadline: number): Promise<ModelInferResponseMessage> {
    const metadata = new Metadata();
    // Only application headers travel: HTTP/1 connection headers are illegal in HTTP/2 metadata.
    for (const [k, v] of Object.entries(headers)) if (FORWARDED.test(k)) metadata.set(k, v);
    return new Promise((resolve, reject) => {
      this.stub.ModelInfer(request, metadata, { deadline }, (err, response) => (err ? reject(err) : resolve(response)));
    });
  }

  close(): void {
    this.stub.close();
  }
}
