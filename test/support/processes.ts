import { readFileSync, readdirSync } from 'node:fs';

/** Whether a process runs (Linux: an exited one nobody reaped yet, a zombie, does not; elsewhere: signal 0). */
export function processRuns(pid: number): boolean {
  try {
    if (process.platform === 'linux') return !/^\d+ \(.*\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The children of `parent` whose command line matches `command`, found through /proc (Linux only). */
export function childProcessesOf(parent: number, command: RegExp): number[] {
  return readdirSync('/proc')
    .filter((pid) => /^\d+$/.test(pid))
    .filter((pid) => {
      try {
        return /^PPid:\s+(\d+)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] === String(parent) && command.test(readFileSync(`/proc/${pid}/cmdline`, 'utf8'));
      } catch {
        return false;
      }
    })
    .map(Number);
}
