import { isDatatype, type Datatype } from './datatype';
import { echoText } from './error-echo';
import { InferenceError, invalidArgument } from './inference.error';
import type { InferRequest, RequestedOutput } from './oip-request.codec';
import { setParameter } from './parameter-map';
import type { InferResponse } from './oip-response.codec';
import { checkRequestId } from './request-id.validator';
import { checkTensorRank, checkedElementCount, formatShape, type Tensor } from './tensor';
import { decodeBinaryElements, decodeJsonElements, encodeBinaryElements } from './tensor-data.codec';

// Plain-object forms of the V2 gRPC messages (proto/grpc_predict_v2.proto) as @grpc/proto-loader
// produces and accepts them with { keepCase: true, longs: String, oneofs: true }. No gRPC import here.

export interface InferParameterMessage {
  bool_param?: boolean;
  int64_param?: string | number;
  string_param?: string;
  double_param?: number;
  uint64_param?: string | number;
  parameter_choice?: string;
}

export interface InferTensorContentsMessage {
  bool_contents?: boolean[];
  int_contents?: number[];
  int64_contents?: (string | number)[];
  uint_contents?: number[];
  uint64_contents?: (string | number)[];
  fp32_contents?: number[];
  fp64_contents?: number[];
  bytes_contents?: Uint8Array[];
}

export interface InferInputTensorMessage {
  name: string;
  datatype: string;
  shape: (string | number)[];
  parameters?: Record<string, InferParameterMessage>;
  contents?: InferTensorContentsMessage | null;
}

export interface ModelInferRequestMessage {
  model_name: string;
  model_version?: string;
  id?: string;
  parameters?: Record<string, InferParameterMessage>;
  inputs?: InferInputTensorMessage[];
  outputs?: { name: string; parameters?: Record<string, InferParameterMessage> }[];
  raw_input_contents?: Uint8Array[];
}

export interface ModelInferResponseMessage {
  model_name: string;
  model_version: string;
  id: string;
  parameters: Record<string, InferParameterMessage>;
  outputs: { name: string; datatype: string; shape: number[] }[];
  raw_output_contents: Uint8Array[];
}

/** gRPC status codes (google.rpc.Code) for each failure class. */
export const GRPC_STATUS_OF = {
  INVALID_ARGUMENT: 3,
  UNAUTHENTICATED: 16,
  PERMISSION_DENIED: 7,
  NOT_FOUND: 5,
  PAYLOAD_TOO_LARGE: 8,
  UNPROCESSABLE: 9,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DEADLINE_EXCEEDED: 4,
} as const;

/**
 * Decodes a ModelInferRequest; raw_input_contents (what V2 clients send by default) or typed contents.
 * `viewRaw`: numeric tensors may be views over raw_input_contents (bytes decoded from protobuf by
 * `oip-proto.codec`, owned by nobody else) instead of copies.
 */
export function decodeModelInferRequest(message: ModelInferRequestMessage, viewRaw = false): InferRequest {
  const raw = message.raw_input_contents ?? [];
  const wireInputs = message.inputs ?? [];
  if (wireInputs.length === 0) throw invalidArgument('inputs: must hold at least one input tensor');
  if (raw.length > 0 && raw.length !== wireInputs.length) {
    throw invalidArgument(`raw_input_contents holds ${raw.length} entries for ${wireInputs.length} inputs; give one per input or none`);
  }
  const id = message.id === '' ? undefined : message.id;
  checkRequestId(id, 'id');
  const seen = new Set<string>();
  const inputs = wireInputs.map((input, i): Tensor => {
    const field = `inputs[${i}]`;
    if (!input.name) throw invalidArgument(`${field}.name: must be a non-empty string`);
    if (seen.has(input.name)) throw invalidArgument(`${field}.name: duplicate input tensor "${echoText(input.name)}"`);
    seen.add(input.name);
    if (!isDatatype(input.datatype)) throw invalidArgument(`${field}.datatype: unknown datatype "${echoText(input.datatype)}"`);
    checkTensorRank(input.shape.length, `${field}.shape`);
    const shape = input.shape.map((d, k) => {
      const n = Number(d);
      if (!Number.isSafeInteger(n) || n < 0) throw invalidArgument(`${field}.shape[${k}]: dimensions must be >= 0`);
      return n;
    });
    const count = checkedElementCount(shape, `${field}.shape`);
    const bytes = raw[i];
    const data = bytes !== undefined ? decodeBinaryElements(bytes, input.datatype, count, field, viewRaw) : decodeContents(input.contents ?? {}, input.datatype, count, field, shape);
    return { name: input.name, datatype: input.datatype, shape, data };
  });
  const parameters = parametersOf(message.parameters);
  const requestBinary = parameters['binary_data_output'] === true;
  const outputs: RequestedOutput[] | undefined =
    message.outputs === undefined || message.outputs.length === 0 ? undefined : message.outputs.map((o) => ({ name: o.name, binary: true }));
  return { id, parameters, inputs, outputs, binaryOutput: requestBinary };
}

