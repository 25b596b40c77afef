import { open, type FileHandle } from 'node:fs/promises';
import type { TensorSpec } from '@infergraph/protocol';
import { ORT_TYPE_OF_ONNX_ELEMENT, datatypeOfOrt } from './onnx-datatype.map';

/** A model's graph inputs (initializers excluded, as onnxruntime counts them) and outputs. */
export interface OnnxSignature {
  readonly inputs: readonly TensorSpec[];
  readonly outputs: readonly TensorSpec[];
}

/**
 * Reads a model's input and output signature from its ONNX bytes without creating a session: for processes
 * that type a graph whose model nodes run elsewhere (a gateway in front of workers). Only the fields it needs
 * are decoded (ModelProto.graph → GraphProto input/output/initializer names → ValueInfoProto type), straight
 * from the protobuf wire format; symbolic or unknown dimensions are -1, as the session adapter reports them.
 */
export function readOnnxSignature(bytes: Uint8Array): OnnxSignature {
  const graph = lastField(bytes, 7);
  if (graph === undefined) throw new Error('not an ONNX model: no graph (ModelProto field 7)');
  const initializers = new Set<string>();
  const inputs: Uint8Array[] = [];
  const outputs: Uint8Array[] = [];
  for (const f of fields(graph)) {
    if (f.wire !== 2) continue;
    if (f.number === 5) initializers.add(text(lastField(f.bytes, 8)));
    else if (f.number === 11) inputs.push(f.bytes);
    else if (f.number === 12) outputs.push(f.bytes);
  }
  return signatureOf(initializers, inputs, outputs);
}

/** The signature of a graph's inputs and outputs (ValueInfoProto bytes), inputs that are initializers left out. */
function signatureOf(initializers: ReadonlySet<string>, inputs: readonly Uint8Array[], outputs: readonly Uint8Array[]): OnnxSignature {
  return {
    inputs: inputs.map((v) => valueSpec(v, 'input')).filter((s) => !initializers.has(s.name)),
    outputs: outputs.map((v) => valueSpec(v, 'output')),
  };
}

function valueSpec(valueInfo: Uint8Array, role: 'input' | 'output'): TensorSpec {
  const name = text(lastField(valueInfo, 1));
  const type = lastField(valueInfo, 2);
  const tensor = type === undefined ? undefined : lastField(type, 1);
  if (tensor === undefined) {
    throw new Error(`model ${role} "${name}" is not a tensor (a sequence or map, such as skl2onnx's ZipMap); re-export the model with tensor outputs (skl2onnx: options={'zipmap': False})`);
  }
  let elemType = 0;
  let shape: number[] = [];
  for (const f of fields(tensor)) {
    if (f.number === 1 && f.wire === 0) elemType = f.value;
    else if (f.number === 2 && f.wire === 2) shape = dims(f.bytes);
  }
  const ortName = ORT_TYPE_OF_ONNX_ELEMENT[elemType];
  const datatype = ortName === undefined ? undefined : datatypeOfOrt(ortName);
  if (datatype === undefined) throw new Error(`model ${role} "${name}" has element type ${elemType}, which the Open Inference Protocol cannot carry`);
  return { name, datatype, shape };
}

/** TensorShapeProto.dim: dim_value (1) when known, else -1 (dim_param or nothing). */
function dims(shape: Uint8Array): number[] {
  const out: number[] = [];
  for (const f of fields(shape)) {
    if (f.number !== 1 || f.wire !== 2) continue;
    let value = -1;
    for (const d of fields(f.bytes)) if (d.number === 1 && d.wire === 0 && d.value >= 0) value = d.value;
    out.push(value);
  }
  return out;
}

type Field = { readonly number: number; readonly wire: 0; readonly value: number } | { readonly number: number; readonly wire: 2; readonly bytes: Uint8Array } | { readonly number: number; readonly wire: 1 | 5 };

/** The top-level fields of one protobuf message; groups (wire types 3/4) are not used by ONNX. */
function* fields(buf: Uint8Array): Generator<Field> {
  let at = 0;
  const varint = (): number => {
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (at >= buf.length) throw new Error('not an ONNX model: truncated protobuf');
      const b = buf[at++] as number;
      result += (b & 0x7f) * scale;
      if (b < 0x80) return result;
      scale *= 128;
    }
    throw new Error('not an ONNX model: malformed varint');
  };
  while (at < buf.length) {
    const key = varint();
    const number = Math.floor(key / 8);
    const wire = key % 8;
    switch (wire) {
      case 0:
        yield { number, wire, value: varint() };
        break;
      case 1:
        at += 8;
        yield { number, wire };
        break;
      case 2: {
        const length = varint();
        if (at + length > buf.length) throw new Error('not an ONNX model: a field runs past the end');
        yield { number, wire, bytes: buf.subarray(at, at + length) };
        at += length;
        break;
      }
      case 5:
        at += 4;
        yield { number, wire };
        break;
      default:
        throw new Error(`not an ONNX model: protobuf wire type ${wire}`);
    }
  }
}

