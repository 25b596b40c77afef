// Load generator of the serving bench's V2 gRPC rows: ghz (Go, built by scripts/ghz/ensure.mjs from the Go
// module proxy), in its own process, against a ModelInfer endpoint: a warm-up run, then the measured run, as
// wrk.driver.ts does for HTTP. A compiled generator for the same reason as wrk: a grpc-js client would take
// most of one of the machine's two cores. ghz's JSON report gives counts by status and latencies in ns; the
// shell that starts it reports ghz's own CPU time (`times`).
import { z } from 'zod';
import { tail, type ProcessGroup } from '../support/process-group';

export interface GrpcLoadSpec {
  /** The ghz binary (the last stdout line of scripts/ghz/ensure.mjs). */
  readonly ghz: string;
  /** host:port of a plaintext V2 gRPC server. */
  readonly address: string;
  readonly protoPath: string;
  /** ModelInferRequest as proto3 JSON. */
  readonly request: unknown;
  /** Calls in flight (ghz workers), over `connections` HTTP/2 connections. */
  readonly concurrency: number;
  readonly connections: number;
  readonly durationS: number;
  readonly warmupS: number;
  /** Called between the warm-up and the measured run (e.g. to read the server's CPU time). */
  readonly onMeasureStart?: () => void;
}

export interface GrpcLoadResult {
  /** OK answers in the measured run. */
  readonly ok: number;
  readonly seconds: number;
  readonly requestsPerS: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** Answers per gRPC status name (OK, Unavailable...) in the measured run. */
  readonly statuses: Readonly<Record<string, number>>;
  /** Calls that did not end OK. */
  readonly failed: number;
  /** CPU time ghz itself spent per OK answer in the measured run. */
  readonly loadCpuMsPerRequest: number;
}

const ns = z.number().nonnegative();
const ghzReportSchema = z.object({
  count: z.number().int().nonnegative(),
  total: ns,
  statusCodeDistribution: z.record(z.string(), z.number().int().nonnegative()).nullish(),
  latencyDistribution: z.array(z.object({ percentage: z.number(), latency: ns })).nullish(),
});

/** Where the shell's `times` line (children's user and system time) starts in the output. */
const TIMES_MARKER = '@@ghz-cpu@@';

export async function runGrpcLoad(group: ProcessGroup, spec: GrpcLoadSpec): Promise<GrpcLoadResult> {
  if (spec.warmupS > 0) await drive(group, spec, spec.warmupS);
  spec.onMeasureStart?.();
  return drive(group, spec, spec.durationS);
}

async function drive(group: ProcessGroup, spec: GrpcLoadSpec, durationS: number): Promise<GrpcLoadResult> {
  const args = [
    '--insecure',
    `--proto=${spec.protoPath}`,
    '--call=inference.GRPCInferenceService/ModelInfer',
    `--data=${JSON.stringify(spec.request)}`,
    `--concurrency=${spec.concurrency}`,
    `--connections=${spec.connections}`,
    `--duration=${durationS}s`,
    // At the duration no new call starts; those in flight are waited for and counted (not as errors).
    '--duration-stop=wait',
    '--timeout=30s',
    '--format=json',
    spec.address,
  ];
  // `times` prints the shell's and then its children's CPU time: ghz's, as wrk's script reports its own.
  const script = `"$0" "$@" && echo ${TIMES_MARKER} && times`;
  const ghz = group.spawn('ghz', 'sh', ['-c', script, spec.ghz, ...args]);
  const code = await new Promise<number | null>((resolve, reject) => {
    ghz.child.once('error', (err) => reject(new Error(`ghz did not start (${err.message}); build it with node scripts/ghz/ensure.mjs`)));
    ghz.child.once('close', (c: number | null) => resolve(c));
  });
  const output = ghz.output();
  if (code !== 0) throw new Error(`ghz failed (exit ${code}):\n${tail(output)}`);
  return parseGhzOutput(output);
}

/** Reads ghz's JSON report and the `times` lines after it. */
export function parseGhzOutput(output: string): GrpcLoadResult {
  const marker = output.lastIndexOf(TIMES_MARKER);
  const start = output.indexOf('{');
  if (marker < 0 || start < 0) throw new Error(`ghz printed no report:\n${tail(output)}`);
  const report = ghzReportSchema.parse(JSON.parse(output.slice(start, output.lastIndexOf('}', marker) + 1)));
  const statuses = report.statusCodeDistribution ?? {};
  const ok = statuses['OK'] ?? 0;
  const seconds = report.total / 1e9;
  const percentile = (p: number): number => (report.latencyDistribution ?? []).find((d) => d.percentage === p)?.latency ?? Number.NaN;
  // times: "0m0.004s 0m0.002s\n0m1.210s 0m0.530s": the second line is the children's user and system time.
  const children = output.slice(marker + TIMES_MARKER.length).trim().split('\n')[1] ?? '';
  const cpuS = [...children.matchAll(/(\d+)m([\d.]+)s/g)].reduce((sum, m) => sum + Number(m[1]) * 60 + Number(m[2]), 0);
  return {
    ok,
    seconds,
    requestsPerS: seconds > 0 ? ok / seconds : 0,
    p50Ms: percentile(50) / 1e6,
    p99Ms: percentile(99) / 1e6,
    statuses,
    failed: report.count - ok,
    loadCpuMsPerRequest: ok > 0 ? (cpuS * 1000) / ok : Number.NaN,
  };
}
