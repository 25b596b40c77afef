import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { absolutizeGraphPaths, customModuleFields, parseGraphSource, screenGraphSource, type ParsedGraphSource } from '@infergraph/spec';
import { describeThrown, fuzzParameters, thrownBy } from '../../support/fuzz';
import { repoPath } from '../../support/repo';

// Property-based fuzzing of the graph YAML parser and validator (`parseGraphSource`, behind every graph
// file, posted graph and the controller's catalogue) and of the byte screen in front of it, in memory.
// Inputs: arbitrary text, soups of YAML syntax, the repository's graphs after line edits, generated graph
// objects with hostile values, alias bombs and deep nesting. The oracle: a graph, or diagnostics that each
// name a line, a column, a path and a message; never an exception, never seconds of parsing.

/** Every graph of the repository and its fixtures: valid, broken, with routers, joins and detectors. */
const SEED_GRAPHS: readonly string[] = ['graphs', 'graphs/kafka', ...readdirSync(repoPath('test', 'fixtures')).filter((d) => d.startsWith('graphs')).map((d) => `test/fixtures/${d}`)]
  .flatMap((dir) => readdirSync(repoPath(dir)).filter((f) => f.endsWith('.yaml')).map((f) => path.join(dir, f)))
  .map((file) => readFileSync(repoPath(file), 'utf8'));

/** Slowest acceptable parse. The guard keeps hostile documents to milliseconds; this catches blow-ups, not jitter. */
const MAX_PARSE_MS = 2000;

function assertParsesOrDiagnoses(text: string): ParsedGraphSource {
  assertPostedGraphSteps(text);
  const started = performance.now();
  let parsed: ParsedGraphSource | undefined;
  const err = thrownBy(() => (parsed = parseGraphSource(text, 'fuzzed.yaml')));
  assert.equal(err, undefined, `parseGraphSource threw: ${describeThrown(err)}`);
  const ms = performance.now() - started;
  assert.ok(ms < MAX_PARSE_MS, `parsing took ${ms.toFixed(0)} ms`);
  const result = parsed as ParsedGraphSource;
  assert.ok((result.graph === undefined) === result.diagnostics.some((d) => d.severity !== 'note'), 'a graph comes exactly when nothing is wrong');
  for (const d of result.diagnostics) {
    assert.ok(Number.isInteger(d.line) && d.line >= 1 && Number.isInteger(d.column) && d.column >= 1, `diagnostic at ${d.line}:${d.column}`);
    assert.ok(d.path.length > 0 && d.message.length > 0, JSON.stringify(d));
  }
  return result;
}

/**
 * What the controller does with a posted document before validating it: screen the bytes, list its custom
 * module fields, make its paths absolute. None may throw; the rewrite changes only path values.
 */
function assertPostedGraphSteps(text: string): void {
  const screened = screenGraphSource(Buffer.from(text));
  if (!('text' in screened)) return;
  const err = thrownBy(() => {
    const fields = customModuleFields(screened.text);
    assert.ok(fields.every((f) => /^spec\.nodes\[\d+\]\.(transformer|combiner)\.module$/.test(f)), fields.join(', '));
    const absolute = absolutizeGraphPaths(screened.text, '/srv/graphs');
    for (const r of absolute.rewritten) assert.ok(path.isAbsolute(r.to), JSON.stringify(r)); // confined to the roots later, by validation
    if (absolute.rewritten.length === 0) assert.equal(absolute.text, screened.text);
  });
  assert.equal(err, undefined, `a posted-graph step threw: ${describeThrown(err)}`);
}

