import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { getPriority } from 'node:os';
import { describe, it } from 'node:test';
import { Worker } from 'node:worker_threads';
import { LOWERED_NICE, lowerPriorityWhile, priorityIsRestorable, threadNiceValues } from '@infergraph/threads';

// Integration: thread priorities on Linux with real threads. lowerPriorityWhile lowers the calling thread for
// a piece of work and restores it after, together with the threads the work started (which inherit the
// lowered value: onnxruntime's intra-op pool does); where priorities cannot be restored it leaves them alone.

/** Starts a worker thread that stays until terminated. */
async function sleeper(): Promise<Worker> {
  const worker = new Worker("require('node:worker_threads').parentPort.postMessage('up'); setInterval(() => undefined, 1000);", { eval: true });
  await new Promise((resolve) => worker.once('message', resolve));
  return worker;
}

describe('lowerPriorityWhile', { skip: process.platform !== 'linux' && 'thread priorities are per thread on Linux only' }, () => {
  it('tells whether this process may restore a priority, as the kernel does', () => {
    const capEff = BigInt(`0x${/^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? '0'}`);
    const softNice = /^Max nice priority\s+(\S+)/m.exec(readFileSync('/proc/self/limits', 'utf8'))?.[1];
    const expected = ((capEff >> 23n) & 1n) === 1n || softNice === 'unlimited' || Number(softNice) >= 20;
    assert.equal(priorityIsRestorable(), expected);
  });

  it('runs the work at the lowered priority, then restores the caller and every thread the work started', { skip: !priorityIsRestorable() && 'no CAP_SYS_NICE here' }, async () => {
    const before = threadNiceValues();
    const workers: Worker[] = [];
    try {
      const seen = await lowerPriorityWhile(async () => {
        const during = getPriority();
        workers.push(await sleeper());
        const started = [...threadNiceValues()].filter(([t]) => !before.has(t));
        return { during, started: started.map(([, nice]) => nice) };
      });
      assert.equal(seen.during, LOWERED_NICE, 'the caller ran the work lowered');
      assert.ok(seen.started.includes(LOWERED_NICE), `a thread started meanwhile inherited the lowered value: ${seen.started.join(', ')}`);
      assert.equal(getPriority(), 0, 'the caller is restored');
      for (const [tid, nice] of threadNiceValues()) if (!before.has(tid)) assert.equal(nice, 0, `thread ${tid} started by the work is restored`);
    } finally {
      await Promise.all(workers.map((w) => w.terminate()));
    }
  });

  it('restores the caller when the work fails, and passes the failure on', { skip: !priorityIsRestorable() && 'no CAP_SYS_NICE here' }, async () => {
    await assert.rejects(
      lowerPriorityWhile(() => {
        assert.equal(getPriority(), LOWERED_NICE);
        return Promise.reject(new Error('broken model'));
      }),
      /broken model/,
    );
    assert.equal(getPriority(), 0);
  });

  it('leaves background threads (nice 19) alone', { skip: !priorityIsRestorable() && 'no CAP_SYS_NICE here' }, async () => {
    const workers: Worker[] = [];
    try {
      await lowerPriorityWhile(async () => {
        // A background thread started meanwhile lowers itself further, to 19: it is not the work's to restore.
        const worker = new Worker("require('node:os').setPriority(19); require('node:worker_threads').parentPort.postMessage('low'); setInterval(() => undefined, 1000);", { eval: true });
        workers.push(worker);
        await new Promise((resolve) => worker.once('message', resolve));
      });
      const nices = [...threadNiceValues().values()];
      assert.ok(nices.includes(19), `the background thread kept nice 19: ${nices.join(', ')}`);
      assert.ok(!nices.includes(LOWERED_NICE), `no thread left lowered: ${nices.join(', ')}`);
    } finally {
      await Promise.all(workers.map((w) => w.terminate()));
    }
  });
});
