import type { Datatype } from '@infergraph/protocol';

// onnxruntime tensor type names <-> Open Inference Protocol datatypes.
export const ORT_TYPE_OF: Readonly<Record<Datatype, string>> = {
  BOOL: 'bool',
  UINT8: 'uint8',
  UINT16: 'uint16',
  UINT32: 'uint32',
  UINT64: 'uint64',
  INT8: 'int8',
  INT16: 'int16',
  INT32: 'int32',
  INT64: 'int64',
  FP16: 'float16',
  FP32: 'float32',
  FP64: 'float64',
  BYTES: 'string',
};

const DATATYPE_OF_ORT: ReadonlyMap<string, Datatype> = new Map(
  Object.entries(ORT_TYPE_OF).map(([dt, ort]) => [ort, dt as Datatype]),
);

export function datatypeOfOrt(type: string): Datatype | undefined {
  return DATATYPE_OF_ORT.get(type);
}

/** onnxruntime tensor type names by ONNX TensorProto element type (the ONNX specification's enum). */
export const ORT_TYPE_OF_ONNX_ELEMENT: Readonly<Record<number, string>> = {
  1: 'float32',
  2: 'uint8',
  3: 'int8',
  4: 'uint16',
  5: 'int16',
  6: 'int32',
  7: 'int64',
  8: 'string',
  9: 'bool',
  10: 'float16',
  11: 'float64',
  12: 'uint32',
  13: 'uint64',
  21: 'uint4',
  22: 'int4',
};
