import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { BACKGROUND_NICE, BackgroundProcess } from '@infergraph/threads';
import { processRuns } from '../support/processes';
import { until } from '../support/wait';

// Integration: real child processes forked by BackgroundProcess (libs/threads) running
// test/support/threads/echo.process.ts, which answers through serveBackgroundCalls; real signals.

const ECHO = path.join(__dirname, '..', 'support', 'threads', 'echo.process.js');

function echoProcess(idleStopMs?: number): BackgroundProcess<{ value: unknown; pid: number }> {
  return new BackgroundProcess({ file: ECHO, what: 'the echo process', missingHint: '', resultOf: (r) => ({ value: r['value'], pid: r['pid'] as number }), idleStopMs });
}

describe('a background process', () => {
  const started: { stop(): void }[] = [];
  const make = (idleStopMs?: number): BackgroundProcess<{ value: unknown; pid: number }> => {
    const p = echoProcess(idleStopMs);
    started.push(p);
    return p;
  };
  after(() => started.forEach((p) => p.stop()));

  it('answers each call with its own reply, in one child, and rejects a failed call with the child\'s message', async () => {
    const p = make();
    const replies = await Promise.all([1, 2, 3].map((value) => p.call({ kind: 'echo', value })));
    assert.deepEqual(replies.map((r) => r.value), [1, 2, 3]);
    assert.equal(new Set(replies.map((r) => r.pid)).size, 1, 'one child answers every call');
    assert.notEqual(replies[0]?.pid, process.pid);
    await assert.rejects(p.call({ kind: 'fail' }), /asked to fail/);
    assert.equal((await p.call({ kind: 'echo', value: 4 })).value, 4, 'a failed call leaves the child serving');
  });

  it('runs every thread of the child at background priority, though forked from a thread at normal priority', { skip: process.platform !== 'linux' }, async () => {
    const p = make();
    const nice = (await p.call({ kind: 'nice' })).value as number[];
    assert.ok(nice.length >= 5, `the child has its helper threads (${nice.length} threads)`);
    assert.deepEqual([...new Set(nice)], [BACKGROUND_NICE], `every thread of the child at nice ${BACKGROUND_NICE}: ${nice.join(', ')}`);
  });

  it('fails the calls a dying child held, naming why, and starts another on the next call', async () => {
    const p = make();
    const first = (await p.call({ kind: 'echo', value: 'a' })).pid;
    const held = p.call({ kind: 'slow', ms: 30_000 });
    await assert.rejects(p.call({ kind: 'exit' }), /the echo process exited with code 3/);
    await assert.rejects(held, /the echo process exited with code 3/);
    const next = await p.call({ kind: 'echo', value: 'b' });
    assert.equal(next.value, 'b');
    assert.notEqual(next.pid, first, 'a new child answers');
  });

  it('stops a child idle for idleStopMs, and the next call starts another', async () => {
    const p = make(300);
    const first = (await p.call({ kind: 'echo', value: 1 })).pid;
    await until('the idle child stopped', () => Promise.resolve(!processRuns(first)), 10_000);
    assert.equal(p.pid, undefined);
    const second = (await p.call({ kind: 'echo', value: 2 })).pid;
    assert.notEqual(second, first);
  });

  it('rejects calls with a clear error when its script is missing', async () => {
    const p = new BackgroundProcess({ file: path.join(__dirname, 'no-such.process.js'), what: 'the missing process', missingHint: '; a hint', resultOf: () => 0 });
    await assert.rejects(p.call({ kind: 'echo' }), /the missing process .*no-such\.process\.js is missing \(build with npm run build\); a hint/);
  });

  it('leaves with its parent: kill -9 of the parent ends the child', async () => {
    const parent = spawn(process.execPath, [path.join(__dirname, '..', 'support', 'threads', 'parent.process.js')], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    parent.stdout.on('data', (d: Buffer) => (out += d.toString()));
    try {
      await until('the parent reports its child', () => Promise.resolve(/child \d+|failed/.test(out)), 20_000);
      const pid = Number(/child (\d+)/.exec(out)?.[1]);
      assert.ok(pid > 0 && processRuns(pid), `the child runs: ${out}`);
      if (process.platform === 'linux') assert.match(readFileSync(`/proc/${pid}/cmdline`, 'utf8'), /echo\.process\.js/, 'that pid is the echo child');
      parent.kill('SIGKILL');
      await until('the child left with its parent', () => Promise.resolve(!processRuns(pid)), 10_000);
    } finally {
      parent.kill('SIGKILL');
    }
  });
});
