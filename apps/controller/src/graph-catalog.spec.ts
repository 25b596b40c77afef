import assert from 'node:assert/strict';
import { MAX_GRAPH_BYTES } from '@infergraph/spec';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { graphFilesIn, readGraphFile, readGraphSource } from './graph-catalog';

// Unit test against the real filesystem: hostile files in a fresh temp directory; no model is opened.

describe('readGraphFile', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'infergraph-catalog-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const write = (name: string, content: string | Uint8Array): string => {
    const file = path.join(dir, name);
    writeFileSync(file, content);
    return file;
  };

  const hostile: { name: string; make: () => string; error: RegExp }[] = [
    {
      name: 'an alias bomb',
      make: () =>
        write('bomb.yaml', ['metadata: {name: bomb}', 'a: &a [x,x,x,x,x,x,x,x,x]', ...'bcdefgh'.split('').map((k, i) => `${k}: &${k} [${Array(9).fill(`*${'abcdefgh'[i]}`).join(',')}]`)].join('\n')),
      error: /^bomb\.yaml YAML aliases expand beyond 100 nodes/,
    },
    { name: 'binary garbage', make: () => write('garbage.yaml', Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0x00, 0x02])), error: /^garbage\.yaml is binary/ },
    { name: 'a directory named x.yaml', make: () => (mkdirSync(path.join(dir, 'x.yaml')), path.join(dir, 'x.yaml')), error: /^x\.yaml is not a regular file$/ },
    { name: 'a FIFO (reading it would block)', make: () => (execFileSync('mkfifo', [path.join(dir, 'fifo.yaml')]), path.join(dir, 'fifo.yaml')), error: /^fifo\.yaml is not a regular file$/ },
    { name: 'a file over the size limit', make: () => write('big.yaml', `# ${'x'.repeat(MAX_GRAPH_BYTES)}`), error: new RegExp(`^big\\.yaml is ${MAX_GRAPH_BYTES + 2} bytes; a graph file may be at most ${MAX_GRAPH_BYTES} bytes`) },
    { name: 'a missing file', make: () => path.join(dir, 'missing.yaml'), error: /^cannot read missing\.yaml: ENOENT/ },
    { name: 'YAML that is not a graph', make: () => write('plain.yaml', 'hello: world\n'), error: /^plain\.yaml:1:1 hello: unknown field "hello"/ },
  ];
  for (const c of hostile) {
    it(`reports ${c.name} as an error without throwing`, () => {
      const file = c.make();
      const entry = readGraphFile(file, path.basename(file));
      assert.match(entry.error ?? 'no error', c.error);
      assert.deepEqual(entry.demands, []);
    });
  }

  it('reports an unreadable file', { skip: process.getuid?.() === 0 ? 'root reads anything' : false }, () => {
    const file = write('secret.yaml', 'a: 1');
    chmodSync(file, 0);
    assert.match(readGraphFile(file, 'secret.yaml').error ?? '', /^cannot read secret\.yaml: EACCES/);
  });

  it('lists at most 50 problems of a broken file, and says how many more there are', () => {
    const nodes = Array.from({ length: 80 }, (_, i) => `    - {name: n${i}, type: model, inputs: [graph.inputs], bogus: 1, model: {uri: m.onnx}}`).join('\n');
    const text = `apiVersion: infergraph.dev/v1alpha1\nkind: InferenceGraph\nmetadata: {name: many}\nspec:\n  inputs: [{name: x, datatype: FP32, shape: [1]}]\n  nodes:\n${nodes}\n  outputs: [n0.outputs.y]\n`;
    const entry = readGraphSource(Buffer.from(text), path.join(dir, 'many.yaml'), 'many.yaml');
    const lines = (entry.error ?? '').split('\n');
    assert.equal(lines.length, 51);
    assert.match(lines[50] ?? '', /^… and \d+ more problems$/);
    assert.equal(entry.name, 'many');
  });

  it('hashes the bytes it checked', () => {
    const entry = readGraphSource(Buffer.from('abc'), path.join(dir, 'abc.yaml'), 'abc.yaml');
    assert.equal(entry.contentHash, 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });
});

describe('graphFilesIn', () => {
  it('reports a directory it cannot list instead of throwing', () => {
    const missing = path.join(tmpdir(), 'infergraph-no-such-dir-' + process.pid);
    const out = graphFilesIn([missing]);
    assert.deepEqual(out.files, []);
    assert.match(out.problems[0] ?? '', /^cannot list GRAPHS_DIR entry .*: ENOENT/);
  });
});
