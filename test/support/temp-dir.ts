import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const made = new Set<string>();

/** Removes every directory `tempDir` made; the test runner runs each file in a process of its own. */
function removeAll(): void {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
  made.clear();
}

/** Registers `dir` for removal at exit (the exit handler is installed with the first one). */
function track(dir: string): string {
  if (made.size === 0) process.once('exit', removeAll);
  made.add(dir);
  return dir;
}

/** A fresh directory under the OS temp directory, removed when this test process exits. */
export function tempDir(prefix: string): string {
  return track(mkdtempSync(path.join(tmpdir(), prefix)));
}

/** A directory of a fixed name under the OS temp directory (emptied first when `fresh`), removed at exit. */
export function namedTempDir(name: string, fresh: boolean): string {
  const dir = path.join(tmpdir(), name);
  if (fresh) rmSync(dir, { recursive: true, force: true });
  return track(dir);
}
