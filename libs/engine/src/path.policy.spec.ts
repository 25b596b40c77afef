import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, describe, it } from 'node:test';
import { parseGraphSource } from '@infergraph/spec';
import { checkModelFile } from './model-file.resolver';
import { PathPolicy, confinePath, outsideRootsMessage } from './path.policy';

// Unit test of the path policy on a real temporary directory tree (symlinks need a file system); nothing is opened.
//   <tmp>/graphs/g.yaml          the graph file (its directory is a root)
//   <tmp>/models/m.onnx          MODEL_ROOTS entry
//   <tmp>/models/escape.onnx  -> <tmp>/outside/secret.onnx
//   <tmp>/models/away         -> <tmp>/outside
//   <tmp>/outside/secret.onnx    outside every root

const tmp = realpathSync(mkdtempSync(path.join(tmpdir(), 'infergraph-paths-')));
const graphs = path.join(tmp, 'graphs');
const models = path.join(tmp, 'models');
const outside = path.join(tmp, 'outside');
for (const dir of [graphs, models, outside]) mkdirSync(dir);
const GRAPH = path.join(graphs, 'g.yaml');
writeFileSync(GRAPH, '');
writeFileSync(path.join(models, 'm.onnx'), 'model');
writeFileSync(path.join(outside, 'secret.onnx'), 'secret');
symlinkSync(path.join(outside, 'secret.onnx'), path.join(models, 'escape.onnx'));
symlinkSync(outside, path.join(models, 'away'));
const ROOTS = [models];
after(() => rmSync(tmp, { recursive: true, force: true }));

describe('confinePath', () => {
  const cases: { name: string; requested: string; inside: string | undefined }[] = [
    { name: 'a relative path into a root', requested: '../models/m.onnx', inside: path.join(models, 'm.onnx') },
    { name: "a path beside the graph file (the graph's directory is a root)", requested: 'local.onnx', inside: path.join(graphs, 'local.onnx') },
    { name: '`..` segments that come back inside', requested: '../outside/../models/m.onnx', inside: path.join(models, 'm.onnx') },
    { name: 'an absolute path inside', requested: path.join(models, 'm.onnx'), inside: path.join(models, 'm.onnx') },
    { name: 'a file:// URL inside', requested: pathToFileURL(path.join(models, 'm.onnx')).href, inside: path.join(models, 'm.onnx') },
    { name: 'a missing file inside (the caller reports it missing)', requested: '../models/none.onnx', inside: path.join(models, 'none.onnx') },
    { name: 'a `..` escape', requested: '../outside/secret.onnx', inside: undefined },
    { name: 'an absolute path outside', requested: path.join(outside, 'secret.onnx'), inside: undefined },
    { name: 'a symlinked file inside a root pointing outside', requested: '../models/escape.onnx', inside: undefined },
    { name: 'a path through a symlinked directory pointing outside', requested: '../models/away/secret.onnx', inside: undefined },
    { name: 'a missing file through a symlinked directory pointing outside', requested: '../models/away/none.onnx', inside: undefined },
    { name: 'a file:// URL outside', requested: pathToFileURL(path.join(outside, 'secret.onnx')).href, inside: undefined },
    { name: 'the root of the file system', requested: '/', inside: undefined },
  ];
  for (const c of cases) {
    it(`${c.inside === undefined ? 'refuses' : 'accepts'} ${c.name}`, () => {
      const confined = confinePath(GRAPH, c.requested, ROOTS, 'model.uri');
      if (c.inside === undefined) assert.deepEqual(confined, { error: outsideRootsMessage('model.uri', c.requested) });
      else assert.deepEqual(confined, { path: c.inside });
    });
  }

  it('refuses URL schemes other than file://', () => {
    const confined = confinePath(GRAPH, 'https://example.com/m.onnx', ROOTS, 'model.uri');
    assert.ok('error' in confined);
    assert.match(confined.error, /unsupported URI scheme/);
  });

  it('accepts a root given through a symlink (roots are compared by their real paths)', () => {
    const linkedRoot = path.join(tmp, 'models-link');
    symlinkSync(models, linkedRoot);
    assert.deepEqual(confinePath(path.join(outside, 'g.yaml'), path.join(linkedRoot, 'm.onnx'), [linkedRoot], 'model.uri'), { path: path.join(models, 'm.onnx') });
  });
});

