import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SendCoalescer } from './send.coalescer';

/** A send that records its batches and the (fake) time each started, acknowledged when the test says. */
function recordingSend(clock: { t: number }) {
  const batches: { items: number[]; at: number }[] = [];
  const acks: (() => void)[] = [];
  const fails: ((err: Error) => void)[] = [];
  const send = (items: number[]): Promise<void> =>
    new Promise((resolve, reject) => {
      batches.push({ items, at: clock.t });
      acks.push(resolve);
      fails.push(reject);
    });
  return { send, batches, ack: (i: number) => acks[i]?.(), fail: (i: number, err: Error) => fails[i]?.(err) };
}

const tick = (ms = 0): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('SendCoalescer: batch sends, one in flight, with an optional linger', () => {
  it('sends a lone item at once without a linger', async () => {
    const clock = { t: 1000 };
    const s = recordingSend(clock);
    const c = new SendCoalescer(s.send, { lingerMs: 0, maxBatch: 100, now: () => clock.t });
    const done = c.push(1);
    assert.deepEqual(s.batches, [{ items: [1], at: 1000 }], 'the send started synchronously');
    s.ack(0);
    await done;
  });

  it('carries the items queued while a send is in flight in one next send', async () => {
    const clock = { t: 0 };
    const s = recordingSend(clock);
    const c = new SendCoalescer(s.send, { lingerMs: 0, maxBatch: 100, now: () => clock.t });
    const first = c.push(1);
    const rest = [c.push(2), c.push(3), c.push(4)];
    assert.equal(s.batches.length, 1, 'one send in flight at a time');
    s.ack(0);
    await first;
    await tick();
    assert.deepEqual(
      s.batches.map((b) => b.items),
      [[1], [2, 3, 4]],
    );
    s.ack(1);
    await Promise.all(rest);
  });

  it('lets the oldest queued item wait the linger for companions, counted from when it was queued', async () => {
    const clock = { t: 0 };
    const s = recordingSend(clock);
    const c = new SendCoalescer(s.send, { lingerMs: 30, maxBatch: 100, now: () => clock.t });
    void c.push(1);
    void c.push(2);
    await tick(5);
    assert.equal(s.batches.length, 0, 'the first item lingers');
    clock.t = 30;
    await tick(40);
    assert.deepEqual(s.batches, [{ items: [1, 2], at: 30 }]);
    // Queued while that send is in flight; acknowledged 25 ms after the item came, so 5 ms of its linger are left.
    clock.t = 31;
    void c.push(3);
    clock.t = 56;
    s.ack(0);
    await tick(1);
    assert.equal(s.batches.length, 1, 'the rest of the linger is waited out');
    clock.t = 61;
    await tick(20);
    assert.deepEqual(
      s.batches.map((b) => b.items),
      [[1, 2], [3]],
    );
  });

  it('does not linger again for an item that waited longer than the linger behind a send', async () => {
    const clock = { t: 0 };
    const s = recordingSend(clock);
    const c = new SendCoalescer(s.send, { lingerMs: 10, maxBatch: 100, now: () => clock.t });
    void c.push(1);
    clock.t = 10;
    await tick(20);
    void c.push(2);
    clock.t = 50; // the send of [1] took 40 ms
    s.ack(0);
    await tick();
    assert.deepEqual(
      s.batches.map((b) => b.items),
      [[1], [2]],
    );
  });

  it('sends a full batch without lingering, and no more than maxBatch items in one send', () => {
    const clock = { t: 0 };
    const s = recordingSend(clock);
    const c = new SendCoalescer(s.send, { lingerMs: 60_000, maxBatch: 3, now: () => clock.t });
    for (let i = 1; i <= 4; i++) void c.push(i);
    assert.deepEqual(
      s.batches.map((b) => b.items),
      [[1, 2, 3]],
      'three queued items filled a batch inside the linger',
    );
    assert.equal(c.queued, 1);
  });

  it('rejects every item of a failed send with its error, and what queued behind it, and keeps sending items pushed later', async () => {
    const clock = { t: 0 };
    const s = recordingSend(clock);
    const c = new SendCoalescer(s.send, { lingerMs: 0, maxBatch: 100, now: () => clock.t });
    const a = c.push(1);
    // Queued while the failing send is in flight: a key's later answer must not be produced before the
    // earlier one that failed is answered again, so it fails with it.
    const b = c.push(2);
    s.fail(0, new Error('broker unreachable'));
    await assert.rejects(a, /broker unreachable/);
    await assert.rejects(b, /broker unreachable/);
    assert.equal(c.queued, 0);
    const d = c.push(3);
    await tick();
    s.ack(1);
    await d;
    assert.deepEqual(
      s.batches.map((x) => x.items),
      [[1], [3]],
    );
  });

  it('drain sends what lingers at once and resolves when nothing is queued or in flight', async () => {
    const clock = { t: 0 };
    const s = recordingSend(clock);
    const c = new SendCoalescer(s.send, { lingerMs: 60_000, maxBatch: 100, now: () => clock.t });
    const lingering = c.push(1);
    assert.equal(s.batches.length, 0);
    const drained = c.drain();
    assert.deepEqual(
      s.batches.map((x) => x.items),
      [[1]],
      'drain did not wait 60 s',
    );
    s.ack(0);
    await Promise.all([lingering, drained]);
    assert.equal(c.queued, 0);
  });
});
