import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';

/**
 * Opening a model on the caller's thread is work on the event loop: onnxruntime's session creation
 * (onnxruntime-node has no asynchronous load; model threads take it off the loop, see OnnxModelLoader's
 * modelThreads). Models opened together would block serving and heartbeats for
 * the sum of them, and compete for the cores; so models open one at a time, process-wide, each after a turn
 * of the event loop.
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

let turnTail: Promise<void> = Promise.resolve();

/**
 * Resolves a turn of the event loop after the previous caller's did: loading steps that await it (checking
 * a node's files, typing a graph) run one per turn, process-wide, with timers and I/O (requests, heartbeats)
 * between them, instead of all in one turn.
 */
export function nextFreeTurn(): Promise<void> {
  const mine = turnTail.then(nextTurn);
  turnTail = mine;
  return mine;
}

/** Bytes hashed per turn of the event loop: about a quarter of a millisecond of SHA-256. */
const HASH_SLICE = 256 * 1024;

/** The hex SHA-256 of `bytes`, a slice per turn of the event loop, so a large model never blocks serving. */
export async function sha256InTurns(bytes: Uint8Array): Promise<string> {
  const hash = createHash('sha256');
  for (let at = 0; at < bytes.length; at += HASH_SLICE) {
    if (at > 0) await nextTurn();
    hash.update(bytes.subarray(at, at + HASH_SLICE));
  }
  return hash.digest('hex');
}

/**
 * The hex SHA-256 of a file, read and hashed a slice per turn of the event loop: a process that only needs
 * the hash never holds the whole file.
 */
export async function sha256OfFileInTurns(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file, { highWaterMark: HASH_SLICE })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
