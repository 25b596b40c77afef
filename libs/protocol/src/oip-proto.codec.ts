import { Reader, Writer } from 'protobufjs';
import { invalidArgument } from './inference.error';
import type { InferRequest } from './oip-request.codec';
import {
  decodeModelInferRequest,
  type InferInputTensorMessage,
  type InferParameterMessage,
  type InferTensorContentsMessage,
  type ModelInferRequestMessage,
  type ModelInferResponseMessage,
} from './oip-grpc.codec';
import { setParameter } from './parameter-map';

// Binary protobuf forms of the V2 messages (proto/grpc_predict_v2.proto), written and read field by field
// with protobufjs's Writer and Reader: no reflection, no fromObject/toObject. Decoded bytes fields
// (raw_input_contents, raw_output_contents) are views over the message buffer, never copies. Used on the
// hot paths: gRPC node calls on ModelStreamInfer and Kafka record values.

/** What a ModelStreamInfer stream answers for one request: a response, or an error for that request only. */
export interface ModelStreamInferResponseMessage {
  error_message: string;
  infer_response: ModelInferResponseMessage | undefined;
}

const VARINT = 0;
const FIXED64 = 1;
const LDELIM = 2;

const tag = (field: number, wireType: number): number => (field << 3) | wireType;

// ---------------------------------------------------------------------------------------------------
// Encoding

/**
 * An int64 (or uint64) field value. protobufjs parses decimal strings through the long package; a string
 * that is the decimal form of a safe integer is written from the number instead: the same bytes, faster.
 */
function int64Value(v: string | number): string | number {
  if (typeof v === 'number') return v;
  const n = Number(v);
  return Number.isSafeInteger(n) && String(n) === v ? n : v;
}

function writeParameter(w: Writer, p: InferParameterMessage): void {
  if (p.bool_param !== undefined) w.uint32(tag(1, VARINT)).bool(p.bool_param);
  else if (p.int64_param !== undefined) w.uint32(tag(2, VARINT)).int64(int64Value(p.int64_param));
  else if (p.string_param !== undefined) w.uint32(tag(3, LDELIM)).string(p.string_param);
  else if (p.double_param !== undefined) w.uint32(tag(4, FIXED64)).double(p.double_param);
  else if (p.uint64_param !== undefined) w.uint32(tag(5, VARINT)).uint64(int64Value(p.uint64_param));
}

function writeParameters(w: Writer, field: number, map: Readonly<Record<string, InferParameterMessage>> | undefined): void {
  if (map === undefined) return;
  for (const key in map) {
    const p = map[key] as InferParameterMessage;
    w.uint32(tag(field, LDELIM)).fork().uint32(tag(1, LDELIM)).string(key).uint32(tag(2, LDELIM)).fork();
    writeParameter(w, p);
    w.ldelim().ldelim();
  }
}

function writeShape(w: Writer, field: number, shape: readonly (string | number)[]): void {
  if (shape.length === 0) return;
  w.uint32(tag(field, LDELIM)).fork();
  for (const d of shape) w.int64(d);
  w.ldelim();
}

function writeContents(w: Writer, field: number, c: InferTensorContentsMessage): void {
  w.uint32(tag(field, LDELIM)).fork();
  const packed = <T>(n: number, values: readonly T[] | undefined, write: (v: T) => void): void => {
    if (values === undefined || values.length === 0) return;
    w.uint32(tag(n, LDELIM)).fork();
    for (const v of values) write(v);
    w.ldelim();
  };
  packed(1, c.bool_contents, (v) => w.bool(v));
  packed(2, c.int_contents, (v) => w.int32(v));
  packed(3, c.int64_contents, (v) => w.int64(int64Value(v)));
  packed(4, c.uint_contents, (v) => w.uint32(v));
  packed(5, c.uint64_contents, (v) => w.uint64(int64Value(v)));
  packed(6, c.fp32_contents, (v) => w.float(v));
  packed(7, c.fp64_contents, (v) => w.double(v));
  for (const b of c.bytes_contents ?? []) w.uint32(tag(8, LDELIM)).bytes(b);
  w.ldelim();
}

