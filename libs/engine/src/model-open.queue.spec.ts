import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { openInTurn } from './model-open.queue';

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
