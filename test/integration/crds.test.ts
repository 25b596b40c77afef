import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { parse } from 'yaml';
import { z } from 'zod';
import * as spec from '@infergraph/spec';
import { repoPath } from '../support/repo';
import { structuralViolations, type Schema } from '../support/structural-schema';

// Real parts: the committed CRDs, the generator scripts/k8s/crds.mjs (as a module and as a process) over the
// compiled zod schemas of libs/spec, and the example graphs. Whether kube-apiserver accepts the CRDs and
// the examples is test/k8s/chart.test.ts's question.

interface Generator {
  generateCrds(options?: { spec?: unknown }): Record<string, string>;
  staleOutputs(generated: Record<string, string>): { file: string; detail: string }[];
  OUTPUT_DIRS: string[];
}

const FILES = ['inferencegraphs.infergraph.dev.yaml', 'workerpools.infergraph.dev.yaml'];
let generator: Generator;
before(async () => {
  generator = (await import(pathToFileURL(repoPath('scripts', 'k8s', 'crds.mjs')).href)) as Generator;
});

function committed(dir: string, file: string): { text: string; crd: Schema } {
  const text = readFileSync(repoPath(dir, file), 'utf8');
  return { text, crd: parse(text) as Schema };
}

function versionOf(crd: Schema): Schema {
  const versions = (crd['spec'] as Schema)['versions'] as Schema[];
  assert.equal(versions.length, 1);
  return versions[0] as Schema;
}

/** Where `keywords` occur as schema keywords (not as field names under `properties`). */
function keywordsIn(node: unknown, keywords: string[], path = ''): string[] {
  if (node === null || typeof node !== 'object') return [];
  if (Array.isArray(node)) return node.flatMap((n, i) => keywordsIn(n, keywords, `${path}[${i}]`));
  return Object.entries(node as Schema).flatMap(([key, value]) => {
    if (key === 'properties') return Object.entries(value as Schema).flatMap(([name, sub]) => keywordsIn(sub, keywords, `${path}.${name}`));
    return [...(keywords.includes(key) ? [`${path} ${key}`] : []), ...keywordsIn(value, keywords, `${path}/${key}`)];
  });
}