function writeString(w: Writer, field: number, value: string | undefined): void {
  if (value !== undefined && value !== '') w.uint32(tag(field, LDELIM)).string(value);
}

function writeRequest(w: Writer, m: ModelInferRequestMessage): void {
  writeString(w, 1, m.model_name);
  writeString(w, 2, m.model_version);
  writeString(w, 3, m.id);
  writeParameters(w, 4, m.parameters);
  for (const input of m.inputs ?? []) {
    w.uint32(tag(5, LDELIM)).fork();
    writeString(w, 1, input.name);
    writeString(w, 2, input.datatype);
    writeShape(w, 3, input.shape);
    writeParameters(w, 4, input.parameters);
    if (input.contents !== undefined && input.contents !== null) writeContents(w, 5, input.contents);
    w.ldelim();
  }
  for (const output of m.outputs ?? []) {
    w.uint32(tag(6, LDELIM)).fork();
    writeString(w, 1, output.name);
    writeParameters(w, 2, output.parameters);
    w.ldelim();
  }
  for (const raw of m.raw_input_contents ?? []) w.uint32(tag(7, LDELIM)).bytes(raw);
}

function writeResponse(w: Writer, m: ModelInferResponseMessage): void {
  writeString(w, 1, m.model_name);
  writeString(w, 2, m.model_version);
  writeString(w, 3, m.id);
  writeParameters(w, 4, m.parameters);
  for (const output of m.outputs) {
    w.uint32(tag(5, LDELIM)).fork();
    writeString(w, 1, output.name);
    writeString(w, 2, output.datatype);
    writeShape(w, 3, output.shape);
    w.ldelim();
  }
  for (const raw of m.raw_output_contents) w.uint32(tag(6, LDELIM)).bytes(raw);
}

/** A ModelInferRequest as protobuf bytes (raw contents are copied once, into the message). */
export function encodeInferRequestProto(message: ModelInferRequestMessage): Buffer {
  const w = Writer.create();
  writeRequest(w, message);
  return w.finish() as Buffer;
}

export function encodeInferResponseProto(message: ModelInferResponseMessage): Buffer {
  const w = Writer.create();
  writeResponse(w, message);
  return w.finish() as Buffer;
}

export function encodeStreamInferResponseProto(message: ModelStreamInferResponseMessage): Buffer {
  const w = Writer.create();
  writeString(w, 1, message.error_message);
  if (message.infer_response !== undefined) {
    w.uint32(tag(2, LDELIM)).fork();
    writeResponse(w, message.infer_response);
    w.ldelim();
  }
  return w.finish() as Buffer;
}

// ---------------------------------------------------------------------------------------------------
// Decoding

/** An int64 as the reader returns it (a Long, or a number without the long package) in decimal. */
function decimal(value: unknown): string {
  return typeof value === 'number' ? String(value) : (value as { toString(radix: number): string }).toString(10);
}

/**
 * A varint int64/uint64 as a number when it has at most 7 bytes (below 2^49, so exact); otherwise (large
 * or negative values) undefined, with the reader where it was. Spares the long package on common values.
 */
function smallVarint(r: Reader): number | undefined {
  const buf = r.buf;
  let pos = r.pos;
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 7 && pos < r.len; i++) {
    const b = buf[pos++] as number;
    value += (b & 0x7f) * scale;
    if (b < 0x80) {
      r.pos = pos;
      return value;
    }
    scale *= 128;
  }
  return undefined;
}

function int64Decimal(r: Reader): string {
  const n = smallVarint(r);
  return n === undefined ? decimal(r.int64()) : String(n);
}

function uint64Decimal(r: Reader): string {
  const n = smallVarint(r);
  return n === undefined ? decimal(r.uint64()) : String(n);
}

/** A length-delimited field as a view over the reader's buffer; the reader moves past it. */
function view(r: Reader): Uint8Array {
  const length = r.uint32();
  const start = r.pos;
  r.skip(length);
  return r.buf.subarray(start, start + length);
}

