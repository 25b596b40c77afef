import { z } from 'zod';
import { REPORT_MARKER } from './wrk-lua.script';

const count = z.number().int().nonnegative();

/** What the done() hook of wrk-lua.script.ts prints; wrk measures latency and duration in microseconds. */
const wrkReportSchema = z.object({
  durationUs: count,
  requests: count,
  latencyUs: z.object({ p50: count, p99: count, p999: count, max: count }),
  errors: z.object({ connect: count, read: count, write: count, status: count, timeout: count }),
  /** Responses per HTTP status code. */
  statuses: z.record(z.string().regex(/^\d{3}$/), count),
  /** CPU seconds of the wrk process (user + system, all threads). */
  cpuS: z.number().nonnegative(),
});
export type WrkReport = z.infer<typeof wrkReportSchema>;

/** One wrk run as the bench reads it. */
export interface WrkRun {
  readonly seconds: number;
  /** 2xx responses. */
  readonly ok: number;
  /** Complete responses with any other status (or, should wrk count more than the script saw, none known). */
  readonly non2xx: number;
  /** Socket errors: connect, read and write. */
  readonly errors: number;
  readonly timeouts: number;
  readonly requestsPerS: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly p999Ms: number;
  /** CPU time of the load generator per complete response. */
  readonly loadCpuMsPerRequest: number;
  readonly statuses: Readonly<Record<string, number>>;
}

/** Reads the report line out of everything wrk printed; throws with wrk's output when there is none. */
export function parseWrkReport(output: string): WrkRun {
  const line = output.split('\n').find((l) => l.startsWith(REPORT_MARKER));
  if (line === undefined) throw new Error(`wrk printed no report line (${REPORT_MARKER.trim()}):\n${output.trimEnd()}`);
  let json: unknown;
  try {
    json = JSON.parse(line.slice(REPORT_MARKER.length));
  } catch (err) {
    throw new Error(`wrk's report line is not JSON (${err instanceof Error ? err.message : String(err)}): ${line}`, { cause: err });
  }
  const parsed = wrkReportSchema.safeParse(json);
  if (!parsed.success) throw new Error(`wrk's report line does not read as expected (${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}): ${line}`);
  const r = parsed.data;
  let ok = 0;
  let answered = 0;
  for (const [code, n] of Object.entries(r.statuses)) {
    answered += n;
    if (code.startsWith('2')) ok += n;
  }
  const seconds = r.durationUs / 1e6;
  return {
    seconds,
    ok,
    non2xx: Math.max(answered, r.requests) - ok,
    errors: r.errors.connect + r.errors.read + r.errors.write,
    timeouts: r.errors.timeout,
    requestsPerS: seconds > 0 ? ok / seconds : Number.NaN,
    // Latencies are of every complete response, whatever its status.
    p50Ms: r.latencyUs.p50 / 1000,
    p99Ms: r.latencyUs.p99 / 1000,
    p999Ms: r.latencyUs.p999 / 1000,
    loadCpuMsPerRequest: r.requests > 0 ? (r.cpuS * 1000) / r.requests : Number.NaN,
    statuses: r.statuses,
  };
}
