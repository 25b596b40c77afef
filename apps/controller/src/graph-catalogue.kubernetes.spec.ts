import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadControllerConfig } from './controller.config';
import { GraphCatalogueService, type CatalogueGraph } from './graph-catalogue.service';

// Unit test of the catalogue in Kubernetes mode against the real filesystem (a temp STATE_DIR, the
// repository's models); the graph documents are what the operator makes of InferenceGraph objects.

const repo = path.resolve(__dirname, '..', '..', '..', '..');

const irisDocument = (modelUri: string, mean = 5.88): string =>
  JSON.stringify({
    apiVersion: 'infergraph.dev/v1alpha1',
    kind: 'InferenceGraph',
    metadata: { name: 'iris' },
    spec: {
      inputs: [{ name: 'features', datatype: 'FP32', shape: [-1, 4] }],
      nodes: [
        { name: 'standardize', type: 'transformer', inputs: ['graph.inputs.features'], transformer: { steps: [{ op: 'standardize', tensor: 'features', mean: [mean, 3.07, 3.76, 1.19], std: [0.85, 0.44, 1.78, 0.77] }] } },
        { name: 'classifier', type: 'model', inputs: ['standardize.outputs.features'], tensorMap: { features: 'input' }, model: { uri: modelUri } },
      ],
      outputs: ['classifier.outputs.label'],
    },
  });

