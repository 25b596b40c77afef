import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, readdirSync, readlinkSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { OnnxModelLoader, readOnnxSignature, readOnnxSignatureFile } from '@infergraph/runtime-onnx';
import { repoPath } from '../support/repo';

// Integration: the ONNX signature reader against real onnxruntime sessions of every model in the repository
// (the example models and the test fixtures, whatever exporter made them). A gateway types remote model nodes
// with the reader and workers run them with sessions: both must see the same inputs and outputs.

const models = execFileSync('git', ['ls-files', '*.onnx'], { cwd: repoPath(), encoding: 'utf8' }).split('\n').filter((f) => f !== '');

describe('readOnnxSignature', () => {
  const loader = new OnnxModelLoader();
  after(() => loader.close());

  it('finds models to compare', () => assert.ok(models.length >= 6, models.join(', ')));

  for (const file of models) {
    it(`reads the inputs and outputs onnxruntime reports for ${file}`, async () => {
      const bytes = readFileSync(repoPath(file));
      const session = await loader.load(file, bytes, {});
      const signature = readOnnxSignature(bytes);
      assert.deepEqual(signature.inputs, session.inputs);
      assert.deepEqual(signature.outputs, session.outputs);
      // From the file's structure alone (weights skipped by offset): the same signature.
      assert.deepEqual(await readOnnxSignatureFile(repoPath(file)), signature);
      // And as a gateway reads it, in the background signature thread.
      assert.deepEqual(await loader.signatureOfFile(repoPath(file)), signature);
    });
  }

  it('reads signatures for a gateway in a thread of lowest priority', { skip: process.platform !== 'linux' && 'thread nice values are read from /proc on Linux' }, async () => {
    const read = await Promise.all(Array.from({ length: 20 }, () => loader.signatureOfFile(repoPath('models', 'digits-mlp', '1', 'model.onnx'))));
    assert.equal(read.length, 20);
    // This process starts no other background thread (no TypeScript module, no graph parse).
    const self = readlinkSync('/proc/self');
    const nice = (tid: string): number => Number(readFileSync(`/proc/${self}/task/${tid}/stat`, 'utf8').split(') ')[1]?.split(' ')[16]);
    assert.ok(
      readdirSync(`/proc/${self}/task`).some((tid) => nice(tid) === 19),
      'no thread of this process runs at nice 19',
    );
  });

  it('reports a file that is no model from the signature thread as the reader does', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'infergraph-not-onnx-'));
    try {
      writeFileSync(path.join(dir, 'bad.onnx'), 'not a model at all');
      await assert.rejects(loader.signatureOfFile(path.join(dir, 'bad.onnx')), /not an ONNX model/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses bytes that are no ONNX model, saying so', () => {
    assert.throws(() => readOnnxSignature(Buffer.from('not a model at all')), /not an ONNX model/);
    assert.throws(() => readOnnxSignature(new Uint8Array()), /no graph/);
    const model = readFileSync(repoPath('models', 'iris-logreg', '1', 'model.onnx'));
    assert.throws(() => readOnnxSignature(model.subarray(0, model.length - 100)), /not an ONNX model/);
  });

  it('reads the signature of a 3 GiB model file from its structure, never its weights', async () => {
    // ModelProto { graph { initializer w (3 GiB of raw_data), input x FP32 [-1, 4], input w, output y INT64 [-1] } },
    // written sparse: the weights are a hole. Reading the file whole would fail (over 2 GiB); the structure is a few bytes.
    const varint = (n: number): number[] => {
      const out: number[] = [];
      for (; n >= 0x80; n = Math.floor(n / 128)) out.push((n % 128) | 0x80);
      out.push(n);
      return out;
    };
    const field = (number: number, value: number[]): number[] => [...varint(number * 8 + 2), ...varint(value.length), ...value];
    const int = (number: number, value: number): number[] => [...varint(number * 8), ...varint(value)];
    const bytes = (text: string): number[] => [...Buffer.from(text, 'utf8')];
    const dim = (size: number | undefined): number[] => field(1, size === undefined ? field(2, bytes('batch')) : int(1, size));
    const valueInfo = (name: string, elemType: number, dims: (number | undefined)[]): number[] =>
      [...field(1, bytes(name)), ...field(2, field(1, [...int(1, elemType), ...field(2, dims.flatMap(dim))]))];
    const weights = 3 * 1024 ** 3;
    const initializerHead = [...int(1, 4), ...int(2, 1), ...field(8, bytes('w')), ...varint(9 * 8 + 2), ...varint(weights)];
    const tail = [...field(11, valueInfo('x', 1, [undefined, 4])), ...field(11, valueInfo('w', 1, [4])), ...field(12, valueInfo('y', 7, [undefined]))];
    const initializerLength = initializerHead.length + weights;
    const graphLength = [...varint(5 * 8 + 2), ...varint(initializerLength)].length + initializerLength + tail.length;
    const head = [...int(1, 7), ...varint(7 * 8 + 2), ...varint(graphLength), ...varint(5 * 8 + 2), ...varint(initializerLength), ...initializerHead];
    const dir = mkdtempSync(path.join(tmpdir(), 'infergraph-signature-'));
    const file = path.join(dir, 'huge.onnx');
    try {
      const fd = openSync(file, 'w');
      writeSync(fd, Buffer.from(head), 0, head.length, 0);
      writeSync(fd, Buffer.from(tail), 0, tail.length, head.length + weights);
      closeSync(fd);
      assert.throws(() => readFileSync(file), /ERR_FS_FILE_TOO_LARGE|greater than 2 GiB|RangeError/);
      assert.deepEqual(await readOnnxSignatureFile(file), {
        inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 4] }],
        outputs: [{ name: 'y', datatype: 'INT64', shape: [-1] }],
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses files that are no ONNX model, saying so, as it refuses their bytes', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'infergraph-signature-'));
    try {
      const model = readFileSync(repoPath('models', 'iris-logreg', '1', 'model.onnx'));
      const cases: [string, Uint8Array, RegExp][] = [
        ['text', Buffer.from('not a model at all'), /not an ONNX model/],
        ['empty', new Uint8Array(), /no graph/],
        ['truncated', model.subarray(0, model.length - 100), /not an ONNX model/],
      ];
      for (const [name, bytes, error] of cases) {
        writeFileSync(path.join(dir, name), bytes);
        await assert.rejects(readOnnxSignatureFile(path.join(dir, name)), error, name);
      }
      await assert.rejects(readOnnxSignatureFile(path.join(dir, 'missing')), /ENOENT/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
