import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createHash } from 'node:crypto';
import { openInTurn, sha256InTurns } from './model-open.queue';

describe('openInTurn', () => {
  it('opens one model at a time, letting I/O and timers run between two opens', async () => {
    const events: string[] = [];
    const open = (name: string) => async (): Promise<string> => {
      events.push(`${name} start`);
      // What another part of the process scheduled while this model opened must run before the next one.
      setImmediate(() => events.push(`turn after ${name}`));
      await Promise.resolve();
      events.push(`${name} end`);
      return name;
    };
    const opened = await Promise.all(['a', 'b', 'c'].map((n) => openInTurn(open(n))));
    assert.deepEqual(opened, ['a', 'b', 'c']);
    assert.deepEqual(events, ['a start', 'a end', 'turn after a', 'b start', 'b end', 'turn after b', 'c start', 'c end']);
  });

  it('goes on with the next open after one that fails', async () => {
    const failed = openInTurn(() => Promise.reject(new Error('broken model')));
    const next = openInTurn(() => Promise.resolve('next'));
    await assert.rejects(failed, /broken model/);
    assert.equal(await next, 'next');
  });
});

describe('sha256InTurns', () => {
  it('gives the SHA-256 of the whole bytes, at every size around the slice', async () => {
    const slice = 256 * 1024;
    for (const size of [0, 1, slice - 1, slice, slice + 1, 3 * slice + 5]) {
      const bytes = new Uint8Array(size).map((_, i) => (i * 31 + 7) & 0xff);
      assert.equal(await sha256InTurns(bytes), createHash('sha256').update(bytes).digest('hex'), `size ${size}`);
    }
  });

  it('lets the event loop turn between slices of a large model', async () => {
    const bytes = new Uint8Array(4 * 256 * 1024);
    let turns = 0;
    const tick = (): void => {
      turns++;
      if (turns < 100) setImmediate(tick);
    };
    setImmediate(tick);
    await sha256InTurns(bytes);
    // Hashing it in one go would have run before any of them.
    assert.ok(turns >= 3, `the loop turned ${turns} times while 4 slices were hashed`);
  });
});
