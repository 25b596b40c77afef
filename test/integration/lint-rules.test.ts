import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { ESLint } from 'eslint';
import { REPO_ROOT, repoPath } from '../support/repo';

// Integration: the repository's real eslint.config.mjs through ESLint's Node API (type-checked, as
// `npm run lint` runs it), and the real scripts/lint/lib-cycles.mjs as a process on temporary trees.

const LAYER_RULES = new Set(['no-restricted-imports', '@typescript-eslint/no-restricted-imports']);

/** `@infergraph/<path>`, spelled so that the build's alias rewriting (tsc-alias) leaves the snippets' text alone. */
const lib = (name: string): string => ['@infergraph', name].join('/');

describe('the layering rules of eslint.config.mjs', () => {
  const eslint = new ESLint({ cwd: REPO_ROOT });

  /** The layering messages for a snippet linted as if it were the file at `file` (an existing one, so the TypeScript project knows it). */
  async function layerMessagesOf(file: string, code: string): Promise<string[]> {
    const [result] = await eslint.lintText(code, { filePath: repoPath(file) });
    assert.ok(result !== undefined);
    const fatal = result.messages.filter((m) => m.fatal === true);
    assert.deepEqual(fatal, [], `${file} did not parse`);
    return result.messages.filter((m) => m.ruleId !== null && LAYER_RULES.has(m.ruleId)).map((m) => m.message);
  }

  // Type-only snippets: the project service keeps each snippet as the file's text for later lints in
  // this process, and only values would make type-aware rules depend on that.
  const cases: { name: string; file: string; code: string; rejects: RegExp | undefined }[] = [
    {
      name: 'rejects libs/protocol importing @infergraph/executor, a lib above it',
      file: 'libs/protocol/src/index.ts',
      code: `import type { GraphPlan } from '${lib('executor')}';\nexport type Probe = GraphPlan;\n`,
      rejects: /'@infergraph\/executor' import is restricted.*libs\/protocol may import only these @infergraph libs: nothing/,
    },
    {
      name: 'allows libs/executor importing @infergraph/protocol, a lib below it',
      file: 'libs/executor/src/index.ts',
      code: `import type { Tensor } from '${lib('protocol')}';\nexport type Probe = Tensor;\n`,
      rejects: undefined,
    },
    {
      name: 'rejects a pure lib importing a driver',
      file: 'libs/spec/src/index.ts',
      code: "import type { Kafka } from 'kafkajs';\nexport type Probe = Kafka;\n",
      rejects: /'kafkajs' import is restricted.*libs\/spec is pure/,
    },
    {
      name: 'still rejects a deep import inside a lib, whose own entry replaces the shared one',
      file: 'libs/nodes/src/index.ts',
      code: `import type { Tensor } from '${lib('protocol/src/tensor')}';\nexport type Probe = Tensor;\n`,
      rejects: /never its files/,
    },
    {
      name: 'rejects a value import where the table allows types only',
      file: 'libs/telemetry/src/index.ts',
      code: `import { GraphRegistry } from '${lib('engine')}';\nexport type Probe = GraphRegistry;\n`,
      rejects: /libs\/telemetry may import only types from @infergraph\/engine/,
    },
    {
      name: 'allows a type import where the table allows types only',
      file: 'libs/telemetry/src/index.ts',
      code: `import type { EngineEvents } from '${lib('engine')}';\nexport type Probe = EngineEvents;\n`,
      rejects: undefined,
    },
    {
      name: 'rejects the worker importing @nestjs/microservices',
      file: 'apps/worker/src/main.ts',
      code: "import type { Transport } from '@nestjs/microservices';\nexport type Probe = Transport;\n",
      rejects: /'@nestjs\/microservices' import is restricted.*apps\/worker imports only/,
    },
  ];

  for (const c of cases) {
    it(c.name, async () => {
      const messages = await layerMessagesOf(c.file, c.code);
      if (c.rejects === undefined) assert.deepEqual(messages, []);
      else assert.ok(messages.some((m) => c.rejects?.test(m)), `expected ${String(c.rejects)} among ${JSON.stringify(messages)}`);
    });
  }
});

