import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { chmod, open, rename, rm, stat, writeFile, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { ProgressSchedule, mebibytes } from './model-cache.policy';
import { ObjectSourceError, type ObjectSource } from './object-source.port';
import { readJsonFile } from './json-file';

/** One object to fetch into `part` (with its resumption record `meta`) and, verified, to `finalPath(sha256)`. */
export interface Download {
  readonly part: string;
  readonly meta: string;
  readonly finalPath: (sha256: string) => string;
  /** The sha256 the graph pins, or undefined (an unpinned s3:// object). */
  readonly pinned: string | undefined;
  /** Names the graph and node in log lines. */
  readonly label: string;
  readonly maxBytes: number;
  /** Tries, each continuing the partial file of the last. */
  readonly attempts: number;
  readonly progressMinBytes: number;
  readonly progressEveryMs: number;
  readonly logger: { log(message: string): void; warn(message: string): void };
  readonly stats: { downloads: number; resumed: number };
}

export interface DownloadedObject {
  readonly sha256: string;
  readonly validator: string | undefined;
  readonly sizeBytes: number;
}

/**
 * Downloads an object into a temporary file, continuing an earlier partial one with a range request when
 * the source still has that version, then hashes it: a match with `pinned` (or any content when unpinned)
 * is renamed to its final, read-only name; a mismatch deletes it and rejects with both digests.
 */
export async function downloadObject(source: ObjectSource, d: Download): Promise<DownloadedObject> {
  const { part, meta, pinned, label, attempts } = d;
  const max = d.maxBytes;
  const log = d.logger;
  d.stats.downloads++;
  let restartedAfterMismatch = false;
  let lastError: Error | undefined;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    const held = (await stat(part).catch(() => undefined))?.size ?? 0;
    const saved = held > 0 ? await readJsonFile<{ uri: string; validator?: string }>(meta) : undefined;
    // Bytes of unknown origin are not continued.
    const offset = saved?.uri === source.uri ? held : 0;
    // The file is open before the request: the body is read from the moment it arrives (a connection that
    // drops discards what its stream still buffers, so nothing waits between the answer and the reading).
    const handle = await open(part, held > 0 ? 'r+' : 'w');
    let opened;
    try {
      opened = await source.open(offset, saved?.validator, new AbortController().signal);
    } catch (err) {
      await handle.close();
      if (err instanceof ObjectSourceError && err.permanent) throw err;
      lastError = asError(err);
      if (offset > 0) await rm(part, { force: true });
      log.warn(`model ${source.uri} for ${label}: try ${attempt}/${attempts} failed: ${lastError.message}`);
      continue;
    }
    const start = opened.resumed ? offset : 0;
    if (attempt === 1 && !opened.resumed) {
      log.log(`model ${source.uri} for ${label}: downloading${opened.totalBytes === undefined ? '' : ` ${mebibytes(opened.totalBytes)}`} into ${path.dirname(path.dirname(part))}`);
    }
    const tooLarge = opened.totalBytes !== undefined && opened.totalBytes > max;
    const first = async (): Promise<void> => {
      if (start === 0 && held > 0) await handle.truncate(0);
      await writeFile(meta, JSON.stringify({ uri: source.uri, ...(opened.validator === undefined ? {} : { validator: opened.validator }) }));
    };
    if (tooLarge) {
      opened.body.destroy();
      await handle.close();
      await rm(part, { force: true });
      throw new Error(`the object is ${opened.totalBytes} bytes, over MODEL_DOWNLOAD_MAX_BYTES (${max})`);
    }
    try {
      await receive(opened.body, handle, first, start, opened.totalBytes, d, `model ${source.uri} for ${label}`);
    } catch (err) {
      lastError = asError(err);
      if (lastError instanceof DownloadLimitError) {
        await rm(part, { force: true });
        await rm(meta, { force: true });
        throw lastError;
      }
      log.warn(`model ${source.uri} for ${label}: interrupted (${lastError.message}); ${attempt < attempts ? 'resuming' : 'giving up'} (try ${attempt}/${attempts})`);
      continue;
    }
    if (opened.resumed) {
      d.stats.resumed++;
      log.log(`model ${source.uri} for ${label}: resumed at ${mebibytes(start)} (range request)`);
    }
    const sizeBytes = (await stat(part)).size;
    if (opened.totalBytes !== undefined && sizeBytes !== opened.totalBytes) {
      lastError = new Error(`received ${sizeBytes} of ${opened.totalBytes} bytes`);
      continue;
    }
    const sha256 = await sha256Of(part);
    if (pinned !== undefined && sha256 !== pinned) {
      await rm(part, { force: true });
      await rm(meta, { force: true });
      // A resumed file may join two versions of the object: once, start over before blaming the source.
      if (opened.resumed && !restartedAfterMismatch) {
        restartedAfterMismatch = true;
        log.warn(`model ${source.uri} for ${label}: sha256 mismatch after a resumed download; downloading it whole once more`);
        continue;
      }
      throw new Error(`sha256 mismatch: expected ${pinned}, got ${sha256} (${sizeBytes} bytes)`);
    }
    await chmod(part, 0o444);
    await rename(part, d.finalPath(sha256));
    await rm(meta, { force: true });
    log.log(`model ${source.uri} for ${label}: verified sha256 ${sha256} (${mebibytes(sizeBytes)})`);
    return { sha256, validator: opened.validator, sizeBytes };
  }
  throw new Error(`download failed after ${attempts} tries: ${lastError?.message ?? 'unknown error'}`);
}

async function receive(body: Readable, handle: FileHandle, first: () => Promise<void>, start: number, total: number | undefined, d: Download, what: string): Promise<void> {
  const max = d.maxBytes;
  // Chunks are taken as they come and written in order at their offsets (after `first`); reading waits
  // only while 8 MiB are not on disk yet. What arrived before a failure stays for the next try.
  const schedule = new ProgressSchedule(total, Date.now(), d.progressMinBytes, d.progressEveryMs);
  let received = start;
  let written: Promise<void> = first();
  let unwrittenBytes = 0;
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      if (received + chunk.length > max) throw new DownloadLimitError(`stopped at ${received + chunk.length} bytes: over MODEL_DOWNLOAD_MAX_BYTES (${max})`);
      const position = received;
      received += chunk.length;
      unwrittenBytes += chunk.length;
      written = written.then(async () => {
        await handle.write(chunk, 0, chunk.length, position);
        unwrittenBytes -= chunk.length;
      });
      if (unwrittenBytes > WRITE_AHEAD_BYTES) await written;
      const now = Date.now();
      if (schedule.due(received, now)) d.logger.log(`${what}: ${schedule.describe(received, now)}`);
    }
  } finally {
    body.destroy();
    try {
      await written;
    } finally {
      await handle.close();
    }
  }
}

class DownloadLimitError extends Error {}

/** Bytes read ahead of the disk before reading waits. */
const WRITE_AHEAD_BYTES = 8 * 1024 ** 2;

async function sha256Of(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}
