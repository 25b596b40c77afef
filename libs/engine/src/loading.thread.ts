import path from 'node:path';
import { readFile } from 'node:fs/promises';
import { preparePostedGraph, type PostedGraph } from '@infergraph/spec';
import { BackgroundThread } from '@infergraph/threads';
import { sha256InTurns } from './model-open.queue';

/**
 * One background thread per process (loading.worker.ts, nice 19) does the heavy part of loading graphs while
 * the event loop serves: parsing graph documents (graph-parse.thread.ts), reading and hashing model files,
 * and preparing documents posted to the controller.
 * A reply is the thread's answer as plain data; each caller reads its own fields.
 */
export const loadingThread = new BackgroundThread<Readonly<Record<string, unknown>>>({
  file: path.join(__dirname, 'loading.worker.js'),
  what: 'the loading thread',
  missingHint: '',
  resultOf: (reply) => reply,
});

/**
 * Starts the loading thread now, so that neither starting it (a V8 isolate) nor warming its parser up happens
 * on the event loop while graphs load. Gateways, workers and the controller call it once they listen.
 */
export function startLoadingThread(): void {
  loadingThread.start();
}

/** A model file's bytes and their hex SHA-256. */
export interface ModelFileBytes {
  readonly bytes: Uint8Array;
  readonly sha256: string;
}

/**
 * Reads a model file and hashes it in the loading thread: megabytes of reading, copying and SHA-256 that never
 * touch the event loop (the bytes come back moved, not copied). Rejects with the file system's reason when
 * the file cannot be read. Where the thread cannot run, the file is read here and hashed a slice per turn.
 */
export async function readModelFileOffLoop(file: string): Promise<ModelFileBytes> {
  let reply: Readonly<Record<string, unknown>>;
  try {
    reply = await loadingThread.call({ kind: 'model-file', file });
  } catch {
    const bytes = await readFile(file);
    return { bytes, sha256: await sha256InTurns(bytes) };
  }
  if (typeof reply['failed'] === 'string') throw new Error(reply['failed']);
  return { bytes: reply['bytes'] as Uint8Array, sha256: reply['sha256'] as string };
}

/**
 * preparePostedGraph in the loading thread: the controller's event loop, which answers heartbeats, never
 * parses a posted document. Where the thread cannot run, it runs here.
 */
export async function preparePostedGraphOffLoop(bytes: Uint8Array, baseDir: string): Promise<PostedGraph> {
  try {
    return (await loadingThread.call({ kind: 'posted-graph', bytes, baseDir }))['posted'] as PostedGraph;
  } catch {
    return preparePostedGraph(bytes, baseDir);
  }
}