/** Encodes a response with every output in raw_output_contents, as Triton answers. */
export function encodeModelInferResponse(response: InferResponse): ModelInferResponseMessage {
  const parameters: Record<string, InferParameterMessage> = {};
  for (const [key, value] of Object.entries(response.parameters ?? {})) setParameter(parameters, key, parameterOf(value));
  return {
    model_name: response.modelName,
    model_version: response.modelVersion ?? '',
    id: response.id,
    parameters,
    outputs: response.outputs.map((t) => ({ name: t.name, datatype: t.datatype, shape: [...t.shape] })),
    raw_output_contents: response.outputs.map((t) => encodeBinaryElements(t.data, t.datatype)),
  };
}

export function parametersOf(map: Record<string, InferParameterMessage> | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, p] of Object.entries(map ?? {})) {
    const choice = p.parameter_choice ?? Object.keys(p).find((k) => k.endsWith('_param'));
    if (choice === 'bool_param') setParameter(out, key, p.bool_param);
    else if (choice === 'string_param') setParameter(out, key, p.string_param);
    else if (choice === 'double_param') setParameter(out, key, p.double_param);
    else if (choice === 'int64_param') setParameter(out, key, Number(p.int64_param));
    else if (choice === 'uint64_param') setParameter(out, key, Number(p.uint64_param));
  }
  return out;
}

function parameterOf(value: unknown): InferParameterMessage {
  if (typeof value === 'boolean') return { bool_param: value };
  if (typeof value === 'number') return Number.isSafeInteger(value) ? { int64_param: String(value) } : { double_param: value };
  if (typeof value === 'string') return { string_param: value };
  return { string_param: JSON.stringify(value) };
}

const CONTENTS_FIELD: Readonly<Record<Datatype, keyof InferTensorContentsMessage | undefined>> = {
  BOOL: 'bool_contents',
  INT8: 'int_contents',
  INT16: 'int_contents',
  INT32: 'int_contents',
  INT64: 'int64_contents',
  UINT8: 'uint_contents',
  UINT16: 'uint_contents',
  UINT32: 'uint_contents',
  UINT64: 'uint64_contents',
  FP16: undefined,
  FP32: 'fp32_contents',
  FP64: 'fp64_contents',
  BYTES: 'bytes_contents',
};

function decodeContents(contents: InferTensorContentsMessage, datatype: Datatype, count: number, field: string, shape: readonly number[]): Tensor['data'] {
  const key = CONTENTS_FIELD[datatype];
  if (key === undefined) throw invalidArgument(`${field}: ${datatype} tensors must be sent in raw_input_contents`);
  const values = (contents[key] ?? []) as unknown[];
  if (values.length !== count) {
    throw invalidArgument(`${field}: shape ${formatShape(shape)} needs ${count} elements, but contents.${key} holds ${values.length}`);
  }
  const decoded = datatype === 'BYTES' ? values.map((b) => Buffer.from(b as Uint8Array).toString('utf8')) : values;
  return decodeJsonElements(decoded, datatype, `${field}.contents.${key}`);
}

/** The gRPC status for an error leaving a V2 gRPC endpoint. */
export function grpcStatusOf(err: unknown): { code: number; message: string } {
  if (err instanceof InferenceError) return { code: GRPC_STATUS_OF[err.code], message: err.message };
  return { code: GRPC_STATUS_OF.INTERNAL, message: `internal error: ${err instanceof Error ? err.message : String(err)}` };
}

/**
 * The ModelInferRequest for one graph node call (raw tensor contents, scalar request parameters):
 * what the gateway sends a worker over gRPC or a node's Kafka input topic.
 */
export function encodeNodeCall(model: string, requestId: string, parameters: Readonly<Record<string, unknown>>, inputs: Iterable<Tensor>): ModelInferRequestMessage {
  const list = [...inputs];
  const params: Record<string, InferParameterMessage> = {};
  // Scalars only: structured request parameters stay with the executor, which owns routing.
  for (const [k, v] of Object.entries(parameters)) if (typeof v === 'boolean' || typeof v === 'number' || typeof v === 'string') setParameter(params, k, parameterOf(v));
  return {
    model_name: model,
    id: requestId,
    parameters: params,
    inputs: list.map((t) => ({ name: t.name, datatype: t.datatype, shape: [...t.shape] })),
    raw_input_contents: list.map((t) => encodeBinaryElements(t.data, t.datatype)),
  };
}

/**
 * The output tensors of a node's ModelInferResponse; `where` names the replica in errors. `viewRaw`: as
 * for `decodeModelInferRequest`.
 */
export function decodeNodeOutputs(response: Pick<ModelInferResponseMessage, 'outputs' | 'raw_output_contents'>, where: string, viewRaw = false): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  response.outputs.forEach((o, i) => {
    const field = `output "${echoText(o.name)}"`;
    if (!isDatatype(o.datatype)) throw new InferenceError('INTERNAL', `${where} returned ${field} with datatype "${echoText(o.datatype)}"`);
    const shape = o.shape.map(Number);
    const bytes = response.raw_output_contents[i] ?? new Uint8Array(0);
    try {
      if (!shape.every((d) => Number.isSafeInteger(d) && d >= 0)) throw invalidArgument(`${field} with shape ${formatShape(shape)}; dimensions must be integers >= 0`);
      out.set(o.name, { name: o.name, datatype: o.datatype, shape, data: decodeBinaryElements(bytes, o.datatype, checkedElementCount(shape, field), field, viewRaw) });
    } catch (err) {
      // A worker's answer that does not hold together is the server's fault, not the caller's: a 500 naming the replica.
      throw new InferenceError('INTERNAL', `${where} returned ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
  });
  return out;
}
