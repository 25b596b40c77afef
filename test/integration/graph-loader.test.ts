import assert from 'node:assert/strict';
import { copyFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { createRequestContext } from '@infergraph/executor';
import { loadGraphFile } from '@infergraph/engine';
import { OnnxModelLoader } from '@infergraph/runtime-onnx';
import { GraphValidationError } from '@infergraph/spec';
import { repoPath } from '../support/repo';
import { tempDir } from '../support/temp-dir';

// Integration: real graph files on disk, real onnxruntime-node sessions on the committed models.

const IRIS = repoPath('models', 'iris-logreg', '1', 'model.onnx');
const IRIS_SHA = '7bb14e947201b2c9e98a5ca1634596cac2baaa343582de9e25a0a99e2bb3a7c2';
const dir = tempDir('infergraph-loader-');
const loader = new OnnxModelLoader();

function graphFile(name: string, body: string): string {
  const file = path.join(dir, `${name}.yaml`);
  writeFileSync(
    file,
    [
      'apiVersion: infergraph.dev/v1alpha1',
      'kind: InferenceGraph',
      `metadata: {name: ${name}}`,
      'spec:',
      ...body.split('\n').map((l) => `  ${l}`),
    ].join('\n') + '\n',
  );
  return file;
}

async function problemsOf(file: string): Promise<string[]> {
  try {
    await loadGraphFile(file, loader);
  } catch (err) {
    assert.ok(err instanceof GraphValidationError, String(err));
    return err.diagnostics.map((d) => `${d.line}:${d.column} ${d.path}: ${d.message}`);
  }
  assert.fail('graph loaded but was expected to fail');
}

describe('graph loader with onnxruntime', () => {
  after(() => loader.close());

  it('loads a valid graph and types its outputs from the model metadata', async () => {
    const file = graphFile(
      'ok',
      `inputs: [{name: x, datatype: FP32, shape: [-1, 4]}]
nodes:
  - {name: m, type: model, inputs: [graph.inputs], tensorMap: {x: input}, model: {uri: ${IRIS}, sha256: ${IRIS_SHA}}}
outputs: [m]`,
    );
    const graph = await loadGraphFile(file, loader);
    assert.deepEqual(graph.executor.plan.outputs, [
      { name: 'label', datatype: 'INT64', shape: [-1] },
      { name: 'probabilities', datatype: 'FP32', shape: [-1, 3] },
    ]);
    const [model, ...more] = graph.models;
    assert.equal(more.length, 0);
    const { loadSeconds, ...identity } = model ?? { loadSeconds: -1 };
    assert.deepEqual(identity, { node: 'm', path: IRIS, sha256: IRIS_SHA, provider: 'cpu' });
    assert.ok(loadSeconds > 0 && loadSeconds < 60, `model load time ${loadSeconds} s`);
  });

  it('rejects a model whose sha256 does not match, naming both digests', async () => {
    const wrong = 'a'.repeat(64);
    const file = graphFile(
      'sha',
      `inputs: [{name: input, datatype: FP32, shape: [-1, 4]}]
nodes:
  - name: m
    type: model
    inputs: [graph.inputs]
    model:
      uri: ${IRIS}
      sha256: ${wrong}
outputs: [m]`,
    );
    assert.deepEqual(await problemsOf(file), [
      `12:17 spec.nodes[0].model.sha256: sha256 mismatch for ${IRIS}: the graph pins ${wrong}, the file is ${IRIS_SHA}`,
    ]);
  });

  it('reports every typing problem at once: unfed model inputs, dtype clashes, unknown output tensors', async () => {
    const file = graphFile(
      'typing',
      `inputs:
  - {name: features, datatype: FP32, shape: [-1, 4]}
  - {name: counts, datatype: INT64, shape: [-1, 4]}
nodes:
  - {name: a, type: model, inputs: [graph.inputs.features], model: {uri: ${IRIS}}}
  - {name: b, type: model, inputs: [graph.inputs.counts], tensorMap: {counts: input}, model: {uri: ${IRIS}}}
outputs: [a.outputs.labels, b.outputs.label]`,
    );
    const problems = await problemsOf(file);
    assert.equal(problems.length, 4, problems.join('\n'));
    assert.match(problems[0] ?? '', /^9:38 spec\.nodes\[0\]\.inputs: model has no input "features"/);
    assert.match(problems[1] ?? '', /^9:38 spec\.nodes\[0\]\.inputs: model input "input" FP32 \[-1, 4\] is not fed \(node receives: features\); use tensorMap to rename/);
    assert.match(problems[2] ?? '', /^10:38 spec\.nodes\[1\]\.inputs: model input "input" is FP32, but receives INT64/);
    assert.match(problems[3] ?? '', /^11:13 spec\.outputs\[0\]: node "a" has no tensor "labels"; did you mean "label"\? \(available: label, probabilities\)/);
  });

  it('reports six different problems in one file at once, typing the healthy model behind them', async () => {
    const file = repoPath('test', 'fixtures', 'graphs-broken', 'six-problems.yaml');
    const problems = await problemsOf(file);
    const expected: [prefix: string, message: RegExp][] = [
      ['9:32 spec.inputs[1].datatype: ', /^must be one of BOOL, /],
      ['16:7 spec.nodes[1]: ', /^not typed because they depend on node "lost", which has problems: after-lost$/],
      ['19:20 spec.nodes[1].model.uri: ', /^model file not found: .*models\/does-not-exist\/1\/model\.onnx$/],
      ['24:13 spec.nodes[3].type: ', /^unknown node type "transfromer"/],
      ['28:15 spec.nodes[4].inputs: ', /^cycle: loop-a -> loop-b -> loop-a; a graph must be acyclic$/],
      ['35:13 spec.nodes[7].name: ', /^duplicate node name "twin" \(first declared at spec\.nodes\[6\]\)$/],
      ['39:7 spec.outputs[0]: ', /^node "clf" has no tensor "labels"; did you mean "label"\? \(available: label, probabilities\)$/],
    ];
    assert.equal(problems.length, expected.length, problems.join('\n'));
    expected.forEach(([prefix, message], i) => {
      const line = problems[i] ?? '';
      assert.ok(line.startsWith(prefix), `problem ${i}: ${line}`);
      assert.match(line.slice(prefix.length), message, `problem ${i}: ${line}`);
    });
    await assert.rejects(loadGraphFile(file, loader), (err: unknown) => {
      assert.ok(err instanceof GraphValidationError);
      assert.equal(err.diagnostics.filter((d) => d.severity === 'note').length, 1, err.message);
      assert.match(err.message, /^graph .*six-problems\.yaml has 6 problems \(and 1 note\):\n/);
      assert.match(err.message, /six-problems\.yaml:16:7 spec\.nodes\[1\]: note: not typed because/);
      return true;
    });
  });

  it('rejects a file that is not an ONNX model with the runtime error', async () => {
    const notModel = path.join(dir, 'not-a-model.onnx');
    writeFileSync(notModel, 'this is not protobuf');
    const file = graphFile(
      'garbage',
      `inputs: [{name: input, datatype: FP32, shape: [-1, 4]}]
nodes: [{name: m, type: model, inputs: [graph.inputs], model: {uri: not-a-model.onnx}}]
outputs: [m]`,
    );
    const problems = await problemsOf(file);
    assert.equal(problems.length, 1);
    assert.match(problems[0] ?? '', new RegExp(`^6:71 spec\\.nodes\\[0\\]\\.model\\.uri: cannot load model ${notModel.replace(/[.\\/]/g, '\\$&')}: .+`));
  });

  it('resolves model paths relative to the graph file and accepts file:// URLs', async () => {
    copyFileSync(IRIS, path.join(dir, 'local.onnx'));
    const relative = graphFile(
      'relative',
      `inputs: [{name: input, datatype: FP32, shape: [-1, 4]}]
nodes: [{name: m, type: model, inputs: [graph.inputs], model: {uri: ./local.onnx}}]
outputs: [m.outputs.label]`,
    );
    assert.equal((await loadGraphFile(relative, loader)).models[0]?.sha256, IRIS_SHA);
    const url = graphFile(
      'url',
      `inputs: [{name: input, datatype: FP32, shape: [-1, 4]}]
nodes: [{name: m, type: model, inputs: [graph.inputs], model: {uri: "file://${IRIS}"}}]
outputs: [m.outputs.label]`,
    );
    assert.equal((await loadGraphFile(url, loader)).models[0]?.path, IRIS);
    const other = graphFile(
      'other-scheme',
      `inputs: [{name: input, datatype: FP32, shape: [-1, 4]}]
nodes: [{name: m, type: model, inputs: [graph.inputs], model: {uri: "gs://bucket/m.onnx"}}]
outputs: [m.outputs.label]`,
    );
    assert.match((await problemsOf(other))[0] ?? '', /spec\.nodes\[0\]\.model\.uri: unsupported URI scheme "gs:\/\/"/);
    // https:// needs a sha256 (docs/graph-reference.md) and a model store to fetch it (test/integration/model-sources.test.ts).
    const https = (sha: string): string =>
      graphFile(
        'https',
        `inputs: [{name: input, datatype: FP32, shape: [-1, 4]}]
nodes: [{name: m, type: model, inputs: [graph.inputs], model: {uri: "https://example.com/m.onnx"${sha}}}]
outputs: [m.outputs.label]`,
      );
    assert.match((await problemsOf(https('')))[0] ?? '', /spec\.nodes\[0\]\.model\.sha256: required for an https:\/\/ model\.uri/);
    assert.match((await problemsOf(https(`, sha256: ${IRIS_SHA}`)))[0] ?? '', /node "m": no model store in this process to fetch https:\/\/example\.com\/m\.onnx/);
  });

  it('names graph and node when a custom module is missing, lacks its export or does not compile', async () => {
    const modules = repoPath('test', 'fixtures', 'modules');
    const file = graphFile(
      'modules',
      `inputs: [{name: x, datatype: FP32, shape: [-1, 2]}]
nodes:
  - {name: gone, type: transformer, inputs: [graph.inputs], transformer: {module: ${modules}/nope.js, outputs: [{name: x, datatype: FP32, shape: [-1, 2]}]}}
  - {name: unnamed, type: transformer, inputs: [graph.inputs], transformer: {module: ${modules}/branches.js, export: missing, outputs: [{name: y, datatype: FP32, shape: [-1, 2]}]}}
  - {name: syntax, type: transformer, inputs: [graph.inputs], transformer: {module: ${modules}/broken.ts, outputs: [{name: z, datatype: FP32, shape: [-1, 2]}]}}
outputs: [gone, unnamed, syntax]`,
    );
    const problems = await problemsOf(file);
    assert.equal(problems.length, 3, problems.join('\n'));
    assert.match(problems[0] ?? '', /spec\.nodes\[0\]\.transformer\.module: graph "modules" node "gone": cannot load custom transformer module: module not found: .*nope\.js/);
    assert.match(problems[1] ?? '', /spec\.nodes\[1\]\.transformer\.module: graph "modules" node "unnamed": .*has no function export "missing" \(exports: branch, slowFailure, picky\)/);
    assert.match(problems[2] ?? '', /spec\.nodes\[2\]\.transformer\.module: graph "modules" node "syntax": .*broken\.ts: .+/);
  });

  it('runs a custom combiner module over the branches that ran', async () => {
    const file = graphFile(
      'custom-combine',
      `inputs: [{name: x, datatype: FP32, shape: [-1, 2]}]
nodes:
  - {name: a, type: transformer, inputs: [graph.inputs]}
  - {name: b, type: transformer, inputs: [graph.inputs]}
  - name: add
    type: combiner
    inputs: [a, b]
    combiner:
      strategy: custom
      module: ${repoPath('test', 'fixtures', 'modules', 'combine.js')}
      outputs: [{name: sum, datatype: FP32, shape: [-1, 2]}, {name: sources, datatype: BYTES, shape: [-1]}]
outputs: [add]`,
    );
    const graph = await loadGraphFile(file, loader);
    const ctx = createRequestContext({ graph: 'custom-combine', parameters: { scale: 10 }, timeoutMs: 1000, signal: new AbortController().signal });
    const result = await graph.executor.execute([{ name: 'x', datatype: 'FP32', shape: [1, 2], data: new Float32Array([1, 2]) }], ctx);
    const byName = new Map(result.outputs.map((t) => [t.name, t]));
    assert.deepEqual(Array.from(byName.get('sum')?.data as Float32Array), [20, 40]);
    assert.deepEqual(byName.get('sources')?.data, ['a', 'b']);
  });

  it('reports detector problems: missing or malformed reference files and tensors of the wrong width', async () => {
    const badCsv = path.join(dir, 'bad-reference.csv');
    writeFileSync(badCsv, 'a,b\n1,2\n3,oops\n');
    const reference = repoPath('models', 'iris-logreg', '1', 'reference.csv');
    const file = graphFile(
      'detectors',
      `inputs: [{name: x, datatype: FP32, shape: [-1, 3]}]
nodes:
  - {name: gone, type: outlier, inputs: [graph.inputs], outlier: {method: zscore, reference: {path: nowhere.csv}}}
  - {name: garbled, type: drift, inputs: [graph.inputs], drift: {method: ks, reference: {path: bad-reference.csv}, window: {size: 10}}}
  - {name: narrow, type: outlier, inputs: [graph.inputs], outlier: {method: mahalanobis, reference: {path: ${reference}}}}
outputs: [gone, narrow]`,
    );
    const problems = await problemsOf(file);
    assert.equal(problems.length, 3, problems.join('\n'));
    assert.match(problems[0] ?? '', /spec\.nodes\[0\]\.outlier\.reference\.path: reference file not found: .*nowhere\.csv/);
    assert.match(problems[1] ?? '', /spec\.nodes\[1\]\.drift\.reference\.path: reference .*bad-reference\.csv: line 3, column "b": "oops" is not a number/);
    assert.match(problems[2] ?? '', /spec\.nodes\[2\]\.outlier: tensor "x" is FP32 \[-1, 3\]; the reference has 4 features, so it must be numeric \[N, 4\]/);
  });

  it('refuses an mmd sigma list whose length is not the reference\'s number of features, at load time', async () => {
    const reference = repoPath('models', 'iris-logreg', '1', 'reference.csv');
    const file = graphFile(
      'mmd-sigma',
      `inputs: [{name: x, datatype: FP32, shape: [-1, 4]}]
nodes:
  - name: drift
    type: drift
    inputs: [graph.inputs]
    drift: {method: mmd, reference: {path: ${reference}}, window: {size: 20}, mmd: {sigma: [1, 2, 3]}}
outputs: [graph.inputs.x]`,
    );
    const problems = await problemsOf(file);
    assert.equal(problems.length, 1, problems.join('\n'));
    assert.match(problems[0] ?? '', /spec\.nodes\[0\]\.drift\.mmd\.sigma: has 3 values, one per feature is needed: the reference has 4 features/);
  });

  it('falls back to the CPU provider when CUDA is asked for but unavailable, and says so', async (t) => {
    const gpuLoader = new OnnxModelLoader({ preferGpu: true });
    t.after(() => gpuLoader.close());
    const bytes = new Uint8Array(await import('node:fs/promises').then((fs) => fs.readFile(IRIS)));
    const session = await gpuLoader.load(IRIS_SHA, bytes, {});
    if (session.provider === 'cuda') {
      assert.equal(session.providerNote, undefined);
      return;
    }
    assert.equal(session.provider, 'cpu');
    assert.match(session.providerNote ?? '', /^CUDA execution provider unavailable \(.+\); using CPU$/);
    const out = await session.run(new Map([['input', { name: 'input', datatype: 'FP32', shape: [1, 4], data: new Float32Array([5.1, 3.5, 1.4, 0.2]) }]]));
    assert.deepEqual(Array.from(out.get('label')?.data as BigInt64Array), [0n]);
  });

  it('creates one session per model content and reuses it across graphs', async () => {
    const bytes = new Uint8Array(await import('node:fs/promises').then((fs) => fs.readFile(IRIS)));
    const first = await loader.load(IRIS_SHA, bytes, {});
    const second = await loader.load(IRIS_SHA, bytes, {});
    assert.equal(first, second);
    const threaded = await loader.load(IRIS_SHA, bytes, { intraOpThreads: 1 });
    assert.notEqual(first, threaded);
  });
});