describe('scripts/lint/lib-cycles.mjs', () => {
  const script = repoPath('scripts', 'lint', 'lib-cycles.mjs');
  const dirs: string[] = [];
  after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  /** A tree of libs (name → source of its src/index.ts) with a LAYERS table and, if given, docs/ARCHITECTURE.md and README.md; the script's exit code and stderr. */
  function check(libs: Record<string, string>, layers: Record<string, { libs: string[] }>, architecture?: string, readme?: string): { status: number | null; stderr: string } {
    const root = mkdtempSync(path.join(tmpdir(), 'infergraph-lint-'));
    dirs.push(root);
    for (const [name, source] of Object.entries(libs)) {
      mkdirSync(path.join(root, 'libs', name, 'src'), { recursive: true });
      writeFileSync(path.join(root, 'libs', name, 'src', 'index.ts'), source);
    }
    writeFileSync(path.join(root, 'eslint.config.mjs'), `export const LAYERS = ${JSON.stringify(layers)};\nexport default [];\n`);
    if (architecture !== undefined) {
      mkdirSync(path.join(root, 'docs'));
      writeFileSync(path.join(root, 'docs', 'ARCHITECTURE.md'), architecture);
    }
    if (readme !== undefined) writeFileSync(path.join(root, 'README.md'), readme);
    const run = spawnSync(process.execPath, [script, '--root', root], { encoding: 'utf8' });
    return { status: run.status, stderr: run.stderr };
  }

  const table = { 'libs/a': { libs: [] }, 'libs/b': { libs: ['a'] }, 'libs/c': { libs: ['b'] } };

  it('passes a tree whose libraries import only downwards', () => {
    const result = check({ a: 'export const a = 1;\n', b: `import { a } from '${lib('a')}';\nexport const b = a;\n`, c: `export { b } from '${lib('b')}';\n` }, table);
    assert.equal(result.status, 0, result.stderr);
  });

  it('fails a tree whose libraries import each other in a cycle, naming the cycle and its files', () => {
    const result = check(
      {
        a: `export const a = async () => (await import('${lib('c')}')).c;\n`,
        b: `import { a } from '${lib('a')}';\nexport const b = a;\n`,
        c: `import type { b } from '${lib('b')}';\nexport const c: typeof b | undefined = undefined;\n`,
      },
      table,
    );
    assert.equal(result.status, 1);
    assert.match(result.stderr, /cycle: @infergraph\/a → @infergraph\/c → @infergraph\/b → @infergraph\/a/);
    assert.match(result.stderr, /@infergraph\/b imports @infergraph\/a \(libs\/b\/src\/index\.ts\)/);
  });

  it('fails a table that permits a cycle', () => {
    const result = check({ a: '', b: '', c: '' }, { ...table, 'libs/a': { libs: ['c'] } });
    assert.equal(result.status, 1);
    assert.match(result.stderr, /permits a cycle: a → c → b → a/);
  });

  it('fails a lib without a row in the table', () => {
    const result = check({ a: '', b: '', c: '', d: '' }, table);
    assert.equal(result.status, 1);
    assert.match(result.stderr, /libs\/d has no row in LAYERS/);
  });

  it('fails a relative import that leaves its lib', () => {
    const result = check({ a: '', b: "export * from '../../a/src/index';\n", c: '' }, table);
    assert.equal(result.status, 1);
    assert.match(result.stderr, /libs\/b\/src\/index\.ts imports "\.\.\/\.\.\/a\/src\/index", outside libs\/b/);
  });

  it("fails when the documentation's may-import table and LAYERS disagree", () => {
    const doc = ['| lib | owns | may import |', '|---|---|---|', '| `a` | x | zod |', '| `b` | x | a |', '| `c` | x | a (not b: notes in parentheses are not read) |', ''].join('\n');
    const result = check({ a: '', b: '', c: '' }, table, doc);
    assert.equal(result.status, 1);
    assert.match(result.stderr, /disagree on what libs\/c may import: only the docs name a; only LAYERS names b/);
    assert.doesNotMatch(result.stderr, /libs\/[ab] may import/);
  });

  /** docs/ARCHITECTURE.md with a layer diagram of these lines and a "may import" table that agrees with `table`. */
  const architectureWith = (diagram: string[]): string =>
    ['## Layers', '', '```', ...diagram, '```', '', '| lib | owns | may import |', '|---|---|---|', '| `a` | x | — |', '| `b` | x | a |', '| `c` | x | b |', ''].join('\n');

  it('passes a layer diagram that shows every lib above what it imports', () => {
    const result = check({ a: '', b: '', c: '' }, table, architectureWith(['libs/c   top', '   │', 'libs/b   middle', 'libs/a   bottom']));
    assert.equal(result.status, 0, result.stderr);
  });

  it('fails a layer diagram that leaves a lib out, or shows a lib above one that imports it', () => {
    const missing = check({ a: '', b: '', c: '' }, table, architectureWith(['libs/c   top', 'libs/a   bottom']));
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /the layer diagram of docs\/ARCHITECTURE\.md does not show libs\/b/);
    const upsideDown = check({ a: '', b: '', c: '' }, table, architectureWith(['libs/c   top', 'libs/a   middle', 'libs/b   bottom']));
    assert.equal(upsideDown.status, 1);
    assert.match(upsideDown.stderr, /shows libs\/a above libs\/b, which imports it/);
  });

  it("fails a README layout table without a row for every lib", () => {
    const readme = ['Layout:', '', '| folder | owns |', '|---|---|', '| `libs/a` | x |', '| `libs/c` | x |', ''].join('\n');
    const result = check({ a: '', b: '', c: '' }, table, undefined, readme);
    assert.equal(result.status, 1);
    assert.match(result.stderr, /README\.md's layout table \("\| folder \| owns \|"\) has no row for libs\/b/);
    const complete = check({ a: '', b: '', c: '' }, table, undefined, readme.replace("| `libs/c` | x |", "| `libs/b` | x |\n| `libs/c` | x |"));
    assert.equal(complete.status, 0, complete.stderr);
  });

  it('passes this repository', () => {
    const run = spawnSync(process.execPath, [script, '--root', REPO_ROOT], { encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
  });
});
