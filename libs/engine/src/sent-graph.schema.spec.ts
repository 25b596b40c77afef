import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { MAX_GRAPH_BYTES } from '@infergraph/spec';
import { checkSentGraphs } from './sent-graph.schema';

// Unit test of the receiver's check of graph documents in control messages (pure: no files, no network).

const sha = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');
const doc = 'apiVersion: infergraph.dev/v1alpha1\nkind: InferenceGraph\nmetadata: {name: iris}\n';
const good = { name: 'iris', file: '/graphs/iris.yaml', content_hash: sha(doc), source: doc };

describe('checkSentGraphs', () => {
  it('accepts a graph whose document hashes to its content hash', () => {
    assert.deepEqual(checkSentGraphs([good]), { graphs: [{ name: 'iris', file: '/graphs/iris.yaml', contentHash: sha(doc), source: doc }], refused: [] });
  });

  it('accepts a version named by its graph id ("<name>@<version>")', () => {
    assert.deepEqual(checkSentGraphs([{ ...good, name: 'iris@2' }]).graphs.map((g) => g.name), ['iris@2']);
  });

  const big = `#${'x'.repeat(MAX_GRAPH_BYTES)}`;
  const cases: { name: string; message: Record<string, unknown>; refusedName: string | undefined; problem: RegExp }[] = [
    { name: 'a document that does not match its hash', message: { ...good, source: `${doc}# edited\n` }, refusedName: 'iris', problem: /graph "iris".*graphs\[0\]\.source has sha256 [0-9a-f]{64}, not the content_hash/ },
    { name: 'no document (an older controller)', message: { ...good, source: '' }, refusedName: 'iris', problem: /graphs\[0\]\.source: is empty: the controller sent no graph document/ },
    { name: 'a document over the size limit', message: { ...good, source: big, content_hash: sha(big) }, refusedName: 'iris', problem: new RegExp(`graphs\\[0\\]\\.source: must be at most ${MAX_GRAPH_BYTES} bytes`) },
    { name: 'a name that is not a DNS label', message: { ...good, name: '../etc' }, refusedName: undefined, problem: /graph #0 .*graphs\[0\]\.name/ },
    { name: 'a graph id naming version "1" (its id is the bare name)', message: { ...good, name: 'iris@1' }, refusedName: undefined, problem: /graph #0 .*graphs\[0\]\.name/ },
    { name: 'a graph id whose version has a "/"', message: { ...good, name: 'iris@../x' }, refusedName: undefined, problem: /graph #0 .*graphs\[0\]\.name/ },
    { name: 'a hash that is not sha256 hex', message: { ...good, content_hash: 'abc' }, refusedName: 'iris', problem: /graphs\[0\]\.content_hash: must be a sha256 in hex/ },
    { name: 'a file with a NUL', message: { ...good, file: '/graphs/\0x' }, refusedName: 'iris', problem: /graphs\[0\]\.file: must not contain NUL/ },
  ];
  for (const c of cases) {
    it(`refuses ${c.name}, naming the field, and keeps the others`, () => {
      const other = { ...good, name: 'other' };
      const result = checkSentGraphs([c.message as never, other]);
      assert.deepEqual(result.graphs.map((g) => g.name), ['other']);
      assert.equal(result.refused.length, 1);
      assert.equal(result.refused[0]?.name, c.refusedName);
      assert.match(result.refused[0]?.problem ?? '', c.problem);
    });
  }
});
