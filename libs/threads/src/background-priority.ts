import { readFileSync, readdirSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';

/** The nice value of background threads: the lowest priority. */
export const BACKGROUND_NICE = 19;
/**
 * The nice value a thread takes for a while (lowerPriorityWhile). One above the background threads', so the
 * threads a library starts during that while, which inherit it, can be told from background threads.
 */
export const LOWERED_NICE = 18;
/** Bit of CAP_SYS_NICE in a CapEff mask (linux/capability.h). */
const CAP_SYS_NICE = 23n;

/**
 * Lowers the calling thread's scheduling priority to the lowest (nice 19), for threads doing background
 * work: on a busy machine the threads that serve requests get the CPU first. On Linux a nice value belongs
 * to one thread, so only the caller is lowered. Elsewhere (macOS, Windows) the call would lower the whole
 * process, so nothing is done; nor where it is not permitted.
 */
export function runAtBackgroundPriority(): void {
  if (process.platform !== 'linux') return;
  try {
    setPriority(BACKGROUND_NICE);
  } catch {
    // not permitted here
  }
}

/**
 * Lowers a whole child process to the lowest priority, for processes that only do background work (the
 * TypeScript compiler): every thread it has now (the main thread, V8's helper threads that run its garbage
 * collection and compile jobs, libuv's pool), and so every thread they start later. On Linux, where a nice
 * value belongs to one thread, each thread in /proc/self/task is lowered; elsewhere the call lowers the
 * process. Never call it in a process that serves: nothing set here comes back.
 */
export function runProcessAtBackgroundPriority(): void {
  try {
    if (process.platform !== 'linux') {
      setPriority(BACKGROUND_NICE);
      return;
    }
    for (const tid of readdirSync('/proc/self/task').map(Number)) {
      try {
        setPriority(tid, BACKGROUND_NICE);
      } catch {
        // ended meanwhile
      }
    }
  } catch {
    // not permitted here
  }
}

let restorable: boolean | undefined;

/**
 * Whether a thread of this process may raise its priority back after lowering it: Linux, with CAP_SYS_NICE
 * (root, or a container granted SYS_NICE) or a RLIMIT_NICE that allows nice 0. Without it a lowered thread
 * stays low for good, so lowerPriorityWhile does not lower at all.
 */
export function priorityIsRestorable(): boolean {
  if (restorable !== undefined) return restorable;
  restorable = false;
  if (process.platform !== 'linux') return restorable;
  try {
    const capEff = /^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
    if (capEff !== undefined && ((BigInt(`0x${capEff}`) >> CAP_SYS_NICE) & 1n) === 1n) return (restorable = true);
    // "Max nice priority  <soft>  <hard>": a soft limit of 20 - n lets a thread lower its nice value to n.
    const soft = /^Max nice priority\s+(\S+)/m.exec(readFileSync('/proc/self/limits', 'utf8'))?.[1];
    if (soft !== undefined) restorable = soft === 'unlimited' || 20 - Number(soft) <= getPriority();
  } catch {
    restorable = false;
  }
  return restorable;
}

/**
 * Each thread of a process (this one unless `pid` is given; Linux task id) and its nice value, read from
 * /proc; a thread that ends while it is read is left out.
 */
export function threadNiceValues(pid: number | 'self' = 'self'): Map<number, number> {
  const threads = new Map<number, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`).map(Number)) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      // Fields after "(comm) ": state is field 3; nice is field 19, so index 16 here.
      threads.set(tid, Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]));
    } catch {
      // ended meanwhile
    }
  }
  return threads;
}

/**
 * Runs `work` with the calling thread at low priority (LOWERED_NICE), then restores it; threads started
 * during `work` with the lowered value (a library's thread pool, such as onnxruntime's intra-op threads,
 * which inherit their creator's priority) are restored too, so work they do later runs at the priority it
 * would have had. Only where the priority can be restored (priorityIsRestorable); elsewhere `work` runs as
 * it is. For one-off heavy work (opening a model) in a thread that then goes on serving.
 */
export async function lowerPriorityWhile<T>(work: () => Promise<T>): Promise<T> {
  if (!priorityIsRestorable()) return work();
  let before: ReadonlyMap<number, number>;
  let original: number;
  try {
    before = threadNiceValues();
    original = getPriority();
    setPriority(LOWERED_NICE);
  } catch {
    return work();
  }
  try {
    return await work();
  } finally {
    try {
      setPriority(original);
      for (const [tid, nice] of threadNiceValues()) {
        if (!before.has(tid) && nice === LOWERED_NICE) setPriority(tid, original);
      }
    } catch {
      // a thread that ended meanwhile, or a permission taken away: nothing more to restore
    }
  }
}
