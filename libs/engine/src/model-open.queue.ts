/**
 * Opening a model is synchronous work on the event loop: hashing its bytes and onnxruntime's session
 * creation (onnxruntime-node has no asynchronous load). A graph's models opened together would block
 * serving and heartbeats for the sum of them; so models open one at a time, process-wide, each after a
 * turn of the event loop, and the longest block is that of the largest single model.
 */
let tail: Promise<unknown> = Promise.resolve();

/** Runs `open` after every open queued before it has finished, and after a turn of the event loop. */
export function openInTurn<T>(open: () => Promise<T>): Promise<T> {
  const run = tail.then(nextTurn).then(open);
  tail = run.catch(() => undefined);
  return run;
}

/** setImmediate queued from a check phase runs in the next loop iteration: timers and I/O go first. */
function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
