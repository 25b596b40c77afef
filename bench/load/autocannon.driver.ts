// Load generator of bench/serving.bench.ts, run in its own process so that it never shares an event loop
// with the server it measures. Drives one HTTP endpoint with autocannon: a warm-up, then the measured run.
// Latencies are collected from every response as hrtime floats (autocannon's own histogram rounds to
// whole milliseconds), so p50/p99 keep sub-millisecond resolution.
//   node dist/bench/load/autocannon.driver.js '<LoadSpec as JSON>'
// Prints one line of JSON (LoadResult) on stdout.
import autocannon from 'autocannon';
import { percentile } from '../support/percentile';

export interface LoadSpec {
  readonly url: string;
  readonly body: string;
  readonly connections: number;
  readonly durationS: number;
  readonly warmupS: number;
}

export interface LoadResult {
  /** 2xx responses in the measured run, and in the warm-up before it. */
  readonly ok: number;
  readonly warmupOk: number;
  readonly seconds: number;
  readonly requestsPerS: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly errors: number;
  readonly timeouts: number;
  readonly non2xx: number;
}

function drive(spec: LoadSpec, durationS: number, latencies: number[]): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: spec.url,
        connections: spec.connections,
        duration: durationS,
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: spec.body,
        timeout: 30,
      },
      (err, result) => (err ? reject(err) : resolve(result)),
    );
    instance.on('response', (_client: unknown, status: number, _bytes: number, ms: number) => {
      if (status >= 200 && status < 300) latencies.push(ms);
    });
  });
}

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2] ?? '') as LoadSpec;
  const warmup: number[] = [];
  if (spec.warmupS > 0) await drive(spec, spec.warmupS, warmup);
  const latencies: number[] = [];
  const result = await drive(spec, spec.durationS, latencies);
  latencies.sort((a, b) => a - b);
  const out: LoadResult = {
    ok: latencies.length,
    warmupOk: warmup.length,
    seconds: result.duration,
    requestsPerS: latencies.length / result.duration,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    errors: result.errors,
    timeouts: result.timeouts,
    non2xx: result.non2xx,
  };
  console.log(JSON.stringify(out));
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.stack : String(err));
  process.exit(1);
});
