import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/** A spawned child with everything it printed so far. */
export interface TrackedProcess {
  readonly name: string;
  readonly child: ChildProcess;
  output(): string;
  /** Resolves with the first match of `pattern` in the output; rejects on exit or after `timeoutMs`. */
  waitFor(pattern: RegExp, timeoutMs: number): Promise<RegExpExecArray>;
}

/**
 * Every child process of a benchmark run: each one is killed when its scenario ends, and all that are
 * left when the run ends, fails, or is interrupted (SIGINT/SIGTERM), so no server outlives the bench.
 */
export class ProcessGroup {
  private readonly children = new Set<ChildProcess>();
  private readonly exitHooks: (() => void)[] = [];

  constructor() {
    const onSignal = (signal: NodeJS.Signals): void => {
      console.error(`\n[bench] ${signal}: stopping ${this.children.size} child process(es)…`);
      this.killAllNow();
      process.exit(130);
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    process.once('exit', () => this.killAllNow());
  }

  spawn(name: string, command: string, args: readonly string[], options: SpawnOptions = {}): TrackedProcess {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
    return this.track(name, child);
  }

  /** Adopts a child started elsewhere (test/support's gateway and worker starters). */
  adopt(child: ChildProcess): void {
    this.children.add(child);
    child.once('exit', () => this.children.delete(child));
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves when the process has exited. */
  stop(child: ChildProcess, graceMs = 3000): Promise<void> {
    return new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), graceMs).unref();
    });
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.children].map((c) => this.stop(c)));
  }

  /** Synchronous clean-up that must also run when the bench is interrupted (e.g. stopping a broker it started). */
  atExit(hook: () => void): void {
    this.exitHooks.push(hook);
  }

  private killAllNow(): void {
    for (const c of this.children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    this.children.clear();
    for (const hook of this.exitHooks.splice(0)) hook();
  }

  private track(name: string, child: ChildProcess): TrackedProcess {
    this.adopt(child);
    let out = '';
    child.stdout?.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr?.on('data', (b: Buffer) => (out += b.toString()));
    return {
      name,
      child,
      output: () => out,
      waitFor: (pattern, timeoutMs) =>
        new Promise((resolve, reject) => {
          const timer = setTimeout(() => finish(new Error(`${name} printed nothing matching ${String(pattern)} within ${timeoutMs} ms:\n${tail(out)}`)), timeoutMs);
          const check = (): void => {
            const m = pattern.exec(out);
            if (m !== null) finish(undefined, m);
          };
          const onExit = (code: number | null): void => finish(new Error(`${name} exited with ${code}:\n${tail(out)}`));
          const finish = (err: Error | undefined, m?: RegExpExecArray): void => {
            clearTimeout(timer);
            child.stdout?.off('data', check);
            child.stderr?.off('data', check);
            child.off('exit', onExit);
            if (err !== undefined) reject(err);
            else resolve(m as RegExpExecArray);
          };
          child.stdout?.on('data', check);
          child.stderr?.on('data', check);
          child.once('exit', onExit);
          check();
        }),
    };
  }
}

/**
 * A live process and every live descendant (a gateway with SERVING_PROCESSES starts processes of its own),
 * from the parent ids in /proc; just `pid` when /proc cannot be read.
 */
export function processTree(pid: number | undefined): number[] {
  if (pid === undefined) return [];
  const children = new Map<number, number[]>();
  try {
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
        const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
        children.set(parent, [...(children.get(parent) ?? []), Number(entry)]);
      } catch {
        // gone meanwhile
      }
    }
  } catch {
    return [pid];
  }
  const tree = [pid];
  for (let i = 0; i < tree.length; i++) tree.push(...(children.get(tree[i] as number) ?? []));
  return tree;
}

/** Peak resident set size (VmHWM) of a live process in MiB, or NaN when it cannot be read. */
export function peakRssMiB(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  try {
    const m = /^VmHWM:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m?.[1] === undefined ? Number.NaN : Number(m[1]) / 1024;
  } catch {
    return Number.NaN;
  }
}

/** CPU time (user + system) a live process has used so far, in seconds, or NaN when it cannot be read. */
export function cpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  try {
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15, in clock ticks.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_S;
  } catch {
    return Number.NaN;
  }
}

/** USER_HZ: 100 on every Linux architecture Node runs on. */
const CLOCK_TICKS_PER_S = 100;

/** The last lines of a process's output, for error messages. */
export function tail(text: string, lines = 20): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}
