// Locks held by a process, as a file holding its pid: the Go builds' lock per cache directory and the test
// lanes (scripts/test-lane.mjs). The pid is written to a file of this process first and the lock made by a
// hard link to it, so a lock never exists without its holder's pid, and a holder that died without removing
// its lock (kill -9) is recognised by its pid.
import { linkSync, readFileSync, rmSync, writeFileSync } from 'node:fs';

export function pidAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return err.code === 'EPERM';
  }
}

/** The live pid holding `lock`, or undefined when it is free (a dead holder's lock is removed). */
export function pidLockHolder(lock) {
  let pid;
  try {
    pid = Number.parseInt(readFileSync(lock, 'utf8'), 10);
  } catch (err) {
    if (err.code === 'ENOENT') return undefined;
    throw err;
  }
  if (Number.isInteger(pid) && pidAlive(pid)) return pid;
  rmSync(lock, { force: true });
  return undefined;
}

/** Takes `lock` for this process; false while another live process holds it. */
export function tryPidLock(lock) {
  const mine = `${lock}.${process.pid}`;
  writeFileSync(mine, String(process.pid));
  try {
    linkSync(mine, lock);
    return true;
  } catch (err) {
    if (err.code !== 'EEXIST') throw err;
    // Held; or held by a process that died: then cleared, and taken on the next try.
    pidLockHolder(lock);
    return false;
  } finally {
    rmSync(mine, { force: true });
  }
}
