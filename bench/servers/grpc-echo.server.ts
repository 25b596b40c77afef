// Calibration for the gRPC-hop micro-measurement: a bare grpc-js V2 GRPCInferenceService (no NestJS, no
// inference) whose ModelInfer, and each call on its ModelStreamInfer streams (what GrpcNodeTransport
// uses), answers with the same canned iris-shaped response. The
// round-trip to it is what gRPC itself costs on this machine. With --defer it answers one event-loop turn
// later (setImmediate), as any server must whose work is asynchronous (onnxruntime-node schedules every
// session.run that way): what answering asynchronously adds to a round trip.
//   node dist/bench/servers/grpc-echo.server.js [--defer]
// Prints "listening on grpc://127.0.0.1:<port>".
import { Server, ServerCredentials, type ServerDuplexStream, type sendUnaryData } from '@grpc/grpc-js';
import { encodeModelInferResponse, type InferResponse, type ModelInferResponseMessage } from '@infergraph/protocol';
import { MODEL_STREAM_INFER, ModelStreamServing, v2GrpcService } from '@infergraph/transport-grpc';

const response: InferResponse = {
  modelName: 'echo',
  modelVersion: '1',
  id: 'echo',
  parameters: undefined,
  outputs: [
    { name: 'label', datatype: 'INT64', shape: [1], data: new BigInt64Array([0n]) },
    { name: 'probabilities', datatype: 'FP32', shape: [1, 3], data: new Float32Array([0.9, 0.05, 0.05]) },
  ],
};
const canned: ModelInferResponseMessage = encodeModelInferResponse(response);

const defer = process.argv.includes('--defer');
const server = new Server();
const streaming = new ModelStreamServing(() => (defer ? new Promise((resolve) => setImmediate(() => resolve(response))) : Promise.resolve(response)));
server.addService({ ...v2GrpcService().service, ModelStreamInfer: MODEL_STREAM_INFER }, {
  ModelStreamInfer: (call: ServerDuplexStream<Buffer, Buffer>) => streaming.serve(call),
  ModelInfer: (_call: unknown, callback: sendUnaryData<ModelInferResponseMessage>) => {
    if (defer) setImmediate(() => callback(null, canned));
    else callback(null, canned);
  },
});
server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, port) => {
  if (err) {
    console.error(err.message);
    process.exit(1);
  }
  console.log(`listening on grpc://127.0.0.1:${port}`);
});
