import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { KnownWorkersStore } from './known-workers.store';

// A real temporary directory: the store's file handling (atomic rewrite, refusing bad content) is the logic.

describe('KnownWorkersStore', () => {
  const root = mkdtempSync(path.join(tmpdir(), 'infergraph-known-workers-'));
  after(() => rmSync(root, { recursive: true, force: true }));
  const fresh = (name: string): string => path.join(root, name);

  it('gives back the ids it saved, sorted, and knows nobody on a first start', async () => {
    const dir = fresh('a');
    const warnings: string[] = [];
    assert.deepEqual([...new KnownWorkersStore(dir).load((m) => warnings.push(m))], []);
    await new KnownWorkersStore(dir).save(['w-b', 'w-a'], (m) => warnings.push(m));
    assert.deepEqual([...new KnownWorkersStore(dir).load((m) => warnings.push(m))], ['w-a', 'w-b']);
    assert.deepEqual(warnings, []);
    assert.deepEqual(readdirSync(dir), ['workers.json'], 'no temporary is left beside the file');
  });

  it('rewrites the file only when the set changes', async () => {
    const dir = fresh('b');
    const store = new KnownWorkersStore(dir);
    await store.save(['w-a'], assert.fail);
    const first = statSync(path.join(dir, 'workers.json')).ino;
    await store.save(['w-a'], assert.fail);
    assert.equal(statSync(path.join(dir, 'workers.json')).ino, first, 'the same set is not written again');
    await store.save([], assert.fail);
    assert.deepEqual(JSON.parse(readFileSync(path.join(dir, 'workers.json'), 'utf8')), { workers: [] });
  });

  it('writes off the event loop, one write at a time, the last set asked for last', async () => {
    const dir = fresh('burst');
    mkdirSync(dir);
    const store = new KnownWorkersStore(dir);
    const saves = [['w-a'], ['w-a', 'w-b'], ['w-c', 'w-b'], ['w-c']].map((ids) => store.save(ids, assert.fail));
    // Nothing was written on the caller's turn: the file appears only once the writes ran.
    assert.deepEqual(readdirSync(dir, { withFileTypes: true }).filter((e) => e.name === 'workers.json'), []);
    await Promise.all(saves);
    assert.deepEqual(JSON.parse(readFileSync(path.join(dir, 'workers.json'), 'utf8')), { workers: ['w-c'] });
    assert.deepEqual([...new KnownWorkersStore(dir).load(assert.fail)], ['w-c']);
    assert.deepEqual(readdirSync(dir), ['workers.json'], 'no temporary is left beside the file');
  });

  for (const [name, content, reason] of [
    ['not JSON', '{"workers": [', /not JSON/],
    ['a wrong shape', '{"workers": "w-a"}', /workers: /],
    ['empty ids', '{"workers": [""]}', /workers\.0: /],
  ] as const) {
    it(`treats a file with ${name} as knowing nobody and says why`, async () => {
      const dir = fresh(name.replace(/\W/g, '-'));
      await new KnownWorkersStore(dir).save([], assert.fail);
      writeFileSync(path.join(dir, 'workers.json'), content);
      const warnings: string[] = [];
      assert.deepEqual([...new KnownWorkersStore(dir).load((m) => warnings.push(m))], []);
      assert.equal(warnings.length, 1);
      assert.match(warnings[0] as string, reason);
      assert.match(warnings[0] as string, /waiting the whole sync window/);
    });
  }

  it('reports a directory it cannot write instead of throwing, and tries again on the next save', async () => {
    const file = fresh('a-file');
    writeFileSync(file, 'x');
    const warnings: string[] = [];
    const store = new KnownWorkersStore(path.join(file, 'state'));
    await store.save(['w-a'], (m) => warnings.push(m));
    assert.equal(warnings.length, 1);
    assert.match(warnings[0] as string, /cannot record the live workers/);
    await store.save(['w-a'], (m) => warnings.push(m));
    assert.equal(warnings.length, 2, 'the set was never saved, so the next save writes again');
  });
});