function lastField(buf: Uint8Array, number: number): Uint8Array | undefined {
  let found: Uint8Array | undefined;
  for (const f of fields(buf)) if (f.number === number && f.wire === 2) found = f.bytes;
  return found;
}

function text(bytes: Uint8Array | undefined): string {
  return bytes === undefined ? '' : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
}

/**
 * Bytes read from a model file at a time while its signature is looked for: the structure lies in small
 * pieces between weights that are skipped by offset, so a small window reads little that is not needed.
 */
const FILE_WINDOW = 4 * 1024;

/**
 * A model file read where asked, a window at a time: the signature needs a few KiB of a model whose weights
 * may be hundreds of MiB, so weights are skipped by offset instead of read.
 */
class FileWindow {
  private start = 0;
  private window: Uint8Array = new Uint8Array(0);

  constructor(
    private readonly file: FileHandle,
    readonly size: number,
  ) {}

  /** `length` bytes at `offset` (fewer at the end of the file). */
  async bytes(offset: number, length: number): Promise<Uint8Array> {
    const end = Math.min(offset + length, this.size);
    if (offset < this.start || end > this.start + this.window.length) {
      const buffer = Buffer.allocUnsafe(Math.max(FILE_WINDOW, end - offset));
      const { bytesRead } = await this.file.read(buffer, 0, buffer.length, offset);
      this.start = offset;
      this.window = buffer.subarray(0, bytesRead);
    }
    return this.window.subarray(offset - this.start, end - this.start);
  }
}

/** One field of a message in a file: its number and wire type, and where its value lies. */
interface FileField {
  readonly number: number;
  readonly wire: number;
  /** Offset of the value (length-delimited: of its first byte after the length). */
  readonly at: number;
  /** Length-delimited values only. */
  readonly length: number;
}

/** The fields of the message at [from, to) of the file, reading only keys and lengths. */
async function* fileFields(file: FileWindow, from: number, to: number): AsyncGenerator<FileField> {
  let at = from;
  const varint = async (): Promise<number> => {
    const head = await file.bytes(at, 10);
    let result = 0;
    let scale = 1;
    for (let i = 0; i < head.length; i++) {
      const b = head[i] as number;
      result += (b & 0x7f) * scale;
      if (b < 0x80) {
        at += i + 1;
        return result;
      }
      scale *= 128;
    }
    throw new Error('not an ONNX model: malformed or truncated varint');
  };
  while (at < to) {
    const key = await varint();
    const number = Math.floor(key / 8);
    const wire = key % 8;
    switch (wire) {
      case 0:
        yield { number, wire, at, length: 0 };
        await varint();
        break;
      case 1:
      case 5:
        yield { number, wire, at, length: 0 };
        at += wire === 1 ? 8 : 4;
        break;
      case 2: {
        const length = await varint();
        if (at + length > to) throw new Error('not an ONNX model: a field runs past the end');
        const field = { number, wire, at, length };
        at += length;
        yield field;
        break;
      }
      default:
        throw new Error(`not an ONNX model: protobuf wire type ${wire}`);
    }
  }
}

/**
 * `readOnnxSignature` of a model file, reading only the graph's structure: initializer names, inputs and
 * outputs, never the weights. For a process that types a graph whose models run elsewhere, this keeps
 * megabytes of weights out of its memory (and its garbage collector) and off its event loop.
 */
export async function readOnnxSignatureFile(path: string): Promise<OnnxSignature> {
  const handle = await open(path, 'r');
  try {
    const file = new FileWindow(handle, (await handle.stat()).size);
    let graph: FileField | undefined;
    for await (const f of fileFields(file, 0, file.size)) if (f.number === 7 && f.wire === 2) graph = f;
    if (graph === undefined) throw new Error('not an ONNX model: no graph (ModelProto field 7)');
    const initializers = new Set<string>();
    const inputs: Uint8Array[] = [];
    const outputs: Uint8Array[] = [];
    for await (const f of fileFields(file, graph.at, graph.at + graph.length)) {
      if (f.wire !== 2) continue;
      if (f.number === 5) {
        let name: Uint8Array | undefined;
        for await (const t of fileFields(file, f.at, f.at + f.length)) {
          if (t.number === 8 && t.wire === 2) name = (await file.bytes(t.at, t.length)).slice();
        }
        initializers.add(text(name));
      } else if (f.number === 11 || f.number === 12) {
        (f.number === 11 ? inputs : outputs).push((await file.bytes(f.at, f.length)).slice());
      }
    }
    return signatureOf(initializers, inputs, outputs);
  } finally {
    await handle.close();
  }
}
