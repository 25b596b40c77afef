import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { runInfergraph } from '../support/cli.process';
import { startGateway, type RunningGateway } from '../support/gateway.process';
import { repoPath } from '../support/repo';

// `infergraph import` run as a real subprocess on sample Seldon Core v2 and KServe documents (written for these
// tests, test/fixtures/imports); the imported graphs and hand-written reference graphs on the same ONNX models
// are then served by one real gateway process, and their answers compared request by request.

const FIXTURES = repoPath('test', 'fixtures', 'imports');
// Two rows of each iris class, plus two near the versicolor/virginica border, where the models disagree most.
const ROWS = [
  [5.1, 3.5, 1.4, 0.2],
  [4.9, 3.0, 1.4, 0.2],
  [6.4, 3.2, 4.5, 1.5],
  [5.7, 2.8, 4.1, 1.3],
  [6.3, 3.3, 6.0, 2.5],
  [7.2, 3.0, 5.8, 1.6],
  [6.0, 2.2, 5.0, 1.5],
  [6.3, 2.8, 5.1, 1.5],
];

interface Answer {
  outputs: { name: string; data: number[] }[];
  parameters?: { route?: string };
}

describe('infergraph import: imported graphs answer as hand-written ones', () => {
  let dir: string;
  let gateway: RunningGateway;

  async function infer(graph: string, parameters?: Record<string, unknown>): Promise<Answer> {
    const res = await fetch(`${gateway.baseUrl}/v2/models/${graph}/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ inputs: [{ name: 'features', datatype: 'FP32', shape: [ROWS.length, 4], data: ROWS.flat() }], ...(parameters === undefined ? {} : { parameters }) }),
    });
    assert.equal(res.status, 200, `${graph}: ${await res.clone().text()}`);
    return (await res.json()) as Answer;
  }

  /** label and probabilities of an answer, by the name the graph gives them (its node prefix removed). */
  function results(answer: Answer, prefix = ''): Record<string, number[]> {
    const out: Record<string, number[]> = {};
    for (const o of answer.outputs) if (o.name.startsWith(prefix)) out[o.name.slice(prefix.length)] = o.data;
    return { label: out['label'] ?? [], probabilities: out['probabilities'] ?? [] };
  }

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'infergraph-cli-import-'));
    const seldon = await runInfergraph(['import', 'seldon', path.join(FIXTURES, 'seldon-iris.yaml'), '--mapping', path.join(FIXTURES, 'seldon-mapping.yaml'), '-o', path.join(dir, 'graphs')]);
    assert.equal(seldon.code, 0, seldon.stderr);
    const kserve = await runInfergraph(['import', 'kserve', path.join(FIXTURES, 'kserve-iris.yaml'), '-m', path.join(FIXTURES, 'kserve-mapping.yaml'), '-o', path.join(dir, 'graphs')]);
    assert.equal(kserve.code, 0, kserve.stderr);
    gateway = await startGateway({ GRAPHS_DIR: `${path.join(dir, 'graphs')},${path.join(FIXTURES, 'reference')}` });
  });
  after(async () => {
    await gateway?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a Seldon Pipeline gives the answers of the same model written by hand', async () => {
    const want = results(await infer('ref-logreg'));
    assert.deepEqual(results(await infer('iris-pipeline')), want);
  });

  it('a KServe Switch routes on the request field its GJSON condition reads, else to the step without a condition', async () => {
    const [logreg, forest] = [results(await infer('ref-logreg')), results(await infer('ref-forest'))];
    assert.notDeepEqual(logreg.probabilities, forest.probabilities, 'the two models must differ for the comparison to mean anything');
    assert.deepEqual(results(await infer('iris-switch', { model: 'forest' })), forest);
    assert.deepEqual(results(await infer('iris-switch', { model: 'other' })), logreg);
    assert.deepEqual(results(await infer('iris-switch')), logreg);
  });

  it('a KServe Sequence whose last step reads $request answers as that step\'s model', async () => {
    assert.deepEqual(results(await infer('iris-sequence')), results(await infer('ref-forest')));
  });

  it('a KServe Ensemble answers every step\'s tensors, named after the step', async () => {
    const answer = await infer('iris-ensemble-ks');
    assert.deepEqual(results(answer, 'logreg.'), results(await infer('ref-logreg')));
    assert.deepEqual(results(answer, 'forest.'), results(await infer('ref-forest')));
  });

  it('a Seldon Experiment and a KServe Splitter answer each request as the candidate their route names', async () => {
    const refs: Record<string, Record<string, number[]>> = { logreg: results(await infer('ref-logreg')), forest: results(await infer('ref-forest')) };
    for (const [graph, arms] of [['iris-split', { 'iris-logreg': 'logreg', 'iris-rf': 'forest' }], ['iris-splitter', { logreg: 'logreg', forest: 'forest' }]] as const) {
      const seen = new Set<string>();
      for (let i = 0; i < 40; i++) {
        const answer = await infer(graph);
        const arm = /^router=(.+)$/.exec(answer.parameters?.route ?? '')?.[1] ?? '';
        const ref = (arms as Record<string, string>)[arm];
        assert.ok(ref !== undefined, `${graph}: route ${String(answer.parameters?.route)}`);
        assert.deepEqual(results(answer), refs[ref]);
        seen.add(arm);
      }
      assert.equal(seen.size, 2, `${graph}: both candidates took traffic (weights 50/50, 40 requests)`);
    }
  });
});

describe('infergraph import: what does not carry over, and files', () => {
  it('names every unsupported field with file and path, exits 1, and still writes the graph', async () => {
    const r = await runInfergraph(['import', 'seldon', path.join(FIXTURES, 'seldon-unsupported.yaml'), '-m', path.join(FIXTURES, 'seldon-mapping.yaml'), '--json']);
    assert.equal(r.code, 1);
    const out = JSON.parse(r.stdout) as { graphs: { name: string }[]; issues: { file: string; path: string; message: string; severity: string }[] };
    assert.deepEqual(out.graphs.map((g) => g.name), ['joined']);
    const unsupported = out.issues.filter((i) => i.severity === 'unsupported' && i.file.endsWith('seldon-unsupported.yaml')).map((i) => i.path);
    for (const p of ['documents[0].spec.storageUri', 'documents[1].spec.input', 'documents[1].spec.steps[1].inputsJoinType', 'documents[1].spec.steps[1].joinWindowMs', 'documents[1].spec.steps[1].triggers']) {
      assert.ok(unsupported.includes(p), `${p} in ${unsupported.join(', ')}`);
    }
  });

  it('writes YAML to stdout, and with -o never replaces a file without --force', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'infergraph-cli-import-o-'));
    try {
      const args = ['import', 'kserve', path.join(FIXTURES, 'kserve-iris.yaml'), '-m', path.join(FIXTURES, 'kserve-mapping.yaml')];
      const stdout = await runInfergraph(args);
      assert.equal(stdout.code, 0, stdout.stderr);
      assert.deepEqual(parseAllDocuments(stdout.stdout).map((d) => (d.toJS() as { metadata: { name: string } }).metadata.name), ['iris-switch', 'iris-sequence', 'iris-ensemble-ks', 'iris-splitter']);
      const mine = path.join(dir, 'iris-switch.yaml');
      writeFileSync(mine, 'my own file\n');
      const refused = await runInfergraph([...args, '-o', dir]);
      assert.equal(refused.code, 1);
      assert.match(refused.stderr, /iris-switch\.yaml already exists: nothing written \(--force replaces them\)/);
      assert.equal(readFileSync(mine, 'utf8'), 'my own file\n');
      const forced = await runInfergraph([...args, '-o', dir, '--force']);
      assert.equal(forced.code, 0, forced.stderr);
      assert.match(readFileSync(mine, 'utf8'), /name: iris-switch/);
      const checked = await runInfergraph(['validate', '--strict', dir]);
      assert.equal(checked.code, 0, checked.stdout);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('exits 2 for an unknown format or a broken mapping file', async () => {
    const format = await runInfergraph(['import', 'bentoml', 'x.yaml']);
    assert.equal(format.code, 2);
    assert.match(format.stderr, /seldon or kserve, not "bentoml"/);
    const dir = mkdtempSync(path.join(tmpdir(), 'infergraph-cli-import-m-'));
    try {
      writeFileSync(path.join(dir, 'm.yaml'), 'models: {a: {url: x}}\n');
      const bad = await runInfergraph(['import', 'kserve', path.join(FIXTURES, 'kserve-iris.yaml'), '-m', path.join(dir, 'm.yaml')]);
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /--mapping .*m\.yaml: models\.a/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
