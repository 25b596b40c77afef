import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
    });
  }

  it('refuses bytes that are no ONNX model, saying so', () => {
    assert.throws(() => readOnnxSignature(Buffer.from('not a model at all')), /not an ONNX model/);
    assert.throws(() => readOnnxSignature(new Uint8Array()), /no graph/);
    const model = readFileSync(repoPath('models', 'iris-logreg', '1', 'model.onnx'));
    assert.throws(() => readOnnxSignature(model.subarray(0, model.length - 100)), /not an ONNX model/);
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
