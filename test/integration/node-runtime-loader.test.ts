import assert from 'node:assert/strict';
import { copyFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { createRequestContext } from '@infergraph/executor';
import { loadNodeRuntimes, type ModelDevice } from '@infergraph/engine';
import type { ModelLoadOptions, ModelLoader, ModelSession } from '@infergraph/nodes';
import { OnnxModelLoader } from '@infergraph/runtime-onnx';
import { repoPath } from '../support/repo';
import { tempDir } from '../support/temp-dir';

// Integration: real graph files on disk, real onnxruntime-node sessions on the committed models, a real
// TypeScript module (transpiled in the engine's worker thread). The model loader is the real one,
// wrapped to count what reaches it through the ModelLoader port.

const LOGREG = repoPath('models', 'iris-logreg', '1', 'model.onnx');
const LOGREG_SHA = '7bb14e947201b2c9e98a5ca1634596cac2baaa343582de9e25a0a99e2bb3a7c2';
const MLP = repoPath('models', 'iris-mlp', '1', 'model.onnx');
const MLP_SHA = 'f2a52fc98fee4f4f003b53ba09ad3d0012cfd8fb3d30c0db70bd7e8d73566897';

const dir = tempDir('infergraph-node-loader-');
copyFileSync(repoPath('graphs', 'modules', 'confidence.ts'), path.join(dir, 'confidence.ts'));
const FILE = path.join(dir, 'picky.yaml');
writeFileSync(
  FILE,
  `apiVersion: infergraph.dev/v1alpha1
kind: InferenceGraph
metadata: {name: picky}
spec:
  inputs: [{name: features, datatype: FP32, shape: [-1, 4]}]
  nodes:
    - name: scale
      type: transformer
      inputs: [graph.inputs]
      transformer: {steps: [{op: clip, tensor: features, min: 0}]}
    - name: logreg
      type: model
      inputs: [scale.outputs.features]
      tensorMap: {features: input}
      model: {uri: ${LOGREG}}
    - name: mlp
      type: model
      inputs: [graph.inputs]
      tensorMap: {features: input}
      resources: {pool: gpu, gpuMemory: 1Gi}
      model: {uri: ${MLP}}
    - name: gone
      type: model
      inputs: [graph.inputs]
      tensorMap: {features: input}
      model: {uri: ./not-here.onnx}
    - name: confidence
      type: transformer
      inputs: [mlp.outputs.probabilities]
      transformer:
        module: ./confidence.ts
        export: confidence
        outputs:
          - {name: confidence, datatype: FP32, shape: [-1]}
          - {name: uncertain, datatype: BOOL, shape: [-1]}
  outputs: [logreg.outputs.label, {name: mlp_label, source: mlp.outputs.label}, {name: gone_label, source: gone.outputs.label}, confidence.outputs.confidence]
`,
);

/** The real loader behind the port, recording each load's model (by sha256) and each session given back. */
class CountingLoader implements ModelLoader {
  readonly loads: string[] = [];
  released = 0;

  constructor(private readonly inner: ModelLoader & { release(session: ModelSession): Promise<void> }) {}

  load(key: string, bytes: Uint8Array, options: ModelLoadOptions): Promise<ModelSession> {
    this.loads.push(key);
    return this.inner.load(key, bytes, options);
  }

  release(session: ModelSession): Promise<void> {
    this.released++;
    return this.inner.release(session);
  }
}

const onnx = new OnnxModelLoader();
const FEATURES = { name: 'features', datatype: 'FP32' as const, shape: [2, 4], data: new Float32Array([5.1, 3.5, 1.4, 0.2, 6.7, 3.0, 5.2, 2.3]) };

describe('loading single nodes of a graph (loadNodeRuntimes)', () => {
  after(() => onnx.close());

  it('loads only the selected model node and never opens the other nodes’ models', async () => {
    const loader = new CountingLoader(onnx.preferring(false));
    const graph = await loadNodeRuntimes(FILE, new Set(['logreg']), loader);
    const node = await graph.nodes.get('logreg');
    assert.ok(node !== undefined);
    assert.deepEqual(loader.loads, [LOGREG_SHA], 'only the selected model reached the ModelLoader port');
    assert.equal(node.provider, 'cpu');
    assert.equal(node.model?.sha256, LOGREG_SHA);
    assert.deepEqual(node.signature, {
      inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, 4] }],
      outputs: [
        { name: 'label', datatype: 'INT64', shape: [-1] },
        { name: 'probabilities', datatype: 'FP32', shape: [-1, 3] },
      ],
    });
    const out = await node.runtime.infer(new Map([['input', { ...FEATURES, name: 'input' }]]), createRequestContext({ graph: 'picky', timeoutMs: 5000, signal: new AbortController().signal }));
    assert.deepEqual([...(out.get('label')?.data as BigInt64Array)], [0n, 2n]);
    await node.close();
    assert.equal(loader.released, 1, 'closing the node gives its session back');
  });

  it('fails a node whose model is missing on its own, while the other selected node loads', async () => {
    const loader = new CountingLoader(onnx.preferring(false));
    const graph = await loadNodeRuntimes(FILE, new Set(['logreg', 'gone']), loader);
    await assert.rejects(graph.nodes.get('gone') as Promise<unknown>, /graph "picky" node "gone": model file not found: .*not-here\.onnx/);
    assert.equal((await graph.nodes.get('logreg'))?.node, 'logreg');
    await assert.rejects(graph.load('nope'), /graph "picky" \(.*picky\.yaml\) has no node "nope" \(nodes: scale, logreg, mlp, gone, confidence\)/);
  });

  it('serves a TypeScript transformer behind a model that is not loaded here, typed from what it declares', async () => {
    const loader = new CountingLoader(onnx.preferring(false));
    const graph = await loadNodeRuntimes(FILE, new Set(['confidence']), loader);
    const node = await graph.nodes.get('confidence');
    assert.ok(node !== undefined);
    assert.deepEqual(loader.loads, [], 'no model was opened');
    assert.deepEqual(node.signature, {
      inputs: [],
      outputs: [
        { name: 'confidence', datatype: 'FP32', shape: [-1] },
        { name: 'uncertain', datatype: 'BOOL', shape: [-1] },
      ],
    });
    const probabilities = { name: 'probabilities', datatype: 'FP32' as const, shape: [1, 3], data: new Float32Array([0.1, 0.7, 0.2]) };
    const out = await node.runtime.infer(new Map([['probabilities', probabilities]]), createRequestContext({ graph: 'picky', timeoutMs: 5000, signal: new AbortController().signal }));
    assert.deepEqual(Array.from(out.get('confidence')?.data as ArrayLike<number>).map((v) => Number(v.toFixed(3))), [0.7]);
    assert.equal(graph.contentHash.length, 64);
  });

  it('asks for the GPU only for a model node with resources.gpuMemory, the CPU for the rest', async () => {
    const asked: { device: ModelDevice; model: string }[] = [];
    const graph = await loadNodeRuntimes(FILE, new Set(['logreg', 'mlp', 'scale', 'confidence']), onnx, {
      modelLoaderFor: (device) => ({
        load: (key, bytes, options) => {
          asked.push({ device, model: key });
          return onnx.preferring(device === 'gpu').load(key, bytes, options);
        },
      }),
    });
    const [, mlp] = await Promise.all(['logreg', 'mlp', 'scale', 'confidence'].map((n) => graph.nodes.get(n) ?? Promise.reject(new Error(`no load of ${n}`))));
    assert.deepEqual(
      asked.sort((a, b) => a.model.localeCompare(b.model)),
      [
        { device: 'cpu', model: LOGREG_SHA },
        { device: 'gpu', model: MLP_SHA },
      ],
    );
    // On a machine without CUDA the session falls back to the CPU and says why; with CUDA it uses it.
    assert.ok(mlp?.provider === 'cuda' || /CUDA execution provider unavailable/.test(mlp?.providerNote ?? ''), `mlp: ${mlp?.provider} ${mlp?.providerNote}`);
  });
});
