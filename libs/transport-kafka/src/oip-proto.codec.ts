import { Root, type Type } from 'protobufjs';
import {
  V2_PROTO_PATH,
  decodeModelInferRequest,
  invalidArgument,
  type InferRequest,
  type ModelInferRequestMessage,
  type ModelInferResponseMessage,
} from '@infergraph/protocol';

// Binary protobuf forms of the V2 messages for Kafka record values, from the same .proto the gRPC
// endpoints serve, with the plain-object shape the gRPC codecs are written for.

const TO_OBJECT = { longs: String, enums: String, defaults: true, oneofs: true, bytes: Buffer } as const;

let types: { request: Type; response: Type } | undefined;

function messageTypes(): { request: Type; response: Type } {
  if (types === undefined) {
    const root = new Root().loadSync(V2_PROTO_PATH, { keepCase: true });
    types = { request: root.lookupType('inference.ModelInferRequest'), response: root.lookupType('inference.ModelInferResponse') };
  }
  return types;
}

export function encodeInferRequestProto(message: ModelInferRequestMessage): Buffer {
  const { request } = messageTypes();
  return Buffer.from(request.encode(request.fromObject(message)).finish());
}

export function decodeInferRequestMessage(bytes: Uint8Array): ModelInferRequestMessage {
  const { request } = messageTypes();
  try {
    return request.toObject(request.decode(bytes), TO_OBJECT) as ModelInferRequestMessage;
  } catch (err) {
    throw invalidArgument(`malformed protobuf ModelInferRequest: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** A protobuf ModelInferRequest record value as an inference request (model_name is ignored). */
export function decodeInferRequestProto(bytes: Uint8Array): InferRequest {
  return decodeModelInferRequest(decodeInferRequestMessage(bytes));
}

export function encodeInferResponseProto(message: ModelInferResponseMessage): Buffer {
  const { response } = messageTypes();
  return Buffer.from(response.encode(response.fromObject(message)).finish());
}

export function decodeInferResponseProto(bytes: Uint8Array): ModelInferResponseMessage {
  const { response } = messageTypes();
  try {
    return response.toObject(response.decode(bytes), TO_OBJECT) as ModelInferResponseMessage;
  } catch (err) {
    throw invalidArgument(`malformed protobuf ModelInferResponse: ${err instanceof Error ? err.message : String(err)}`);
  }
}