describe('checkModelFile with a path policy', () => {
  const policy = new PathPolicy(ROOTS);
  const withoutPath = (message: string | undefined, requested: string): string | undefined => message?.replace(JSON.stringify(requested), '<path>');

  it('says the same about an existing and a missing file outside the roots', () => {
    const existing = path.join(outside, 'secret.onnx');
    const missing = path.join(outside, 'none.onnx');
    const a = checkModelFile(GRAPH, existing, policy);
    const b = checkModelFile(GRAPH, missing, policy);
    assert.equal(a, outsideRootsMessage('model.uri', existing));
    assert.equal(withoutPath(a, existing), withoutPath(b, missing));
  });

  it('tells an existing file from a missing one inside the roots', () => {
    assert.equal(checkModelFile(GRAPH, '../models/m.onnx', policy), undefined);
    assert.equal(checkModelFile(GRAPH, '../models/none.onnx', policy), `model file not found: ${path.join(models, 'none.onnx')}`);
  });
});

describe('PathPolicy.confineNodes', () => {
  it('reports modules and references outside the roots at their fields and leaves those nodes out', () => {
    const text = `
apiVersion: infergraph.dev/v1alpha1
kind: InferenceGraph
metadata: {name: g}
spec:
  inputs: [{name: x, datatype: FP32, shape: [-1, 2]}]
  nodes:
    - {name: t, type: transformer, inputs: [graph.inputs], transformer: {module: ${path.join(outside, 'evil.js')}, outputs: [{name: y, datatype: FP32, shape: [-1, 2]}]}}
    - {name: o, type: outlier, inputs: [graph.inputs], outlier: {method: zscore, reference: {path: ../models/ref.csv}}}
    - {name: d, type: drift, inputs: [graph.inputs], drift: {method: ks, reference: {path: ../outside/ref.csv}, window: {size: 10}}}
  outputs: [t, o]
`;
    const nodes = parseGraphSource(text, GRAPH).partial.nodes;
    const confined = new PathPolicy(ROOTS).confineNodes(GRAPH, nodes);
    assert.deepEqual(
      confined.nodes.map((n) => n?.name),
      [undefined, 'o', undefined],
    );
    assert.deepEqual(confined.problems, [
      { path: ['spec', 'nodes', 0, 'transformer', 'module'], message: outsideRootsMessage('transformer.module', path.join(outside, 'evil.js')) },
      { path: ['spec', 'nodes', 2, 'drift', 'reference', 'path'], message: outsideRootsMessage('drift.reference.path', '../outside/ref.csv') },
    ]);
  });
});

describe('PathPolicy.forSentGraphs', () => {
  it("does not count the sent graph's directory as a root: a file the controller names is only a base", () => {
    const sent = new PathPolicy(ROOTS).forSentGraphs();
    // A controller could name any file; beside it is not a root on the receiving side.
    const claimed = path.join(outside, 'g.yaml');
    assert.deepEqual(sent.confine(claimed, 'secret.onnx', 'model.uri'), { error: outsideRootsMessage('model.uri', 'secret.onnx') });
    assert.deepEqual(new PathPolicy(ROOTS).confine(claimed, 'secret.onnx', 'model.uri'), { path: path.join(outside, 'secret.onnx') }, 'a local file: its directory counts');
    // Relative paths still resolve beside the named file, into the receiver's roots.
    assert.deepEqual(sent.confine(GRAPH, '../models/m.onnx', 'model.uri'), { path: path.join(models, 'm.onnx') });
    assert.deepEqual(sent.including([graphs]).confine(GRAPH, 'local.onnx', 'model.uri'), { path: path.join(graphs, 'local.onnx') }, 'a configured root still counts');
  });
});
