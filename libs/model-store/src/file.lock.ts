import { open, readFile, rm } from 'node:fs/promises';

/**
 * Runs `fn` holding `lockFile` (created exclusively, holding this pid), so that processes sharing a cache
 * directory download an object once. A lock whose process is gone is taken over; a live holder is waited for.
 */
export async function withFileLock<T>(lockFile: string, fn: () => Promise<T>, pollMs = 200): Promise<T> {
  for (;;) {
    try {
      const handle = await open(lockFile, 'wx');
      await handle.writeFile(String(process.pid));
      await handle.close();
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = Number.parseInt(await readFile(lockFile, 'utf8').catch(() => ''), 10);
      if (!Number.isInteger(holder) || holder === process.pid || !isAlive(holder)) {
        await rm(lockFile, { force: true });
        continue;
      }
      await new Promise((resolve) => setTimeout(resolve, pollMs));
    }
  }
  try {
    return await fn();
  } finally {
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
