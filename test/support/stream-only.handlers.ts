import type { V2GrpcHandlers } from '@infergraph/transport-grpc';

/** The V2 handlers of a stand-in worker that serves only ModelStreamInfer (node calls), with `streamInfer`. */
export function streamOnlyHandlers(streamInfer: NonNullable<V2GrpcHandlers['streamInfer']>): V2GrpcHandlers {
  return {
    serverLive: () => ({ live: true }),
    serverReady: () => ({ ready: true }),
    serverMetadata: () => ({ name: 't', version: '0', extensions: [] }),
    modelReady: () => ({ ready: true }),
    modelMetadata: () => ({ name: 'g.n', versions: [], platform: 't', inputs: [], outputs: [] }),
    modelInfer: () => Promise.reject(new Error('unary not used here')),
    streamInfer,
  };
}
