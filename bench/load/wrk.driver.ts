// Load generator of bench/serving.bench.ts: wrk, in its own process, against one HTTP endpoint: a warm-up
// run, then the measured run. wrk is C with one epoll loop per thread, so on a 2-core machine it leaves the
// server most of the CPU; a Node generator (autocannon, used before) took most of a core and squeezed every
// ratio toward 1. Requests, status counts and latency percentiles come from the script's done() hook
// (wrk-lua.script.ts); wrk records latencies in microseconds, so p50/p99 keep sub-millisecond resolution.
// Needs wrk on PATH: `npm run bench` installs it first (scripts/wrk/ensure.mjs).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { tail, type ProcessGroup } from '../support/process-group';
import { wrkLuaScript } from './wrk-lua.script';
import { parseWrkReport, type WrkRun } from './wrk-report.parser';

export interface LoadSpec {
  readonly url: string;
  /** Sent as the body of every POST, with content-type application/json. */
  readonly body: string;
  /** Extra request headers. */
  readonly headers?: Readonly<Record<string, string>>;
  /** Keep-alive connections, spread over `threads` wrk threads. */
  readonly connections: number;
  readonly threads: number;
  readonly durationS: number;
  readonly warmupS: number;
  /** Called between the warm-up and the measured run (e.g. to read the server's CPU time). */
  readonly onMeasureStart?: () => void;
}

export interface LoadResult {
  /** 2xx responses in the measured run, and in the warm-up before it. */
  readonly ok: number;
  readonly warmupOk: number;
  readonly seconds: number;
  /** 2xx responses per second of the measured run. */
  readonly requestsPerS: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly p999Ms: number;
  /** Socket errors (connect, read, write) in the measured run. */
  readonly errors: number;
  readonly timeouts: number;
  /** Complete responses that were not 2xx in the measured run. */
  readonly non2xx: number;
  /** Responses per status code in the measured run. */
  readonly statuses: Readonly<Record<string, number>>;
  /** CPU time wrk itself spent per response in the measured run. */
  readonly loadCpuMsPerRequest: number;
}

/** A request that has not answered in this long counts as a timeout (wrk's default is 2 s). */
const REQUEST_TIMEOUT_S = 30;

/** Runs wrk against `spec.url`: the warm-up (when `warmupS` > 0), then the measured run. */
export async function runLoad(group: ProcessGroup, spec: LoadSpec): Promise<LoadResult> {
  const dir = mkdtempSync(path.join(tmpdir(), 'infergraph-wrk-'));
  try {
    const script = path.join(dir, 'post.lua');
    writeFileSync(script, wrkLuaScript(spec.body, spec.headers));
    const warmup = spec.warmupS > 0 ? await drive(group, spec, script, spec.warmupS) : undefined;
    spec.onMeasureStart?.();
    const r = await drive(group, spec, script, spec.durationS);
    return {
      ok: r.ok,
      warmupOk: warmup?.ok ?? 0,
      seconds: r.seconds,
      requestsPerS: r.requestsPerS,
      p50Ms: r.p50Ms,
      p99Ms: r.p99Ms,
      p999Ms: r.p999Ms,
      errors: r.errors,
      timeouts: r.timeouts,
      non2xx: r.non2xx,
      statuses: r.statuses,
      loadCpuMsPerRequest: r.loadCpuMsPerRequest,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function drive(group: ProcessGroup, spec: LoadSpec, script: string, durationS: number): Promise<WrkRun> {
  const threads = Math.max(1, Math.min(spec.threads, spec.connections));
  const args = ['-t', String(threads), '-c', String(spec.connections), '-d', `${durationS}s`, '--timeout', `${REQUEST_TIMEOUT_S}s`, '-s', script, spec.url];
  const wrk = group.spawn('wrk', 'wrk', args);
  const code = await new Promise<number | null>((resolve, reject) => {
    wrk.child.once('error', (err) => reject(new Error(`wrk did not start (${err.message}); install it with node scripts/wrk/ensure.mjs or apt-get install wrk`)));
    // 'close', not 'exit': the report line may still be in the pipe when the process exits.
    wrk.child.once('close', (c: number | null) => resolve(c));
  });
  if (code !== 0) throw new Error(`wrk ${args.join(' ')} failed (exit ${code}):\n${tail(wrk.output())}`);
  return parseWrkReport(wrk.output());
}