function readParameter(r: Reader, end: number): InferParameterMessage {
  let p: InferParameterMessage = {};
  while (r.pos < end) {
    const t = r.uint32();
    switch (t >>> 3) {
      case 1:
        p = { bool_param: r.bool(), parameter_choice: 'bool_param' };
        break;
      case 2:
        p = { int64_param: int64Decimal(r), parameter_choice: 'int64_param' };
        break;
      case 3:
        p = { string_param: r.string(), parameter_choice: 'string_param' };
        break;
      case 4:
        p = { double_param: r.double(), parameter_choice: 'double_param' };
        break;
      case 5:
        p = { uint64_param: uint64Decimal(r), parameter_choice: 'uint64_param' };
        break;
      default:
        r.skipType(t & 7);
    }
  }
  return p;
}

function readMapEntry(r: Reader, into: Record<string, InferParameterMessage>): void {
  const end = r.uint32() + r.pos;
  let key = '';
  let value: InferParameterMessage = {};
  while (r.pos < end) {
    const t = r.uint32();
    if (t >>> 3 === 1) key = r.string();
    else if (t >>> 3 === 2) value = readParameter(r, r.uint32() + r.pos);
    else r.skipType(t & 7);
  }
  setParameter(into, key, value);
}

/** A repeated scalar field, packed (proto3's default) or one value per tag. */
function readRepeated<T>(r: Reader, wireType: number, into: T[], read: () => T): void {
  if (wireType !== LDELIM) {
    into.push(read());
    return;
  }
  const end = r.uint32() + r.pos;
  while (r.pos < end) into.push(read());
}

function readShape(r: Reader, wireType: number, into: number[]): void {
  readRepeated(r, wireType, into, () => smallVarint(r) ?? Number(decimal(r.int64())));
}

function readContents(r: Reader): InferTensorContentsMessage {
  const end = r.uint32() + r.pos;
  const c: Required<InferTensorContentsMessage> = {
    bool_contents: [],
    int_contents: [],
    int64_contents: [],
    uint_contents: [],
    uint64_contents: [],
    fp32_contents: [],
    fp64_contents: [],
    bytes_contents: [],
  };
  while (r.pos < end) {
    const t = r.uint32();
    const wt = t & 7;
    switch (t >>> 3) {
      case 1:
        readRepeated(r, wt, c.bool_contents, () => r.bool());
        break;
      case 2:
        readRepeated(r, wt, c.int_contents, () => r.int32());
        break;
      case 3:
        readRepeated(r, wt, c.int64_contents, () => int64Decimal(r));
        break;
      case 4:
        readRepeated(r, wt, c.uint_contents, () => r.uint32());
        break;
      case 5:
        readRepeated(r, wt, c.uint64_contents, () => uint64Decimal(r));
        break;
      case 6:
        readRepeated(r, wt, c.fp32_contents, () => r.float());
        break;
      case 7:
        readRepeated(r, wt, c.fp64_contents, () => r.double());
        break;
      case 8:
        c.bytes_contents.push(view(r));
        break;
      default:
        r.skipType(wt);
    }
  }
  return c;
}

function readInput(r: Reader): InferInputTensorMessage {
  const end = r.uint32() + r.pos;
  const input: InferInputTensorMessage = { name: '', datatype: '', shape: [] };
  while (r.pos < end) {
    const t = r.uint32();
    switch (t >>> 3) {
      case 1:
        input.name = r.string();
        break;
      case 2:
        input.datatype = r.string();
        break;
      case 3:
        readShape(r, t & 7, input.shape as number[]);
        break;
      case 4:
        readMapEntry(r, (input.parameters ??= {}));
        break;
      case 5:
        input.contents = readContents(r);
        break;
      default:
        r.skipType(t & 7);
    }
  }
  return input;
}

