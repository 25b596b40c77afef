import { credentials, Metadata, type Client, type ServiceError } from '@grpc/grpc-js';
import type { ModelInferRequestMessage, ModelInferResponseMessage } from '@infergraph/protocol';
import { v2GrpcService } from './v2-grpc.service';

type Unary<Req, Res> = (request: Req, metadata: Metadata, options: { deadline?: number }, callback: (err: ServiceError | null, response: Res) => void) => void;

interface V2Stub extends Client {
  ModelInfer: Unary<ModelInferRequestMessage, ModelInferResponseMessage>;
  ServerReady: Unary<Record<string, never>, { ready: boolean }>;
}

const FORWARDED = /^(x-[a-z0-9-_.]+|traceparent|tracestate|baggage)$/;

/** A grpc-js client of one V2 GRPCInferenceService endpoint (one worker replica). */
export class V2GrpcStub {
  private readonly stub: V2Stub;

  constructor(readonly address: string) {
    this.stub = new (v2GrpcService())(address, credentials.createInsecure()) as unknown as V2Stub;
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
