import assert from 'node:assert/strict';

/**
 * Reads until `ok` holds, every 100 ms, and returns what passed; fails naming `what` and the last value read.
 * A read that throws (a component restarting) counts as not yet. Time is read on the monotonic clock, which a
 * stepped wall clock does not move.
 */
export async function waitFor<T>(what: string, read: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 30_000): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  let last: T | undefined;
  for (;;) {
    try {
      last = await read();
      if (ok(last)) return last;
    } catch {
      // A component may be restarting.
    }
    if (performance.now() > deadline) assert.fail(`${what} within ${timeoutMs} ms; last: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Waits until `test` resolves true (a rejection counts as false), every 100 ms; fails naming `what`. */
export async function until(what: string, test: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  await waitFor(what, () => test().catch(() => false), (ok) => ok, timeoutMs);
}
