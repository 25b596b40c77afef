import { spawn } from 'node:child_process';
import http from 'node:http';
import { monotonicMs } from './clock';

// A constant-rate (open-loop) HTTP load generator that runs as its own OS process, so the load does not
// share an event loop with the test that kills things. Every response is recorded; the summary goes to
// stdout as one JSON line when the run ends.
//
//   node dist/test/support/load-generator.js <url> <rate per second> <duration ms> <JSON body>

/** One request that did not get a 200: when it was sent (ms after start), and what came back. */
export interface LoadFailure {
  readonly atMs: number;
  readonly status: number;
  readonly error: string;
}

export interface LoadSummary {
  /** When the first request was sent, on the machine's monotonic clock (`monotonicMs()`); every `atMs` counts from it. */
  readonly startedAtMs: number;
  readonly sent: number;
  readonly ok: number;
  readonly failures: readonly LoadFailure[];
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  /** Requests per second actually sent. */
  readonly rate: number;
  /** Every request as [sent at, ms after start; latency, ms], in the order sent. */
  readonly samples: readonly (readonly [number, number])[];
}

/** A running load generator process. */
export interface RunningLoad {
  readonly done: Promise<LoadSummary>;
}

/** Starts the generator as a separate node process; resolves `done` with its summary. */
export function startLoad(url: string, ratePerSecond: number, durationMs: number, body: unknown): RunningLoad {
  const child = spawn(process.execPath, [__filename, url, String(ratePerSecond), String(durationMs), JSON.stringify(body)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  const done = new Promise<LoadSummary>((resolve, reject) => {
    child.once('exit', (code) => {
      const line = out.trim().split('\n').pop() ?? '';
      try {
        resolve(JSON.parse(line) as LoadSummary);
      } catch {
        reject(new Error(`load generator exited with ${code} without a summary: ${out}`));
      }
    });
  });
  return { done };
}

/** Failures of requests sent in [fromMs, toMs) (times of `monotonicMs()`, e.g. taken at a kill). */
export function failuresBetween(summary: LoadSummary, fromMs: number, toMs: number): LoadFailure[] {
  return summary.failures.filter((f) => summary.startedAtMs + f.atMs >= fromMs && summary.startedAtMs + f.atMs < toMs);
}

/** The p99 latency (ms) of the requests sent in [fromMs, toMs) (times of `monotonicMs()`); undefined when none was. */
export function p99Between(summary: LoadSummary, fromMs: number, toMs: number): number | undefined {
  const inWindow = summary.samples
    .filter(([atMs]) => summary.startedAtMs + atMs >= fromMs && summary.startedAtMs + atMs < toMs)
    .map(([, ms]) => ms)
    .sort((a, b) => a - b);
  return inWindow.length === 0 ? undefined : inWindow[Math.min(inWindow.length - 1, Math.floor(0.99 * inWindow.length))];
}

/** A short description for assertion messages: the first failures and their count per error. */
export function describeFailures(summary: LoadSummary): string {
  const counts = new Map<string, number>();
  for (const f of summary.failures) counts.set(`${f.status} ${f.error}`, (counts.get(`${f.status} ${f.error}`) ?? 0) + 1);
  return `${summary.failures.length} of ${summary.sent} failed: ${JSON.stringify([...counts].slice(0, 5))}; first at ${summary.failures.map((f) => f.atMs).slice(0, 5).join(', ')} ms`;
}

async function run(url: string, rate: number, durationMs: number, body: string): Promise<LoadSummary> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  const target = new URL(url);
  const latencies: number[] = [];
  const samples: [number, number][] = [];
  const failures: LoadFailure[] = [];
  let sent = 0;
  let ok = 0;
  const start = performance.now();
  const startedAtMs = monotonicMs();
  const one = (atMs: number): Promise<void> =>
    new Promise((resolve) => {
      const t0 = performance.now();
      const req = http.request(
        { host: target.hostname, port: target.port, path: target.pathname, method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }, timeout: 30_000 },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            latencies.push(performance.now() - t0);
            samples.push([Math.round(atMs), Math.round((performance.now() - t0) * 10) / 10]);
            if (res.statusCode === 200) ok++;
            else failures.push({ atMs: Math.round(atMs), status: res.statusCode ?? 0, error: errorOf(Buffer.concat(chunks).toString()) });
            resolve();
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error('timed out after 30 s')));
      req.on('error', (err) => {
        latencies.push(performance.now() - t0);
        samples.push([Math.round(atMs), Math.round((performance.now() - t0) * 10) / 10]);
        failures.push({ atMs: Math.round(atMs), status: 0, error: err.message });
        resolve();
      });
      req.end(body);
    });
  const pending: Promise<void>[] = [];
  const gapMs = 1000 / rate;
  // Open loop: request i goes out at i * gap, whatever happened to the ones before it.
  for (let i = 0; i * gapMs < durationMs; i++) {
    const due = start + i * gapMs;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    sent++;
    pending.push(one(performance.now() - start));
  }
  await Promise.all(pending);
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const at = (q: number): number => Math.round((latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0) * 10) / 10;
  samples.sort((a, b) => a[0] - b[0]);
  return { startedAtMs, sent, ok, failures, p50Ms: at(0.5), p99Ms: at(0.99), maxMs: at(1), rate: Math.round((sent / (performance.now() - start)) * 1000), samples };
}

function errorOf(text: string): string {
  try {
    const error = (JSON.parse(text) as { error?: unknown }).error;
    return (typeof error === 'string' ? error : text).slice(0, 200);
  } catch {
    return text.slice(0, 200);
  }
}

if (require.main === module) {
  const [url, rate, duration, body] = process.argv.slice(2);
  if (url === undefined || rate === undefined || duration === undefined || body === undefined) {
    console.error('usage: load-generator <url> <rate per second> <duration ms> <JSON body>');
    process.exit(2);
  }
  run(url, Number(rate), Number(duration), body).then(
    (summary) => process.stdout.write(`${JSON.stringify(summary)}\n`),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
