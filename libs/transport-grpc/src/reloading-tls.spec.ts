import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { TlsFileWatcher, describeRejectedTls } from './reloading-tls';

// Real files in a temporary directory; the watcher is generic over what it loads, so a JSON file stands in for
// a PEM pair (readTlsPair's checks are covered by the gateway-tls and node-tls end-to-end tests).
const dir = mkdtempSync(path.join(tmpdir(), 'infergraph-tls-watch-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const INTERVAL_MS = 10;
let serial = 0;

/** A file holding `value` whose modification time is `serial` seconds past a fixed start, so every write is a change. */
function write(file: string, value: string): void {
  writeFileSync(file, value);
  serial += 1;
  const t = 1_700_000_000 + serial;
  utimesSync(file, t, t);
}

function watched(name: string): { file: string; watcher: TlsFileWatcher<number>; changed: number[]; rejected: string[]; stop: () => void } {
  const file = path.join(dir, name);
  write(file, '1');
  const load = (): number => {
    const n: unknown = JSON.parse(readFileSync(file, 'utf8'));
    if (typeof n !== 'number') throw new Error(`${name} holds no number`);
    return n;
  };
  const watcher = new TlsFileWatcher([file], load, INTERVAL_MS);
  const changed: number[] = [];
  const rejected: string[] = [];
  const stop = watcher.subscribe({ changed: (v) => changed.push(v), rejected: (why) => rejected.push(why) });
  return { file, watcher, changed, rejected, stop };
}

/** Enough intervals for several checks. */
const ticks = (n: number): Promise<void> => sleep(INTERVAL_MS * n);

describe('TlsFileWatcher', () => {
  it('hands a changed value that loads to its subscribers, and keeps the current one when the change does not load', async () => {
    const w = watched('pair-a.json');
    try {
      assert.equal(w.watcher.current, 1);
      write(w.file, '2');
      await ticks(5);
      assert.deepEqual(w.changed, [2]);
      assert.equal(w.watcher.current, 2);
      write(w.file, '"half written"');
      await ticks(5);
      assert.equal(w.watcher.current, 2, 'a change that does not load keeps the current value');
      assert.equal(w.rejected.length, 1, `told once per change, got ${JSON.stringify(w.rejected)}`);
      assert.match(w.rejected[0] ?? '', /pair-a\.json holds no number/);
    } finally {
      w.stop();
    }
  });

  it('reports files that cannot be read once while they stay missing, and again after they came back and went', async () => {
    const w = watched('pair-b.json');
    try {
      rmSync(w.file);
      await ticks(8);
      assert.equal(w.rejected.length, 1, `one report while missing, got ${w.rejected.length}: ${JSON.stringify(w.rejected)}`);
      assert.match(w.rejected[0] ?? '', /^files unreadable: .*ENOENT/);
      assert.equal(w.watcher.current, 1);
      write(w.file, '3');
      await ticks(5);
      assert.deepEqual(w.changed, [3], 'restored files are loaded');
      rmSync(w.file);
      await ticks(5);
      assert.equal(w.rejected.length, 2, 'missing again is a new state, reported again');
    } finally {
      w.stop();
    }
  });
});

describe('describeRejectedTls', () => {
  it('names the port, the reason, and that the current certificate stays', () => {
    assert.equal(describeRejectedTls('the gRPC port', 'key values mismatch'), 'the changed TLS files of the gRPC port do not load (key values mismatch); serving the current certificate');
  });
});
