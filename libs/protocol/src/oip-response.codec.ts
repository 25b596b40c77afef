import type { RequestedOutput } from './oip-request.codec';
import type { Tensor } from './tensor';
import { encodeBinaryElements, writeJsonElements } from './tensor-data.codec';

export interface InferResponse {
  readonly modelName: string;
  readonly modelVersion: string | undefined;
  readonly id: string;
  readonly parameters: Readonly<Record<string, unknown>> | undefined;
  readonly outputs: readonly Tensor[];
}

export interface EncodedResponse {
  readonly body: Buffer;
  readonly contentType: string;
  /** Set when binary tensor data follows the JSON header (Inference-Header-Content-Length). */
  readonly jsonLength: number | undefined;
}

/**
 * Encodes a response as OIP JSON, with the outputs that asked for it appended as binary tensor data.
 * `binaryByName` holds the outputs the request wants in binary form.
 */
export function encodeInferResponse(
  response: InferResponse,
  requested: readonly RequestedOutput[] | undefined,
  binaryOutput: boolean,
): EncodedResponse {
  let binaryNames: Set<string> | undefined;
  if (requested === undefined) {
    if (binaryOutput) binaryNames = new Set(response.outputs.map((t) => t.name));
  } else {
    for (const r of requested) if (r.binary) (binaryNames ??= new Set()).add(r.name);
  }
  // The JSON is written as text in the order JSON.stringify would give the equivalent object.
  const chunks: Uint8Array[] = [];
  let json = `{"model_name":${JSON.stringify(response.modelName)}`;
  if (response.modelVersion !== undefined) json += `,"model_version":${JSON.stringify(response.modelVersion)}`;
  json += `,"id":${JSON.stringify(response.id)}`;
  if (response.parameters !== undefined) json += `,"parameters":${JSON.stringify(response.parameters)}`;
  json += ',"outputs":[';
  for (let i = 0; i < response.outputs.length; i++) {
    const t = response.outputs[i] as Tensor;
    json += `${i === 0 ? '' : ','}{"name":${JSON.stringify(t.name)},"datatype":"${t.datatype}","shape":[${t.shape.join(',')}],`;
    if (binaryNames?.has(t.name) === true) {
      const bytes = encodeBinaryElements(t.data, t.datatype);
      chunks.push(bytes);
      json += `"parameters":{"binary_data_size":${bytes.byteLength}}}`;
    } else {
      json += `"data":${writeJsonElements(t.data, t.datatype)}}`;
    }
  }
  json += ']}';
  const header = Buffer.from(json, 'utf8');
  if (chunks.length === 0) return { body: header, contentType: 'application/json', jsonLength: undefined };
  return {
    body: Buffer.concat([header, ...chunks]),
    contentType: 'application/octet-stream',
    jsonLength: header.byteLength,
  };
}
