import type { RequestedOutput } from './oip-request.codec';
import type { Tensor } from './tensor';
import { encodeBinaryElements, encodeJsonElements } from './tensor-data.codec';

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
  const binaryNames = new Set<string>();
  if (requested === undefined) {
    if (binaryOutput) for (const t of response.outputs) binaryNames.add(t.name);
  } else {
    for (const r of requested) if (r.binary) binaryNames.add(r.name);
  }
  const chunks: Uint8Array[] = [];
  const outputs = response.outputs.map((t) => {
    if (binaryNames.has(t.name)) {
      const bytes = encodeBinaryElements(t.data, t.datatype);
      chunks.push(bytes);
      return {
        name: t.name,
        datatype: t.datatype,
        shape: t.shape,
        parameters: { binary_data_size: bytes.byteLength },
      };
    }
    return { name: t.name, datatype: t.datatype, shape: t.shape, data: encodeJsonElements(t.data, t.datatype) };
  });
  const json: Record<string, unknown> = { model_name: response.modelName };
  if (response.modelVersion !== undefined) json['model_version'] = response.modelVersion;
  json['id'] = response.id;
  if (response.parameters !== undefined) json['parameters'] = response.parameters;
  json['outputs'] = outputs;
  const header = Buffer.from(JSON.stringify(json), 'utf8');
  if (chunks.length === 0) return { body: header, contentType: 'application/json', jsonLength: undefined };
  return {
    body: Buffer.concat([header, ...chunks]),
    contentType: 'application/octet-stream',
    jsonLength: header.byteLength,
  };
}
