import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { loadGraphFile } from '@infergraph/engine';
import type { ModelLoadOptions, ModelLoader, ModelSession, ModelSignature } from '@infergraph/nodes';
import { OnnxModelLoader } from '@infergraph/runtime-onnx';
import { GrpcNodeBus } from '@infergraph/transport-grpc';
import { repoPath } from '../support/repo';

// Integration: what a gateway opens for a graph whose worker nodes run elsewhere. Real graph files, the real
// onnxruntime loader (wrapped to count sessions), a real user module on disk, and a real gRPC node bus (to a
// closed port: nothing is called, the bus only decides that the nodes leave this process).

class CountingLoader implements ModelLoader {
  readonly loads: string[] = [];
  /** Signatures read from whole model bytes, and from model files' structure. */
  fromBytes = 0;
  readonly fromFiles: string[] = [];
  constructor(private readonly inner: OnnxModelLoader) {}
  load(key: string, bytes: Uint8Array, options: ModelLoadOptions): Promise<ModelSession> {
    this.loads.push(key);
    return this.inner.load(key, bytes, options);
  }
  signature(bytes: Uint8Array): ModelSignature {
    this.fromBytes++;
    return this.inner.signature(bytes);
  }
  signatureOfFile(file: string): Promise<ModelSignature> {
    this.fromFiles.push(path.basename(path.dirname(path.dirname(file))));
    return this.inner.signatureOfFile(file);
  }
}

const dir = mkdtempSync(path.join(tmpdir(), 'infergraph-remote-typing-'));
const COUNTER = '__infergraphRemoteTypingImports';
writeFileSync(path.join(dir, 'counted.js'), `globalThis.${COUNTER} = (globalThis.${COUNTER} ?? 0) + 1;\nexports.scale = (inputs) => inputs;\n`);
const LOGREG = repoPath('models', 'iris-logreg', '1', 'model.onnx');
const graphWith = (name: string, sha256: string | undefined): string => {
  const file = path.join(dir, `${name}.yaml`);
  writeFileSync(
    file,
    `apiVersion: infergraph.dev/v1alpha1
kind: InferenceGraph
metadata: {name: ${name}}
spec:
  inputs: [{name: features, datatype: FP32, shape: [-1, 4]}]
  nodes:
    - name: scale
      type: transformer
      inputs: [graph.inputs]
      transformer:
        module: ./counted.js
        export: scale
        outputs: [{name: features, datatype: FP32, shape: [-1, 4]}]
    - name: logreg
      type: model
      inputs: [scale.outputs.features]
      tensorMap: {features: input}
      model: {uri: ${LOGREG}${sha256 === undefined ? '' : `, sha256: ${sha256}`}}
  outputs: [logreg.outputs.label]
`,
  );
  return file;
};
const imports = (): number => ((globalThis as Record<string, unknown>)[COUNTER] as number | undefined) ?? 0;

describe('a gateway types the worker nodes it sends away and opens none of them', () => {
  const onnx = new OnnxModelLoader();
  const bus = GrpcNodeBus.toWorkers(['127.0.0.1:1']);
  after(async () => {
    await Promise.all([bus.close(), onnx.close()]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('opens no model session, fits no outlier detector and types every node of an example graph', async () => {
    const loader = new CountingLoader(onnx);
    const graph = await loadGraphFile(repoPath('graphs', 'iris-monitored.yaml'), loader, { bus });
    assert.deepEqual(loader.loads, []);
    assert.deepEqual(
      graph.models.map((m) => [m.node, m.provider]),
      [['classifier', 'remote']],
    );
    // Typed from the file's structure: the weights were never read into this process.
    assert.deepEqual([loader.fromBytes, loader.fromFiles], [0, ['iris-logreg']]);
    await graph.close();
  });

  it('hashes a remote model only to check a pinned sha256', async () => {
    const unpinned = await loadGraphFile(graphWith('unpinned', undefined), new CountingLoader(onnx), { bus });
    assert.deepEqual(unpinned.models.map((m) => m.sha256), [undefined]);
    const logregSha = createHash('sha256').update(readFileSync(LOGREG)).digest('hex');
    const pinned = await loadGraphFile(graphWith('pinned-right', logregSha), new CountingLoader(onnx), { bus });
    assert.deepEqual(pinned.models.map((m) => m.sha256), [logregSha]);
    await Promise.all([unpinned.close(), pinned.close()]);
  });

  it('loads no custom module of a worker node, where a graph run here loads it', async () => {
    const file = graphWith('counted', undefined);
    const before = imports();
    const remote = await loadGraphFile(file, new CountingLoader(onnx), { bus });
    assert.equal(imports(), before, 'the module was not imported for a node that runs on a worker');
    const local = await loadGraphFile(file, new CountingLoader(onnx));
    assert.equal(imports(), before + 1, 'run here, the module is imported');
    await Promise.all([remote.close(), local.close()]);
  });

  it('still refuses a model whose pinned sha256 does not match, and a tensor the model does not take', async () => {
    await assert.rejects(loadGraphFile(graphWith('pinned', 'ab'.repeat(32)), new CountingLoader(onnx), { bus }), /sha256 mismatch/);
    const wrong = graphWith('wrong-input', undefined);
    writeFileSync(wrong, readFileSync(wrong, 'utf8').replace('tensorMap: {features: input}', 'tensorMap: {features: pixels}'));
    await assert.rejects(loadGraphFile(wrong, new CountingLoader(onnx), { bus }), /pixels/);
  });
});
