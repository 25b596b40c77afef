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
  const chunks: Uint8Array[] = [];
  const json = responseJson(response, binaryNames, chunks);
  const header = Buffer.from(json, 'utf8');
  if (chunks.length === 0) return { body: header, contentType: 'application/json', jsonLength: undefined };
  return {
    body: Buffer.concat([header, ...chunks]),
    contentType: 'application/octet-stream',
    jsonLength: header.byteLength,
  };
}

/**
 * The response as JSON text when no output goes back as binary tensor data (the usual case), else
 * undefined (use encodeInferResponse). Text, not bytes: node:http then writes headers and body in one write.
 */
export function encodeInferResponseJson(
  response: InferResponse,
  requested: readonly RequestedOutput[] | undefined,
  binaryOutput: boolean,
): string | undefined {
  if (requested === undefined ? binaryOutput : requested.some((r) => r.binary)) return undefined;
  return responseJson(response, undefined, []);
}

/** The JSON part of a response; the binary data of outputs named in `binaryNames` goes to `chunks`. */
function responseJson(response: InferResponse, binaryNames: ReadonlySet<string> | undefined, chunks: Uint8Array[]): string {
  // Written as text in the order JSON.stringify would give the equivalent object.
  let json = `{"model_name":${quote(response.modelName)}`;
  if (response.modelVersion !== undefined) json += `,"model_version":${quote(response.modelVersion)}`;
  json += `,"id":${quote(response.id)}`;
  if (response.parameters !== undefined) json += `,"parameters":${JSON.stringify(response.parameters)}`;
  json += ',"outputs":[';
  for (let i = 0; i < response.outputs.length; i++) {
    const t = response.outputs[i] as Tensor;
    json += `${i === 0 ? '' : ','}{"name":${quote(t.name)},"datatype":"${t.datatype}","shape":[${dims(t.shape)}],`;
    if (binaryNames?.has(t.name) === true) {
      const bytes = encodeBinaryElements(t.data, t.datatype);
      chunks.push(bytes);
      json += `"parameters":{"binary_data_size":${bytes.byteLength}}}`;
    } else {
      json += `"data":${writeJsonElements(t.data, t.datatype)}}`;
    }
  }
  return `${json}]}`;
}

/**
 * A string as JSON text. Names and ids are nearly always printable ASCII with nothing to escape: those are
 * only quoted (JSON.stringify costs several times more); anything else goes through JSON.stringify.
 */
function quote(text: string): string {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === 0x22 || c === 0x5c) return JSON.stringify(text);
  }
  return `"${text}"`;
}

/** A shape's dimensions, comma-separated (Array.prototype.join costs more for these short arrays). */
function dims(shape: readonly number[]): string {
  let text = '';
  for (let i = 0; i < shape.length; i++) text += i === 0 ? `${shape[i] as number}` : `,${shape[i] as number}`;
  return text;
}
