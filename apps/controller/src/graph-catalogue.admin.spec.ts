import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { InferenceError } from '@infergraph/protocol';
import { loadControllerConfig } from './controller.config';
import { GraphConflictError } from './graph-conflict.error';
import { GraphCatalogueService } from './graph-catalogue.service';

// Unit test of the admin API's writes against the real filesystem (a temp GRAPHS_DIR and STATE_DIR, the
// repository's models): a posted graph's stored copy is written off the event loop, and while it is written
// its version is reserved.

const repo = path.resolve(__dirname, '..', '..', '..', '..');

const document = (name: string): Buffer =>
  Buffer.from(`apiVersion: infergraph.dev/v1alpha1
kind: InferenceGraph
metadata: {name: ${name}}
spec:
  inputs: [{name: features, datatype: FP32, shape: [-1, 4]}]
  nodes:
    - name: classifier
      type: model
      inputs: [graph.inputs.features]
      tensorMap: {features: input}
      model: {uri: ${path.join(repo, 'models', 'iris-logreg-core', '1', 'model.onnx')}}
  outputs: [classifier.outputs.label]
`);

describe('GraphCatalogueService admin writes', () => {
  let root: string;
  let catalogue: GraphCatalogueService;
  before(() => {
    root = mkdtempSync(path.join(tmpdir(), 'infergraph-admin-catalogue-'));
    const config = loadControllerConfig({ GRAPHS_DIR: path.join(root, 'graphs-missing'), STATE_DIR: path.join(root, 'state'), MODEL_ROOTS: repo }, repo);
    catalogue = new GraphCatalogueService(config);
    catalogue.onModuleInit();
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  it('stores a posted graph durably and publishes it once stored', async () => {
    const added = await catalogue.add(document('stored'));
    assert.equal(added.name, 'stored');
    const entry = catalogue.get('stored');
    assert.equal(entry?.source, 'api');
    assert.equal(readFileSync(path.join(root, 'state', 'graphs', 'stored.yaml'), 'utf8'), entry.document);
  });

  it('lets one of two POSTs of one version in at once, and refuses the other with a 409', async () => {
    const results = await Promise.allSettled([catalogue.add(document('twice')), catalogue.add(document('twice'))]);
    assert.deepEqual(
      results.map((r) => r.status),
      ['fulfilled', 'rejected'],
    );
    const refused = (results[1] as PromiseRejectedResult).reason as unknown;
    assert.ok(refused instanceof GraphConflictError, String(refused));
    assert.match(refused.message, /graph "twice"( version \S+)? (already exists|is being saved by another request)/);
  });

  it('refuses a DELETE of a version while its stored copy is written, and never loses the write', async () => {
    let done = false;
    const adding = catalogue.add(document('racing')).finally(() => (done = true));
    const answers = new Set<string>();
    while (!done) {
      try {
        catalogue.remove('racing');
        assert.fail('a DELETE went through before the POST was answered');
      } catch (err) {
        if (err instanceof GraphConflictError) answers.add('409 being saved');
        else if (err instanceof InferenceError && err.code === 'NOT_FOUND') answers.add('404 not yet');
        else throw err;
      }
      await new Promise((r) => setImmediate(r));
    }
    await adding;
    assert.ok(answers.has('409 being saved'), `answers while the POST ran: ${[...answers].join(', ')}`);
    // Published, and stored: a DELETE now removes both.
    assert.equal(catalogue.get('racing')?.source, 'api');
    catalogue.remove('racing');
    assert.equal(catalogue.get('racing'), undefined);
  });
});
