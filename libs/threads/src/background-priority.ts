import { setPriority } from 'node:os';

/**
 * Lowers the calling thread's scheduling priority to the lowest (nice 19), for threads doing background
 * work: on a busy machine the threads that serve requests get the CPU first. On Linux a nice value belongs
 * to one thread, so only the caller is lowered; where that is not permitted it runs as it is.
 */
export function runAtBackgroundPriority(): void {
  try {
    setPriority(19);
  } catch {
    // not permitted here
  }
}
