import path from 'node:path';

/** The V2 gRPC service definition; the build copies proto/ beside the compiled library. */
export const V2_PROTO_PATH = path.join(__dirname, '..', 'proto', 'grpc_predict_v2.proto');

/** @grpc/proto-loader options the plain-object codecs are written for. */
export const V2_PROTO_LOADER_OPTIONS = Object.freeze({ keepCase: true, longs: String, enums: String, defaults: true, oneofs: true });