describe('CRDs generated from the zod schemas (scripts/k8s/crds.mjs)', () => {
  it('are committed as the generator writes them, in deploy/crds and in the Helm chart', () => {
    assert.deepEqual(generator.OUTPUT_DIRS, ['deploy/crds', 'deploy/helm/infergraph/crds']);
    const generated = generator.generateCrds();
    assert.deepEqual(Object.keys(generated).sort(), FILES);
    assert.deepEqual(generator.staleOutputs(generated), [], 'the schemas in libs/spec changed: run `npm run crds` and commit deploy/');
    const check = spawnSync(process.execPath, [repoPath('scripts', 'k8s', 'crds.mjs'), '--check'], { encoding: 'utf8' });
    assert.equal(check.status, 0, check.stderr);
  });

  it('notice a schema change that was not regenerated, naming the file and the line', () => {
    // The same libs/spec with one more WorkerPool field, as if someone edited the schema and forgot `npm run crds`.
    const changed = { ...spec, workerPoolSpecSchema: spec.workerPoolSpecSchema.extend({ priorityClassName: z.string().optional() }) };
    const stale = generator.staleOutputs(generator.generateCrds({ spec: changed }));
    assert.deepEqual(
      stale.map((s) => s.file),
      ['deploy/crds/workerpools.infergraph.dev.yaml', 'deploy/helm/infergraph/crds/workerpools.infergraph.dev.yaml'],
    );
    assert.match(stale[0]?.detail ?? '', /^line \d+: committed .*, generated .*priorityClassName/);
  });

  it('as a command: writes only its outputs, refuses to replace a file it did not write, and --check names stale files', () => {
    // A scratch tree laid out like the repository: the scripts copied, the build and packages linked.
    const root = mkdtempSync(path.join(tmpdir(), 'infergraph-crds-'));
    try {
      mkdirSync(path.join(root, 'scripts', 'k8s'), { recursive: true });
      for (const f of ['crds.mjs', 'structural-schema.mjs']) cpSync(repoPath('scripts', 'k8s', f), path.join(root, 'scripts', 'k8s', f));
      symlinkSync(repoPath('dist'), path.join(root, 'dist'), 'dir');
      symlinkSync(repoPath('node_modules'), path.join(root, 'node_modules'), 'dir');
      const crds = (...args: string[]) => spawnSync(process.execPath, [path.join(root, 'scripts', 'k8s', 'crds.mjs'), ...args], { encoding: 'utf8' });
      const mine = path.join(root, 'deploy', 'helm', 'infergraph', 'crds', FILES[1] as string);
      mkdirSync(path.dirname(mine), { recursive: true });
      writeFileSync(mine, '# my own WorkerPool CRD\n');

      const refused = crds();
      assert.equal(refused.status, 1);
      assert.match(refused.stderr, /deploy\/helm\/infergraph\/crds\/workerpools\.infergraph\.dev\.yaml exist and were not written by this script/);
      assert.equal(readFileSync(mine, 'utf8'), '# my own WorkerPool CRD\n', 'the foreign file is untouched');
      assert.deepEqual(readdirSync(path.join(root, 'deploy')).sort(), ['helm'], 'nothing written when one target is refused');

      rmSync(mine);
      const written = crds();
      assert.equal(written.status, 0, written.stderr);
      for (const dir of generator.OUTPUT_DIRS) assert.deepEqual(readdirSync(path.join(root, dir)).sort(), FILES);
      assert.equal(readFileSync(path.join(root, 'deploy', 'crds', FILES[0] as string), 'utf8'), readFileSync(repoPath('deploy', 'crds', FILES[0] as string), 'utf8'));
      assert.equal(crds('--check').status, 0);

      writeFileSync(path.join(root, 'deploy', 'crds', FILES[0] as string), readFileSync(path.join(root, 'deploy', 'crds', FILES[0] as string), 'utf8').replace('shortNames:\n      - ig', 'shortNames:\n      - igx'));
      const stale = crds('--check');
      assert.equal(stale.status, 1);
      assert.match(stale.stderr, /run `npm run crds` and commit:\n {2}deploy\/crds\/inferencegraphs\.infergraph\.dev\.yaml: line \d+: committed " {6}- igx", generated " {6}- ig"/);
      assert.match(crds('--bogus').stderr, /unknown argument --bogus/);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('are the same bytes on every run', () => {
    assert.deepEqual(generator.generateCrds(), generator.generateCrds());
  });

  for (const file of FILES) {
    it(`${file}: a namespaced v1alpha1 CRD with a structural schema, a status subresource and the infergraph category`, () => {
      const { text, crd } = committed('deploy/crds', file);
      assert.match(text, /^# Generated by scripts\/k8s\/crds\.mjs/);
      assert.equal(crd['apiVersion'], 'apiextensions.k8s.io/v1');
      const crdSpec = crd['spec'] as Schema;
      assert.equal(crdSpec['group'], 'infergraph.dev');
      assert.equal(crdSpec['scope'], 'Namespaced');
      assert.deepEqual((crdSpec['names'] as Schema)['categories'], ['infergraph']);
      const version = versionOf(crd);
      assert.equal(version['name'], 'v1alpha1');
      assert.equal(version['served'], true);
      assert.equal(version['storage'], true);
      assert.deepEqual(version['subresources'], { status: {} });
      const schema = (version['schema'] as Schema)['openAPIV3Schema'] as Schema;
      assert.deepEqual(structuralViolations(schema), []);
      assert.deepEqual(keywordsIn(schema, ['$ref', 'default']), [], 'no references, and no defaults (the operator applies them)');
    });
  }

  it('InferenceGraph: short name ig, printer columns for readiness, reason and nodes ready', () => {
    const { crd } = committed('deploy/crds', FILES[0] as string);
    assert.deepEqual(((crd['spec'] as Schema)['names'] as Schema)['shortNames'], ['ig']);
    const columns = versionOf(crd)['additionalPrinterColumns'] as Schema[];
    assert.deepEqual(
      columns.map((c) => [c['name'], c['jsonPath']]),
      [
        ['Ready', '.status.conditions[?(@.type=="Ready")].status'],
        ['Reason', '.status.conditions[?(@.type=="Ready")].reason'],
        ['Nodes', '.status.nodesReady'],
        ['Age', '.metadata.creationTimestamp'],
      ],
    );
    // Every column points at a field the status schema has.
    const status = (((versionOf(crd)['schema'] as Schema)['openAPIV3Schema'] as Schema)['properties'] as Record<string, Schema>)['status'] as Schema;
    assert.ok('nodesReady' in (status['properties'] as Schema) && 'conditions' in (status['properties'] as Schema));
  });

  it('WorkerPool: short name wp, printer columns pool, min, max, replicas, GPU, and the cross-field rules as CEL', () => {
    const { crd } = committed('deploy/crds', FILES[1] as string);
    assert.deepEqual(((crd['spec'] as Schema)['names'] as Schema)['shortNames'], ['wp']);
    const columns = (versionOf(crd)['additionalPrinterColumns'] as Schema[]).filter((c) => c['priority'] === undefined).map((c) => c['name']);
    assert.deepEqual(columns, ['Pool', 'Min', 'Max', 'Replicas', 'GPU', 'Age']);
    const specSchema = (((versionOf(crd)['schema'] as Schema)['openAPIV3Schema'] as Schema)['properties'] as Record<string, Schema>)['spec'] as Schema;
    const props = specSchema['properties'] as Record<string, Schema>;
    assert.match(JSON.stringify(props['replicas']?.['x-kubernetes-validations']), /self\.max.*self\.min/);
    assert.match(JSON.stringify(props['resources']?.['x-kubernetes-validations']), /has\(self\.gpuMemory\)/);
  });

  it('InferenceGraph.spec is the graph spec users write: every example in graphs/ passes graphSpecSchema, as the CRD spec', () => {
    const files = readdirSync(repoPath('graphs')).filter((f) => f.endsWith('.yaml'));
    assert.ok(files.length >= 9);
    for (const file of files) {
      const doc = parse(readFileSync(repoPath('graphs', file), 'utf8')) as { spec: unknown };
      const parsed = spec.graphSpecSchema.safeParse(doc.spec);
      assert.ok(parsed.success, `graphs/${file}: ${parsed.error?.message}`);
    }
    // And what the parser refuses for a node's shape, the whole-spec schema refuses too.
    const bad = { inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 4] }], nodes: [{ name: 'a', type: 'model', inputs: ['graph.inputs'], router: { routes: [] } }], outputs: ['a.outputs.y'] };
    assert.equal(spec.graphSpecSchema.safeParse(bad).success, false);
  });
});
