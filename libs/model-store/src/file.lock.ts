import { randomBytes } from 'node:crypto';
import { link, readFile, rm, writeFile } from 'node:fs/promises';

/** Lock files this process holds now: a lock with this pid that is not here was left by an earlier process (pid 1 in a container). */
const heldHere = new Set<string>();

/**
 * Runs `fn` holding `lockFile` (created atomically with this pid in it), so that processes sharing a cache
 * directory download an object once. A lock whose process is gone is taken over; a live holder is waited for.
 */
export async function withFileLock<T>(lockFile: string, fn: () => Promise<T>, pollMs = 200): Promise<T> {
  for (;;) {
    // Written aside, then linked into place: the lock never exists without its pid in it.
    const candidate = `${lockFile}.${process.pid}.${randomBytes(4).toString('hex')}`;
    await writeFile(candidate, String(process.pid));
    try {
      await link(candidate, lockFile);
      heldHere.add(lockFile);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = Number.parseInt(await readFile(lockFile, 'utf8').catch(() => ''), 10);
      const stale = !Number.isInteger(holder) || (holder === process.pid ? !heldHere.has(lockFile) : !isAlive(holder));
      if (stale) {
        await rm(lockFile, { force: true });
        continue;
      }
      await new Promise((resolve) => setTimeout(resolve, pollMs));
    } finally {
      await rm(candidate, { force: true });
    }
  }
  try {
    return await fn();
  } finally {
    heldHere.delete(lockFile);
    await rm(lockFile, { force: true });
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