/** Pieces of YAML syntax, and the words and values graphs use, to build documents that almost parse. */
const YAML_TOKENS = [
  '\n', '\n', '\n', '  ', '  ', '    ', '- ', '- ', ': ', ': ', '[', ']', '{', '}', ', ', '? ', '|\n', '>-\n', '# c', '"', "'", '\\', '---\n', '...\n',
  '%YAML 1.2\n', '%TAG ! tag:x,2000:\n', '\t', '&a ', '&b ', '*a', '*b', '*missing', '<<: *a', '<<: [*a, *b]', '!!str ', '!!binary ', '!!js/function ', '!!set ',
  '!custom ', '.nan', '.inf', '-.inf', '1e999', '-1', '0x1F', '0o17', '9007199254740993', '~', 'null', 'true', 'yes', '2001-01-01', '\u2028', '\ufeff', '\u0085',
  'apiVersion: infergraph.dev/v1alpha1', 'kind: InferenceGraph', 'metadata', 'name', 'spec', 'inputs', 'nodes', 'outputs', 'type', 'model', 'router', 'combiner',
  'transformer', 'outlier', 'drift', 'uri', 'shape', 'datatype', 'FP32', 'features', 'graph.inputs', 'a.outputs.b', 'when', "'params.x == 1'", 'routes', 'to',
];

/** Scalars to drop into a valid graph in place of one of its values. */
const HOSTILE_VALUES = [
  '.nan', '.inf', '-.inf', '-1', '-9223372036854775809', '1e400', '0', "''", '~', '[]', '{}', '[[[[1]]]]', '*nowhere', '&x 1', '!!binary aGk=', '"\\u0000"',
  '"é€😀\u202e"', `"${'x'.repeat(5000)}"`, '[-1, -1, -1]', '[1.5, 2]', '[9007199254740993]', '{model: {uri: /etc/passwd}}', "'../../../etc/x.onnx'",
  "'params.x == (('", "'!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!1'", 'graph.inputs.features', 'x.outputs.', '__proto__', 'constructor',
];

/** Line edits of a document: delete, duplicate, swap, re-indent, or replace the value after a colon. */
function editedArb(text: string): fc.Arbitrary<string> {
  const lines = text.split('\n');
  const line = fc.nat({ max: Math.max(0, lines.length - 1) });
  const edit = fc.oneof(
    fc.record({ kind: fc.constant('delete' as const), line }),
    fc.record({ kind: fc.constant('duplicate' as const), line }),
    fc.record({ kind: fc.constant('swap' as const), line, other: line }),
    fc.record({ kind: fc.constant('indent' as const), line, by: fc.integer({ min: -4, max: 4 }) }),
    fc.record({ kind: fc.constant('value' as const), line, value: fc.oneof(fc.constantFrom(...HOSTILE_VALUES), fc.string({ unit: 'grapheme', maxLength: 12 })) }),
    fc.record({ kind: fc.constant('insert' as const), line, value: fc.array(fc.constantFrom(...YAML_TOKENS), { maxLength: 6 }).map((t) => t.join('')) }),
  );
  return fc.array(edit, { minLength: 1, maxLength: 5 }).map((edits) => {
    const out = [...lines];
    for (const e of edits) {
      const at = Math.min(e.line, Math.max(0, out.length - 1));
      const current = out[at] ?? '';
      switch (e.kind) {
        case 'delete':
          out.splice(at, 1);
          break;
        case 'duplicate':
          out.splice(at, 0, current);
          break;
        case 'swap': {
          const other = Math.min(e.other, Math.max(0, out.length - 1));
          out[at] = out[other] ?? '';
          out[other] = current;
          break;
        }
        case 'indent':
          out[at] = e.by >= 0 ? ' '.repeat(e.by) + current : current.replace(new RegExp(`^ {0,${-e.by}}`), '');
          break;
        case 'value': {
          const colon = current.indexOf(': ');
          out[at] = colon >= 0 ? `${current.slice(0, colon + 2)}${e.value}` : `${current}${e.value}`;
          break;
        }
        case 'insert':
          out.splice(at, 0, e.value);
          break;
      }
    }
    return out.join('\n');
  });
}

