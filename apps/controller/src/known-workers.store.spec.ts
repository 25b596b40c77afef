import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { KnownWorkersStore } from './known-workers.store';

// A real temporary directory: the store's file handling (atomic rewrite, refusing bad content) is the logic.

describe('KnownWorkersStore', () => {
  const root = mkdtempSync(path.join(tmpdir(), 'infergraph-known-workers-'));
  after(() => rmSync(root, { recursive: true, force: true }));
  const fresh = (name: string): string => path.join(root, name);

  it('gives back the ids it saved, sorted, and knows nobody on a first start', () => {
    const dir = fresh('a');
    const warnings: string[] = [];
    assert.deepEqual([...new KnownWorkersStore(dir).load((m) => warnings.push(m))], []);
    new KnownWorkersStore(dir).save(['w-b', 'w-a'], (m) => warnings.push(m));
    assert.deepEqual([...new KnownWorkersStore(dir).load((m) => warnings.push(m))], ['w-a', 'w-b']);
    assert.deepEqual(warnings, []);
    assert.deepEqual(readdirSync(dir), ['workers.json'], 'no temporary is left beside the file');
  });

  it('rewrites the file only when the set changes', () => {
    const dir = fresh('b');
    const store = new KnownWorkersStore(dir);
    store.save(['w-a'], assert.fail);
    const first = statSync(path.join(dir, 'workers.json')).ino;
    store.save(['w-a'], assert.fail);
    assert.equal(statSync(path.join(dir, 'workers.json')).ino, first, 'the same set is not written again');
    store.save([], assert.fail);
    assert.deepEqual(JSON.parse(readFileSync(path.join(dir, 'workers.json'), 'utf8')), { workers: [] });
  });

  for (const [name, content, reason] of [
    ['not JSON', '{"workers": [', /not JSON/],
    ['a wrong shape', '{"workers": "w-a"}', /workers: /],
    ['empty ids', '{"workers": [""]}', /workers\.0: /],
  ] as const) {
    it(`treats a file with ${name} as knowing nobody and says why`, () => {
      const dir = fresh(name.replace(/\W/g, '-'));
      new KnownWorkersStore(dir).save([], assert.fail);
      writeFileSync(path.join(dir, 'workers.json'), content);
      const warnings: string[] = [];
      assert.deepEqual([...new KnownWorkersStore(dir).load((m) => warnings.push(m))], []);
      assert.equal(warnings.length, 1);
      assert.match(warnings[0] as string, reason);
      assert.match(warnings[0] as string, /waiting the whole sync window/);
    });
  }

  it('reports a directory it cannot write instead of throwing', () => {
    const file = fresh('a-file');
    writeFileSync(file, 'x');
    const warnings: string[] = [];
    new KnownWorkersStore(path.join(file, 'state')).save(['w-a'], (m) => warnings.push(m));
    assert.equal(warnings.length, 1);
    assert.match(warnings[0] as string, /cannot record the live workers/);
  });
});
