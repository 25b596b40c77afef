import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { PostedGraphStore } from './posted-graph.store';

// Unit test against the real filesystem: a fresh directory under the OS temp dir per test.

describe('PostedGraphStore', () => {
  const roots: string[] = [];
  const fresh = (): string => {
    const root = mkdtempSync(path.join(tmpdir(), 'infergraph-store-'));
    roots.push(root);
    return root;
  };
  after(() => {
    for (const root of roots) rmSync(root, { recursive: true, force: true });
  });

  it('creates <STATE_DIR>/graphs on open, nested directories included', () => {
    const root = fresh();
    const store = new PostedGraphStore(path.join(root, 'a', 'b'));
    store.open();
    assert.equal(store.dir, path.join(root, 'a', 'b', 'graphs'));
    assert.deepEqual(store.files(), []);
  });

  it('saves a graph as <name>.yaml, replaces it whole, and lists it', async () => {
    const store = new PostedGraphStore(fresh());
    store.open();
    const file = await store.save('iris', Buffer.from('first'));
    assert.equal(file, path.join(store.dir, 'iris.yaml'));
    await store.save('iris', Buffer.from('second, longer than the first'));
    assert.equal(readFileSync(file, 'utf8'), 'second, longer than the first');
    assert.deepEqual(store.files(), [file]);
  });

  it('leaves no temporary file behind a save', async () => {
    const store = new PostedGraphStore(fresh());
    store.open();
    await store.save('a', Buffer.from('x'));
    await store.save('a', Buffer.from('y'));
    assert.deepEqual(readdirSync(store.dir), ['a.yaml']);
  });

  it('removes a stored graph, and removing an absent one is no error', async () => {
    const store = new PostedGraphStore(fresh());
    store.open();
    const file = await store.save('gone', Buffer.from('x'));
    store.remove('gone');
    assert.equal(existsSync(file), false);
    store.remove('gone');
  });

  it('removes the temporaries a crash left, on open, and never lists them', () => {
    const root = fresh();
    mkdirSync(path.join(root, 'graphs'));
    writeFileSync(path.join(root, 'graphs', '.iris.abc123.tmp'), 'half a graph');
    writeFileSync(path.join(root, 'graphs', 'kept.yaml'), 'a graph');
    const store = new PostedGraphStore(root);
    assert.deepEqual(store.files(), [path.join(root, 'graphs', 'kept.yaml')]);
    store.open();
    assert.deepEqual(readdirSync(store.dir), ['kept.yaml']);
  });

  it('refuses a name that is not a DNS-1123 label, so no write leaves its directory', async () => {
    const store = new PostedGraphStore(fresh());
    store.open();
    await assert.rejects(store.save('../escape', Buffer.from('x')), /"\.\.\/escape" is not a graph name/);
    assert.throws(() => store.remove('a/b'), /not a graph name/);
  });

  it('keeps the old graph when the new one cannot be written', { skip: process.getuid?.() === 0 ? 'root writes anywhere' : false }, async () => {
    const store = new PostedGraphStore(fresh());
    store.open();
    const file = await store.save('kept', Buffer.from('old'));
    chmodSync(store.dir, 0o555);
    try {
      await assert.rejects(store.save('kept', Buffer.from('new')), /cannot store graph "kept" in .*: EACCES/);
    } finally {
      chmodSync(store.dir, 0o755);
    }
    assert.equal(readFileSync(file, 'utf8'), 'old');
  });

  it('names STATE_DIR when its directory cannot be created', () => {
    const root = fresh();
    writeFileSync(path.join(root, 'file'), 'not a directory');
    const store = new PostedGraphStore(path.join(root, 'file'));
    assert.throws(() => store.open(), /^Error: STATE_DIR: cannot keep posted graphs in .*file\/graphs: .*; set STATE_DIR to a writable directory$/);
  });
});