/** Values of a generated graph's fields: right ones, and NaN, Infinity, huge, negative, nested. */
const fieldValueArb: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom('features', 'FP32', 'INT64', 'graph.inputs', 'graph.inputs.features', 'a.outputs.y', 'm.onnx', 'model', 'router', 'combiner', 'transformer') },
  { weight: 2, arbitrary: fc.constantFrom(NaN, Infinity, -Infinity, -1, 0, 2 ** 53 + 2, 1e308, -0, 1.5) },
  { weight: 2, arbitrary: fc.array(fc.oneof(fc.integer({ min: -2, max: 8 }), fc.constantFrom(NaN, 2 ** 64, 'x')), { maxLength: 4 }) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 10 }) },
);

const nodeArb = fc.record(
  {
    name: fc.oneof(fc.constantFrom('a', 'b', 'c', 'graph', ''), fc.string({ maxLength: 6 })),
    type: fc.oneof(fc.constantFrom('model', 'transformer', 'router', 'combiner', 'outlier', 'drift'), fc.string({ maxLength: 6 })),
    inputs: fc.array(fc.constantFrom('graph.inputs', 'graph.inputs.features', 'a', 'b.outputs.y', 'c.outputs', 'nowhere.outputs.z', ''), { maxLength: 3 }),
    model: fc.record({ uri: fieldValueArb, sha256: fieldValueArb, batching: fc.record({ maxBatchSize: fieldValueArb, maxQueueDelayMicros: fieldValueArb }) }, { requiredKeys: [] }),
    router: fc.record(
      {
        strategy: fc.constantFrom('weighted', 'sticky', 'conditional', 'random'),
        routes: fc.array(fc.record({ name: fc.constantFrom('r1', 'r2', ''), to: fc.array(fc.constantFrom('a', 'b', 'c'), { maxLength: 2 }), weight: fieldValueArb }, { requiredKeys: ['name'] }), { maxLength: 3 }),
        rules: fc.array(fc.record({ when: fc.oneof(fc.constantFrom('params.x == 1', 'tensors.t > 0.5', '((', ''), fc.string({ maxLength: 12 })), route: fc.constantFrom('r1', 'r2') }), { maxLength: 2 }),
        default: fc.constantFrom('r1', 'r2', 'r3'),
      },
      { requiredKeys: ['strategy'] },
    ),
    combiner: fc.record({ strategy: fieldValueArb, weights: fieldValueArb, axis: fieldValueArb, join: fieldValueArb }, { requiredKeys: [] }),
    transformer: fc.record({ steps: fc.array(fc.record({ op: fc.constantFrom('standardize', 'reshape', 'cast', 'argmax', 'nope'), tensor: fieldValueArb, shape: fieldValueArb, mean: fieldValueArb, std: fieldValueArb }), { maxLength: 2 }) }, { requiredKeys: [] }),
    tensorMap: fc.dictionary(fc.string({ maxLength: 5 }), fc.string({ maxLength: 5 }), { maxKeys: 2 }),
  },
  { requiredKeys: ['name', 'type'] },
);

const graphObjectArb = fc.record(
  {
    apiVersion: fc.constantFrom('infergraph.dev/v1alpha1', 'v2', 1),
    kind: fc.constantFrom('InferenceGraph', 'Graph'),
    metadata: fc.record({ name: fc.oneof(fc.constantFrom('g', 'Bad Name', ''), fc.string({ maxLength: 8 })), labels: fc.dictionary(fc.string({ maxLength: 4 }), fieldValueArb, { maxKeys: 2 }) }, { requiredKeys: [] }),
    spec: fc.record(
      {
        inputs: fc.array(fc.record({ name: fieldValueArb, datatype: fieldValueArb, shape: fieldValueArb }, { requiredKeys: [] }), { maxLength: 3 }),
        nodes: fc.array(nodeArb, { maxLength: 4 }),
        outputs: fc.array(fc.oneof(fc.constantFrom('a.outputs.y', 'b.outputs', 'graph.inputs.features', 'x'), fc.record({ name: fieldValueArb, source: fieldValueArb })), { maxLength: 3 }),
      },
      { requiredKeys: [] },
    ),
  },
  { requiredKeys: [] },
);

