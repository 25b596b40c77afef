import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MAX_GRAPH_BYTES, MAX_MAPPING_KEYS, screenGraphSource } from './graph-source.guard';

// Pure-logic unit test: documents are built in memory; each hostile one must be refused fast.

const BILLION_LAUGHS = [
  'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
  ...'bcdefghi'.split('').map((k, i) => `${k}: &${k} [${Array(9).fill(`*${'abcdefghi'[i]}`).join(',')}]`),
].join('\n');

const problemOf = (text: string | Uint8Array): string | undefined => {
  const out = screenGraphSource(typeof text === 'string' ? Buffer.from(text) : text);
  return 'problem' in out ? out.problem : undefined;
};

describe('screenGraphSource', () => {
  const refused: { name: string; input: () => string | Uint8Array; problem: RegExp }[] = [
    { name: 'a "billion laughs" alias bomb', input: () => BILLION_LAUGHS, problem: /YAML aliases expand beyond 100 nodes/ },
    { name: 'a document of aliases', input: () => 'a: &a x\n' + Array.from({ length: 20_000 }, (_, i) => `k${i}: *a`).join('\n'), problem: /more than 100 YAML aliases/ },
    { name: 'more aliases than allowed', input: () => 'a: &a x\nb: [' + Array(101).fill('*a').join(', ') + ']', problem: /more than 100 YAML aliases/ },
    { name: 'a file over the size limit', input: () => '#'.repeat(MAX_GRAPH_BYTES + 1), problem: new RegExp(`is ${MAX_GRAPH_BYTES + 1} bytes; a graph document may be at most ${MAX_GRAPH_BYTES} bytes`) },
    { name: 'binary with a NUL byte', input: () => Buffer.from([0x61, 0x3a, 0x00, 0x01]), problem: /is binary \(a NUL byte at offset 2\)/ },
    { name: 'bytes that are not UTF-8', input: () => Buffer.from([0x61, 0x3a, 0x20, 0xff, 0xfe]), problem: /is not UTF-8 text/ },
    { name: 'a million [', input: () => '['.repeat(MAX_GRAPH_BYTES), problem: /nests collections more than 64 levels deep/ },
    { name: 'deep block sequences', input: () => '- '.repeat(1000) + 'x', problem: /nests collections more than 64 levels deep/ },
    { name: 'a mapping with too many keys', input: () => Array.from({ length: MAX_MAPPING_KEYS + 1 }, (_, i) => `k${i}: 1`).join('\n'), problem: /has a mapping with 257 keys/ },
    { name: 'a flow mapping with too many keys', input: () => `a: {${Array.from({ length: MAX_MAPPING_KEYS + 1 }, (_, i) => `k${i}: 1`).join(', ')}}`, problem: /has a mapping with 257 keys/ },
  ];
  for (const c of refused) {
    it(`refuses ${c.name} within half a second`, () => {
      const started = performance.now();
      assert.match(problemOf(c.input()) ?? 'accepted', c.problem);
      const ms = performance.now() - started;
      assert.ok(ms < 500, `${ms.toFixed(0)} ms`);
    });
  }

  it('accepts a graph with a few aliases, comments, block scalars and long number lists', () => {
    const text = [
      'apiVersion: infergraph.dev/v1alpha1 # header',
      'metadata: {name: ok, annotations: {note: &n "x"}}',
      'spec:',
      '  description: |',
      '    *not an alias* [not a flow',
      '  again: *n',
      `  mean: [${Array.from({ length: 5_000 }, (_, i) => i / 7).join(', ')}]`,
    ].join('\n');
    const out = screenGraphSource(Buffer.from(text));
    assert.ok('text' in out, JSON.stringify(out));
    assert.equal(out.text, text);
  });
});