describe('GraphCatalogueService in CONTROLLER_MODE=kubernetes', () => {
  let stateDir: string;
  let catalogue: GraphCatalogueService;
  const changes: [string, CatalogueGraph | undefined][] = [];
  before(() => {
    stateDir = mkdtempSync(path.join(tmpdir(), 'infergraph-kube-catalogue-'));
    const config = loadControllerConfig({ CONTROLLER_MODE: 'kubernetes', KUBE_NAMESPACE: 'ml', STATE_DIR: stateDir, MODEL_ROOTS: path.join(repo, 'models') }, repo);
    catalogue = new GraphCatalogueService(config);
    catalogue.onModuleInit();
    catalogue.onChange((name, graph) => changes.push([name, graph]));
  });
  after(() => rmSync(stateDir, { recursive: true, force: true }));

  it('resolves a relative model.uri under the first MODEL_ROOTS entry and keeps the document to send, writing no file', () => {
    const result = catalogue.putKubernetesGraph('iris', irisDocument('iris-logreg-core/1/model.onnx'), 'InferenceGraph ml/iris');
    assert.equal(result.error, undefined);
    const entry = catalogue.get('iris');
    assert.equal(entry?.source, 'kubernetes');
    assert.equal(entry?.file, path.join(repo, 'models', 'iris.yaml'));
    assert.ok(entry.document.includes(path.join(repo, 'models', 'iris-logreg-core', '1', 'model.onnx')));
    assert.equal(createHash('sha256').update(entry.document, 'utf8').digest('hex'), entry.contentHash);
    assert.deepEqual(readdirSync(stateDir), [], 'STATE_DIR is not written in Kubernetes mode');
    assert.deepEqual(entry.demands.map((d) => d.key), ['iris.standardize', 'iris.classifier']);
    assert.equal(changes.at(-1)?.[0], 'iris');
  });

  it('keeps the last valid version serving when an edit is invalid, and names the field', () => {
    const before = catalogue.get('iris');
    const count = changes.length;
    const result = catalogue.putKubernetesGraph('iris', irisDocument('missing/model.onnx'), 'InferenceGraph ml/iris');
    assert.match(result.error ?? '', /InferenceGraph ml\/iris:\d+:\d+ spec\.nodes\[1\]\.model\.uri/);
    assert.equal(catalogue.get('iris')?.contentHash, before?.contentHash);
    assert.equal(changes.length, count, 'nothing was published');
  });

  it('publishes an edit as a new content hash, and nothing for the same spec again', () => {
    const before = catalogue.get('iris')?.contentHash;
    assert.equal(catalogue.putKubernetesGraph('iris', irisDocument('iris-logreg-core/1/model.onnx', 4.0), 'InferenceGraph ml/iris').error, undefined);
    assert.notEqual(catalogue.get('iris')?.contentHash, before);
    const count = changes.length;
    catalogue.putKubernetesGraph('iris', irisDocument('iris-logreg-core/1/model.onnx', 4.0), 'InferenceGraph ml/iris');
    assert.equal(changes.length, count);
  });

  it('lists a graph that was never valid as failed, and forgets a deleted one', () => {
    const result = catalogue.putKubernetesGraph('other', irisDocument('../../etc/passwd').replace('"iris"', '"other"'), 'InferenceGraph ml/other');
    assert.notEqual(result.error, undefined);
    assert.equal(catalogue.describe().graphs.find((g) => g.name === 'other')?.state, 'failed');
    catalogue.removeKubernetesGraph('iris');
    assert.deepEqual(changes.at(-1), ['iris', undefined]);
    assert.equal(catalogue.get('iris'), undefined);
  });

  it('serves versions of one graph from objects of other names side by side, and refuses a second object for a served version', () => {
    const version = (v: string, mean: number): string => {
      const doc = JSON.parse(irisDocument('iris-logreg-core/1/model.onnx', mean)) as { metadata: { name: string }; spec: Record<string, unknown> };
      doc.metadata.name = 'shift';
      doc.spec['version'] = v;
      return JSON.stringify(doc);
    };
    // Objects shift-v1 and shift-v2 (both labelled infergraph.dev/graph: shift): two versions, two entries.
    assert.equal(catalogue.putKubernetesGraph('shift-v1', version('1', 5.88), 'InferenceGraph ml/shift-v1').error, undefined);
    assert.equal(catalogue.putKubernetesGraph('shift-v2', version('2', 4.0), 'InferenceGraph ml/shift-v2').error, undefined);
    assert.deepEqual(
      catalogue.versionsOf('shift').map((g) => [g.id, g.version, path.basename(g.file)]),
      [
        ['shift', '1', 'shift-v1.yaml'],
        ['shift@2', '2', 'shift-v2.yaml'],
      ],
    );
    assert.deepEqual([catalogue.kubernetesGraphIdOf('shift-v1'), catalogue.kubernetesGraphIdOf('shift-v2')], ['shift', 'shift@2']);
    assert.deepEqual(catalogue.get('shift@2')?.demands.map((d) => d.key), ['shift@2.standardize', 'shift@2.classifier']);
    // A third object claiming version 2: refused with the holder's name; version 2 keeps its first object's spec.
    const held = catalogue.get('shift@2')?.contentHash;
    const clash = catalogue.putKubernetesGraph('shift-copy', version('2', 3.0), 'InferenceGraph ml/shift-copy');
    assert.match(clash.error ?? '', /graph "shift" version "2" is served by InferenceGraph ml\/shift-v2 already/);
    assert.equal(catalogue.get('shift@2')?.contentHash, held);
    // Once the holder is deleted, the version is free for the other object.
    catalogue.removeKubernetesGraph('shift-v2');
    assert.equal(catalogue.get('shift@2'), undefined);
    assert.equal(catalogue.putKubernetesGraph('shift-copy', version('2', 3.0), 'InferenceGraph ml/shift-copy').error, undefined);
    assert.equal(catalogue.kubernetesGraphIdOf('shift-copy'), 'shift@2');
    assert.equal(catalogue.get('shift')?.version, '1', 'version 1 served throughout');
    for (const name of ['shift-v1', 'shift-copy']) catalogue.removeKubernetesGraph(name);
  });

  it('refuses graph changes through the admin API, pointing at kubectl', async () => {
    await assert.rejects(catalogue.add(Buffer.from(irisDocument('x'))), (err: Error & { code?: string }) => err.code === 'PERMISSION_DENIED' && /kubectl/.test(err.message));
    assert.throws(() => catalogue.remove('other'), (err: Error & { code?: string }) => err.code === 'PERMISSION_DENIED');
  });
});
