import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OrtRunQueue } from './ort-run.queue';

/** A run that records what happened in order, on a fake clock it advances by `costMs` per run. */
function recordingRun(clock: { t: number }, costMs = 0) {
  const events: string[] = [];
  const runNow = (feeds: number): string => {
    events.push(`run ${feeds}`);
    clock.t += costMs;
    if (feeds < 0) throw new Error(`bad feeds ${feeds}`);
    return `out ${feeds}`;
  };
  return { events, runNow };
}

const nextTurn = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('OrtRunQueue: the runs of one event-loop turn back to back, then their answers', () => {
  it('runs nothing inside run(): the runs wait for a setImmediate callback', async () => {
    const clock = { t: 0 };
    const r = recordingRun(clock);
    const q = new OrtRunQueue(r.runNow, 1, () => clock.t);
    const answer = q.run(1);
    assert.deepEqual(r.events, []);
    assert.equal(q.waiting, 1);
    assert.equal(await answer, 'out 1');
    assert.equal(q.waiting, 0);
  });

  it('runs every run of a turn before answering any, and gives each caller its own result', async () => {
    const clock = { t: 0 };
    const r = recordingRun(clock);
    const q = new OrtRunQueue(r.runNow, 1, () => clock.t);
    const answers = [1, 2, 3].map((n) => q.run(n).then((out) => r.events.push(`answer ${out}`)));
    await Promise.all(answers);
    assert.deepEqual(r.events, ['run 1', 'run 2', 'run 3', 'answer out 1', 'answer out 2', 'answer out 3']);
  });

  it('fails only the run that threw', async () => {
    const clock = { t: 0 };
    const r = recordingRun(clock);
    const q = new OrtRunQueue(r.runNow, 1, () => clock.t);
    const results = await Promise.allSettled([q.run(1), q.run(-2), q.run(3)]);
    assert.deepEqual(
      results.map((s) => (s.status === 'fulfilled' ? s.value : (s.reason as Error).message)),
      ['out 1', 'bad feeds -2', 'out 3'],
    );
  });

  it('answers the runs of a slice once it has run for sliceMs, and runs the rest in the next turn', async () => {
    const clock = { t: 0 };
    const r = recordingRun(clock, 0.4); // three runs pass a 1 ms slice
    const q = new OrtRunQueue(r.runNow, 1, () => clock.t);
    const answers = [1, 2, 3, 4, 5].map((n) => q.run(n).then((out) => r.events.push(`answer ${out}`)));
    await Promise.all(answers);
    assert.deepEqual(r.events, ['run 1', 'run 2', 'run 3', 'answer out 1', 'answer out 2', 'answer out 3', 'run 4', 'run 5', 'answer out 4', 'answer out 5']);
  });

  it('runs at least one run per callback, however slow', async () => {
    const clock = { t: 0 };
    const r = recordingRun(clock, 50);
    const q = new OrtRunQueue(r.runNow, 1, () => clock.t);
    const answers = [1, 2].map((n) => q.run(n).then((out) => r.events.push(`answer ${out}`)));
    await Promise.all(answers);
    assert.deepEqual(r.events, ['run 1', 'answer out 1', 'run 2', 'answer out 2']);
  });

  it('runs what a caller asks for while answers are handed out in a later callback, and keeps no answered run', async () => {
    const clock = { t: 0 };
    const r = recordingRun(clock);
    const q = new OrtRunQueue(r.runNow, 1, () => clock.t);
    let second: Promise<string> | undefined;
    await q.run(1).then((out) => {
      r.events.push(`answer ${out}`);
      second = q.run(2);
      assert.equal(q.waiting, 1, 'only the new run waits; the answered one is gone');
    });
    assert.equal(await second, 'out 2');
    assert.deepEqual(r.events, ['run 1', 'answer out 1', 'run 2']);
    assert.equal(q.waiting, 0);
  });

  it('joins runs asked for between slices to the rest of the queue, in order', async () => {
    const clock = { t: 0 };
    const r = recordingRun(clock, 0.6); // two runs per 1 ms slice
    const q = new OrtRunQueue(r.runNow, 1, () => clock.t);
    const first = [1, 2, 3].map((n) => q.run(n));
    await first[0];
    const late = q.run(4); // asked for after the first slice was answered, before the second callback
    assert.deepEqual(await Promise.all([...first, late]), ['out 1', 'out 2', 'out 3', 'out 4']);
    assert.deepEqual(r.events, ['run 1', 'run 2', 'run 3', 'run 4']);
    await nextTurn();
    assert.equal(q.waiting, 0);
  });
});
