import { credentials, Metadata, type ServiceError } from '@grpc/grpc-js';
import { decodeInferRequestObject, decodeNodeOutputs, encodeNodeCall, parametersOf, type ModelInferResponseMessage } from '@infergraph/protocol';
import { v2GrpcService } from '@infergraph/transport-grpc';
import { CommandError, UsageError } from './cli.command';
import type { PredictResult, V2Request } from './predict-request';

type ModelInfer = (request: unknown, metadata: Metadata, callback: (err: ServiceError | null, response: ModelInferResponseMessage) => void) => void;

/** One ModelInfer call on the gateway's V2 gRPC endpoint (plain text). */
export async function predictOverGrpc(address: string, graph: string, version: string | undefined, request: V2Request, headers: Record<string, string>): Promise<PredictResult> {
  let decoded;
  try {
    decoded = decodeInferRequestObject(request);
  } catch (err) {
    throw new UsageError(`--data: ${(err as Error).message}`);
  }
  const message = { ...encodeNodeCall(graph, request.id ?? '', request.parameters ?? {}, decoded.inputs), model_version: version ?? '' };
  const Service = v2GrpcService();
  const stub = new Service(address, credentials.createInsecure()) as unknown as { ModelInfer: ModelInfer; close(): void };
  const metadata = new Metadata();
  for (const [k, v] of Object.entries(headers)) metadata.set(k, v);
  try {
    const response = await new Promise<ModelInferResponseMessage>((resolve, reject) => {
      stub.ModelInfer(message, metadata, (err, res) => (err ? reject(err) : resolve(res)));
    });
    const outputs = [...decodeNodeOutputs(response, `gateway ${address}`).values()].map((t) => ({
      name: t.name,
      datatype: t.datatype,
      shape: t.shape,
      data: Array.from(t.data as ArrayLike<unknown>, (v) => (typeof v === 'bigint' ? Number(v) : v)),
    }));
    return { model_name: response.model_name, model_version: response.model_version, id: response.id, outputs, parameters: parametersOf(response.parameters) };
  } catch (err) {
    if (err instanceof CommandError) throw err;
    const e = err as ServiceError;
    throw new CommandError(`ModelInfer ${graph} at ${address}: ${e.details ?? e.message}`);
  } finally {
    stub.close();
  }
}
