import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, openSync } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import path from 'node:path';

/** Temporaries are dot files ending in `.tmp`, so listings of stored files never see one. */
export const TEMPORARY_FILE = /^\..*\.tmp$/;

/** Makes a rename or removal in `dir` durable: the directory entry itself is flushed. */
export function syncDirectory(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // Some filesystems refuse fsync on a directory; the rename itself is still atomic.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * Replaces `<dir>/<fileName>` with `bytes` atomically: a temporary file beside the target, flushed to disk,
 * renamed over it, then the directory entry flushed. A crash leaves the old content or the new one. The
 * writes and both flushes (each can take tens of milliseconds on a busy disk) run on libuv's thread pool, so
 * the controller answers heartbeats meanwhile. Callers keep other writers of the same file away until it
 * settles.
 */
export async function writeFileDurablyAsync(dir: string, fileName: string, bytes: Uint8Array): Promise<string> {
  const file = path.join(dir, fileName);
  const temporary = path.join(dir, `.${fileName}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    const handle = await open(temporary, 'wx', 0o644);
    try {
      await handle.writeFile(bytes);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, file);
  } catch (err) {
    await rm(temporary, { force: true });
    throw err;
  }
  await syncDirectoryAsync(dir);
  return file;
}

async function syncDirectoryAsync(dir: string): Promise<void> {
  try {
    const handle = await open(dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // Some filesystems refuse fsync on a directory; the rename itself is still atomic.
  }
}