describe('fuzzing the graph YAML parser', () => {
  it('screens arbitrary bytes to text or a problem, without throwing', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        const out = screenGraphSource(bytes);
        assert.ok('text' in out || out.problem.length > 0);
      }),
      fuzzParameters(1000),
    );
  });

  it('parses or diagnoses arbitrary text', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (text) => void assertParsesOrDiagnoses(text)),
      fuzzParameters(300),
    );
  });

  it('parses or diagnoses soups of YAML syntax and graph words', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...YAML_TOKENS), { maxLength: 60 }), (tokens) => void assertParsesOrDiagnoses(tokens.join(''))),
      fuzzParameters(300),
    );
  });

  it("parses or diagnoses the repository's graphs after line edits", () => {
    fc.assert(
      fc.property(fc.constantFrom(...SEED_GRAPHS).chain(editedArb), (text) => void assertParsesOrDiagnoses(text)),
      fuzzParameters(150),
    );
  });

  it('parses or diagnoses generated graphs with NaN, Infinity, negative and huge values in every field', () => {
    fc.assert(
      fc.property(graphObjectArb, (graph) => void assertParsesOrDiagnoses(stringify(graph))),
      fuzzParameters(150),
    );
  });

  it('refuses alias bombs of any depth and fan-out quickly, naming the aliases', () => {
    fc.assert(
      fc.property(fc.integer({ min: 3, max: 12 }), fc.integer({ min: 3, max: 12 }), fc.boolean(), (levels, fanOut, merge) => {
        const lines = ['apiVersion: infergraph.dev/v1alpha1', 'spec:', `  l0: &l0 [${Array(fanOut).fill('"lol"').join(', ')}]`];
        for (let l = 1; l < levels; l++) {
          lines.push(merge ? `  l${l}: &l${l} {${Array.from({ length: fanOut }, (_, k) => `k${k}: *l${l - 1}`).join(', ')}}` : `  l${l}: &l${l} [${Array(fanOut).fill(`*l${l - 1}`).join(', ')}]`);
        }
        const parsed = assertParsesOrDiagnoses(lines.join('\n'));
        assert.equal(parsed.graph, undefined);
        // Small ones expand to fewer nodes than the limit (100); from a few thousand on, all are refused.
        if (fanOut ** levels >= 5000) assert.ok(parsed.diagnostics.some((d) => /alias/i.test(d.message)), JSON.stringify(parsed.diagnostics));
      }),
      fuzzParameters(30),
    );
  });

  it('refuses deep nesting of any kind quickly', () => {
    const nestingArb = fc.record({
      depth: fc.integer({ min: 60, max: 20_000 }),
      style: fc.constantFrom('flow-seq', 'flow-map', 'block-seq', 'block-map', 'mixed'),
    });
    fc.assert(
      fc.property(nestingArb, ({ depth, style }) => {
        let text: string;
        if (style === 'flow-seq') text = `spec: ${'['.repeat(depth)}1${']'.repeat(depth)}`;
        else if (style === 'flow-map') text = `spec: ${'{a: '.repeat(depth)}1${'}'.repeat(depth)}`;
        else if (style === 'block-seq') text = `spec:\n${Array.from({ length: Math.min(depth, 2000) }, (_, i) => `${' '.repeat(i * 2)}- `).join('\n')}x`;
        else if (style === 'block-map') text = `spec:\n${Array.from({ length: Math.min(depth, 2000) }, (_, i) => `${' '.repeat(i + 1)}k${i}:`).join('\n')} x`;
        else text = `spec: ${'[{a: '.repeat(depth >> 1)}1${'}]'.repeat(depth >> 1)}`;
        const parsed = assertParsesOrDiagnoses(text);
        assert.equal(parsed.graph, undefined);
      }),
      fuzzParameters(20),
    );
  });
});
