import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DeadlineTimers } from './deadline.timers';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('deadline timers', () => {
  it('fires each deadline once, no earlier than its duration, in start order within a duration', async () => {
    const timers = new DeadlineTimers();
    const fired: string[] = [];
    const started = performance.now();
    const at: Record<string, number> = {};
    const mark = (name: string) => () => {
      fired.push(name);
      at[name] = performance.now() - started;
    };
    timers.start(40, mark('a40'));
    timers.start(10, mark('b10'));
    await sleep(5);
    timers.start(10, mark('c10')); // same lane as b, due 5 ms later
    timers.start(0, mark('d0'));
    await sleep(80);
    // Within a duration, in start order; the 40 ms one last (the others are due 30 ms before it).
    assert.deepEqual(fired.filter((n) => n !== 'd0'), ['b10', 'c10', 'a40']);
    assert.ok(fired.includes('d0'));
    assert.ok((at['b10'] ?? 0) >= 9.5 && (at['c10'] ?? 0) >= 14.5 && (at['a40'] ?? 0) >= 39.5, JSON.stringify(at));
    assert.equal(timers.pending, 0);
  });

  it('never fires a cancelled deadline, whether it was first, in the middle or last of its lane', async () => {
    const timers = new DeadlineTimers();
    const fired: number[] = [];
    const deadlines = [0, 1, 2, 3, 4].map((i) => timers.start(15, () => fired.push(i)));
    deadlines[0]?.cancel();
    deadlines[2]?.cancel();
    deadlines[4]?.cancel();
    deadlines[2]?.cancel(); // twice: no effect
    assert.equal(timers.pending, 2);
    await sleep(40);
    assert.deepEqual(fired, [1, 3]);
    deadlines[1]?.cancel(); // after firing: no effect
    assert.equal(timers.pending, 0);
  });

  it('holds no Node timer once every deadline is cancelled, so an idle process can exit', () => {
    const timers = new DeadlineTimers();
    const handles = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const before = handles();
    const d = [timers.start(60_000, () => assert.fail('cancelled')), timers.start(60_000, () => assert.fail('cancelled')), timers.start(5_000, () => assert.fail('cancelled'))];
    assert.equal(handles(), before + 2, 'one timer per duration');
    for (const x of d) x.cancel();
    assert.equal(handles(), before);
    assert.equal(timers.pending, 0);
  });

  it('lets a deadline that fires start another of the same duration', async () => {
    const timers = new DeadlineTimers();
    let rounds = 0;
    await new Promise<void>((resolve) => {
      const again = (): void => {
        rounds++;
        if (rounds < 3) timers.start(5, again);
        else resolve();
      };
      timers.start(5, again);
    });
    assert.equal(rounds, 3);
    assert.equal(timers.pending, 0);
  });
});
