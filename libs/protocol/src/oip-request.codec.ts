import { echoList, echoText } from './error-echo';
import { invalidArgument } from './inference.error';
import { decodeTensorJsonRequest } from './oip-json-request.decoder';
import { describeIssue, inferRequestSchema, isWellFormedInferRequest, type InferInputWire, type InferRequestWire } from './oip.schema';
import { checkRequestId } from './request-id.validator';
import { checkedElementCount, formatShape, type Tensor } from './tensor';
import { decodeBinaryElements, decodeJsonElements, flattenJsonData } from './tensor-data.codec';

export interface RequestedOutput {
  readonly name: string;
  /** Whether this output goes back in the binary tensor data extension. */
  readonly binary: boolean;
}

/** A decoded Open Inference Protocol request, independent of the transport it came over. */
export interface InferRequest {
  readonly id: string | undefined;
  readonly parameters: Readonly<Record<string, unknown>>;
  readonly inputs: readonly Tensor[];
  /** Outputs the caller asked for; undefined means all of them. */
  readonly outputs: readonly RequestedOutput[] | undefined;
  /** Request-level `binary_data_output`: send every output as binary unless it says otherwise. */
  readonly binaryOutput: boolean;
}

/**
 * Decodes a REST request body. `jsonLength` is the `Inference-Header-Content-Length` header when
 * the binary tensor data extension is used: the first `jsonLength` bytes are JSON, the rest tensor bytes.
 */
export function decodeInferRequest(body: Uint8Array, jsonLength?: number): InferRequest {
  if (jsonLength !== undefined && (!Number.isInteger(jsonLength) || jsonLength < 0 || jsonLength > body.byteLength)) {
    throw invalidArgument(
      `Inference-Header-Content-Length must be an integer between 0 and the body size ${body.byteLength}, got ${jsonLength}`,
    );
  }
  if (jsonLength === undefined) {
    // The common body (flat numeric tensors) read directly; anything else goes through JSON.parse below.
    const simple = decodeTensorJsonRequest(body);
    if (simple !== undefined) return simple;
  }
  const headerBytes = jsonLength === undefined ? body : body.subarray(0, jsonLength);
  const binary = jsonLength === undefined ? new Uint8Array(0) : body.subarray(jsonLength);
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.from(headerBytes.buffer, headerBytes.byteOffset, headerBytes.byteLength).toString('utf8'));
  } catch (err) {
    const detail = err instanceof Error ? err.message : String(err);
    throw invalidArgument(`malformed JSON in request body: ${detail}`);
  }
  return decodeInferRequestObject(raw, binary);
}

function parseWithMessages(raw: unknown): InferRequestWire {
  // reportInput lets describeIssue tell a missing field (no input) from one of the wrong type.
  const parsed = inferRequestSchema.safeParse(raw, { reportInput: true });
  if (!parsed.success) {
    throw invalidArgument(`invalid inference request: ${echoList(parsed.error.issues, describeIssue, '; ')}`);
  }
  return parsed.data;
}

/** Validates a parsed JSON request object (REST body, Kafka record value). */
export function decodeInferRequestObject(raw: unknown, binary: Uint8Array = new Uint8Array(0)): InferRequest {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw invalidArgument('request body must be a JSON object with an "inputs" array');
  }
  const wire = isWellFormedInferRequest(raw) ? raw : parseWithMessages(raw);
  checkRequestId(wire.id, 'id');
  if (wire.parameters !== undefined) checkParameterDepth(wire.parameters);
  const seen = new Set<string>();
  let offset = 0;
  const inputs = wire.inputs.map((input, index): Tensor => {
    const field = `inputs[${index}]`;
    if (seen.has(input.name)) throw invalidArgument(`${field}.name: duplicate input tensor "${echoText(input.name)}"`);
    seen.add(input.name);
    const count = checkedElementCount(input.shape, `${field}.shape`);
    const binarySize = input.parameters?.['binary_data_size'];
    if (binarySize !== undefined) {
      if (typeof binarySize !== 'number' || !Number.isInteger(binarySize) || binarySize < 0) {
        throw invalidArgument(`${field}.parameters.binary_data_size: expected a non-negative integer`);
      }
      if (input.data !== undefined) {
        throw invalidArgument(`${field}: give either data or parameters.binary_data_size, not both`);
      }
      if (offset + binarySize > binary.byteLength) {
        throw invalidArgument(
          `${field}.parameters.binary_data_size: ${binarySize} bytes requested at offset ${offset}, but only ${binary.byteLength - offset} binary bytes remain`,
        );
      }
      const data = decodeBinaryElements(binary.subarray(offset, offset + binarySize), input.datatype, count, `${field}`);
      offset += binarySize;
      return { name: input.name, datatype: input.datatype, shape: input.shape, data };
    }
    return decodeJsonInput(input, count, field);
  });
  if (offset !== binary.byteLength) {
    throw invalidArgument(`request carries ${binary.byteLength - offset} binary bytes that no input claims`);
  }
  const requestBinary = wire.parameters?.['binary_data_output'] === true;
  const outputs = wire.outputs?.map((o) => ({
    name: o.name,
    binary: typeof o.parameters?.['binary_data'] === 'boolean' ? o.parameters['binary_data'] : requestBinary,
  }));
  return {
    id: wire.id,
    parameters: wire.parameters ?? {},
    inputs,
    outputs,
    binaryOutput: requestBinary,
  };
}

/**
 * How deeply a request parameter's value may nest arrays and objects. Parameters reach routers, which
 * read and stringify them recursively (a sticky key is a parameter's JSON text): refused here, with a 400.
 */
export const MAX_PARAMETER_DEPTH = 32;

function checkParameterDepth(parameters: Readonly<Record<string, unknown>>): void {
  for (const [key, value] of Object.entries(parameters)) {
    if (typeof value !== 'object' || value === null) continue; // the common case: a scalar
    const pending: [unknown, number][] = [[value, 1]];
    for (let entry = pending.pop(); entry !== undefined; entry = pending.pop()) {
      const [node, depth] = entry;
      if (depth > MAX_PARAMETER_DEPTH) {
        throw invalidArgument(`parameters.${echoText(key)}: nests arrays and objects more than ${MAX_PARAMETER_DEPTH} levels deep`);
      }
      for (const child of Array.isArray(node) ? node : Object.values(node as object)) {
        if (typeof child === 'object' && child !== null) pending.push([child, depth + 1]);
      }
    }
  }
}

function decodeJsonInput(input: InferInputWire, expected: number, field: string): Tensor {
  if (input.data === undefined) {
    throw invalidArgument(`${field}.data: required (or parameters.binary_data_size with binary tensor data)`);
  }
  const values = flattenJsonData(input.data, input.shape, `${field}.data`);
  if (values.length !== expected) {
    throw invalidArgument(
      `${field}: shape ${formatShape(input.shape)} needs ${expected} elements, but data holds ${values.length}`,
    );
  }
  return {
    name: input.name,
    datatype: input.datatype,
    shape: input.shape,
    data: decodeJsonElements(values, input.datatype, `${field}.data`),
  };
}