function readRequest(r: Reader, end: number): ModelInferRequestMessage {
  const m: Required<Omit<ModelInferRequestMessage, 'outputs'>> & Pick<ModelInferRequestMessage, 'outputs'> = {
    model_name: '',
    model_version: '',
    id: '',
    parameters: {},
    inputs: [],
    raw_input_contents: [],
  };
  while (r.pos < end) {
    const t = r.uint32();
    switch (t >>> 3) {
      case 1:
        m.model_name = r.string();
        break;
      case 2:
        m.model_version = r.string();
        break;
      case 3:
        m.id = r.string();
        break;
      case 4:
        readMapEntry(r, m.parameters);
        break;
      case 5:
        m.inputs.push(readInput(r));
        break;
      case 6: {
        const outputEnd = r.uint32() + r.pos;
        const output: { name: string; parameters?: Record<string, InferParameterMessage> } = { name: '' };
        while (r.pos < outputEnd) {
          const u = r.uint32();
          if (u >>> 3 === 1) output.name = r.string();
          else if (u >>> 3 === 2) readMapEntry(r, (output.parameters ??= {}));
          else r.skipType(u & 7);
        }
        (m.outputs ??= []).push(output);
        break;
      }
      case 7:
        m.raw_input_contents.push(view(r));
        break;
      default:
        r.skipType(t & 7);
    }
  }
  return m;
}

function readResponse(r: Reader, end: number): ModelInferResponseMessage {
  const m: ModelInferResponseMessage = { model_name: '', model_version: '', id: '', parameters: {}, outputs: [], raw_output_contents: [] };
  while (r.pos < end) {
    const t = r.uint32();
    switch (t >>> 3) {
      case 1:
        m.model_name = r.string();
        break;
      case 2:
        m.model_version = r.string();
        break;
      case 3:
        m.id = r.string();
        break;
      case 4:
        readMapEntry(r, m.parameters);
        break;
      case 5: {
        const outputEnd = r.uint32() + r.pos;
        const output: { name: string; datatype: string; shape: number[] } = { name: '', datatype: '', shape: [] };
        while (r.pos < outputEnd) {
          const u = r.uint32();
          if (u >>> 3 === 1) output.name = r.string();
          else if (u >>> 3 === 2) output.datatype = r.string();
          else if (u >>> 3 === 3) readShape(r, u & 7, output.shape);
          else r.skipType(u & 7);
        }
        m.outputs.push(output);
        break;
      }
      case 6:
        m.raw_output_contents.push(view(r));
        break;
      default:
        r.skipType(t & 7);
    }
  }
  return m;
}

function malformed(what: string, err: unknown): never {
  throw invalidArgument(`malformed protobuf ${what}: ${err instanceof Error ? err.message : String(err)}`);
}

/** Protobuf bytes as a ModelInferRequest message whose raw contents are views over `bytes`. */
export function decodeInferRequestMessage(bytes: Uint8Array): ModelInferRequestMessage {
  try {
    const r = Reader.create(bytes);
    return readRequest(r, r.len);
  } catch (err) {
    return malformed('ModelInferRequest', err);
  }
}

/** A protobuf ModelInferRequest as an inference request (model_name is ignored); numeric tensors view `bytes` where aligned. */
export function decodeInferRequestProto(bytes: Uint8Array): InferRequest {
  return decodeModelInferRequest(decodeInferRequestMessage(bytes), true);
}

/** Protobuf bytes as a ModelInferResponse message whose raw contents are views over `bytes`. */
export function decodeInferResponseProto(bytes: Uint8Array): ModelInferResponseMessage {
  try {
    const r = Reader.create(bytes);
    return readResponse(r, r.len);
  } catch (err) {
    return malformed('ModelInferResponse', err);
  }
}

export function decodeStreamInferResponseProto(bytes: Uint8Array): ModelStreamInferResponseMessage {
  try {
    const r = Reader.create(bytes);
    const out: ModelStreamInferResponseMessage = { error_message: '', infer_response: undefined };
    while (r.pos < r.len) {
      const t = r.uint32();
      if (t >>> 3 === 1) out.error_message = r.string();
      else if (t >>> 3 === 2) out.infer_response = readResponse(r, r.uint32() + r.pos);
      else r.skipType(t & 7);
    }
    return out;
  } catch (err) {
    return malformed('ModelStreamInferResponse', err);
  }
}
