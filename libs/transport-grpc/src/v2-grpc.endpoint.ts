import { decodeModelInferRequest, encodeModelInferResponse, type InferRequest, type InferResponse } from '@infergraph/protocol';
import type { StreamInferHandler } from './model-stream.serving';
import type { V2GrpcHandlers, V2ModelMetadataMessage } from './v2-grpc.server';

/**
 * What a V2 gRPC server serves, in the engine's terms: the gateway's `GraphInferenceService` (graphs as
 * models) or the worker's `NodeInferenceService` (nodes as models). Readiness and metadata are the
 * engine's rules; the server only translates. A method that throws answers with the error's gRPC status.
 */
export interface V2InferenceEndpoint {
  /** `missing`: what keeps graphs (or nodes) from serving, said in the ServerReady trailer. */
  serverReadiness(): { readonly ready: boolean; readonly missing?: readonly string[] };
  /** Name and version; the gRPC wire adds its (empty) extension list. */
  serverMetadata(): { readonly name: string; readonly version: string };
  /** `version`: undefined when the request left it empty ("any"). */
  readiness(model: string, version: string | undefined): { readonly ready: boolean; readonly error?: string };
  metadata(model: string, version: string | undefined): V2ModelMetadataMessage;
  /** Checked before a ModelInfer request is decoded, so an unknown or unready model answers as such. */
  admit?(model: string, version: string | undefined): void;
  infer(model: string, version: string | undefined, request: InferRequest, headers: Record<string, string>): Promise<InferResponse>;
  /** ModelStreamInfer calls (the gateways' node calls); without it the RPC answers UNIMPLEMENTED. */
  streamInfer?: StreamInferHandler;
}

/** The V2 RPCs of an endpoint: wire messages to its calls and back, nothing else. */
export function v2GrpcHandlers(endpoint: V2InferenceEndpoint): V2GrpcHandlers {
  const streamInfer = endpoint.streamInfer;
  return {
    serverLive: () => ({ live: true }),
    serverReady: () => {
      const { ready, missing } = endpoint.serverReadiness();
      return { ready, notReady: missing?.join('; ') };
    },
    serverMetadata: () => {
      const { name, version } = endpoint.serverMetadata();
      return { name, version, extensions: [] };
    },
    modelReady: (request) => {
      const { ready, error } = endpoint.readiness(request.name, request.version || undefined);
      return { ready, notReady: error };
    },
    modelMetadata: (request) => endpoint.metadata(request.name, request.version || undefined),
    modelInfer: async (request, headers) => {
      const version = request.model_version || undefined;
      endpoint.admit?.(request.model_name, version);
      return encodeModelInferResponse(await endpoint.infer(request.model_name, version, decodeModelInferRequest(request), headers));
    },
    ...(streamInfer === undefined ? {} : { streamInfer }),
  };
}
