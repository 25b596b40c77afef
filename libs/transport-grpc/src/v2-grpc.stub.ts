import { credentials, Metadata, type Client, type ClientUnaryCall, type ServiceError } from '@grpc/grpc-js';
import type { RequestEnd } from '@infergraph/executor';
import type { ModelInferRequestMessage, ModelInferResponseMessage } from '@infergraph/protocol';
import { v2GrpcService } from './v2-grpc.service';

type Unary<Req, Res> = (
  request: Req,
  metadata: Metadata,
  options: { deadline?: number },
  callback: (err: ServiceError | null, response: Res) => void,
) => ClientUnaryCall;

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

  /** One call; cancelled (gRPC CANCELLED, which the worker sees) when `end` fires before the answer. */
  modelInfer(
    request: ModelInferRequestMessage,
    headers: Readonly<Record<string, string>>,
    deadline: number,
    end?: RequestEnd,
  ): Promise<ModelInferResponseMessage> {
    const metadata = new Metadata();
    // Only application headers travel: HTTP/1 connection headers are illegal in HTTP/2 metadata.
    for (const [k, v] of Object.entries(headers)) if (FORWARDED.test(k)) metadata.set(k, v);
    return new Promise((resolve, reject) => {
      // A holder, not a variable: cancelling can answer the call before onEnd returns.
      const subscription = { off: (): void => undefined };
      const call = this.stub.ModelInfer(request, metadata, { deadline }, (err, response) => {
        subscription.off();
        if (err) reject(err);
        else resolve(response);
      });
      if (end !== undefined) subscription.off = end.onEnd(() => call.cancel());
    });
  }

  close(): void {
    this.stub.close();
  }
}
