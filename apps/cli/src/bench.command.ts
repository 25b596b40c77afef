import { CommandError, EXIT_OK, EXIT_PROBLEMS, UsageError, intOption, stringOption, type CliCommand } from './cli.command';
import { formatTable } from './cli.io';
import { causeOf } from './cli.http';
import { dataText, parseData, signatureOf } from './predict.command';
import { requestOf } from './predict-request';

export interface BenchReport {
  readonly graph: string;
  readonly connections: number;
  readonly durationS: number;
  readonly requests: number;
  readonly errors: number;
  readonly requestsPerSecond: number;
  readonly latencyMs: { readonly p50: number; readonly p90: number; readonly p99: number; readonly max: number };
  /** The first error answers, by status and message, with their counts. */
  readonly errorKinds: Record<string, number>;
}

export const benchCommand: CliCommand = {
  name: 'bench',
  summary: 'A quick closed-loop load run against a running gateway: req/s and latency percentiles.',
  usage: 'bench [options] <graph> --data <json|@file|->',
  details:
    'Each of --connections clients sends the request, waits for the answer and sends the next, for --duration\n' +
    'seconds (keep-alive HTTP through Node\'s fetch; no extra dependency). For figures worth publishing use\n' +
    '`npm run bench` (wrk); this one is for a quick look. Exit status: 0 no request failed, 1 some failed, 2 usage.',
  options: {
    data: { type: 'string', short: 'd', help: '<json|@file|-> the request, as for predict' },
    url: { type: 'string', short: 'u', help: '<url> gateway REST base URL (INFERGRAPH_GATEWAY, default http://127.0.0.1:8080)' },
    connections: { type: 'string', short: 'c', help: '<n> concurrent clients (default 8)' },
    duration: { type: 'string', help: '<seconds> how long to run (default 10)' },
    json: { type: 'boolean', help: 'print the report as JSON' },
  },
  async run(ctx, values, positionals) {
    const [graph, ...extra] = positionals;
    if (graph === undefined) throw new UsageError('name the graph to call');
    if (extra.length > 0) throw new UsageError(`unexpected arguments: ${extra.join(' ')}`);
    const dataArg = stringOption(values, 'data');
    if (dataArg === undefined) throw new UsageError('--data is required (JSON, @file or - for standard input)');
    const connections = intOption(values, 'connections', 1, 10_000) ?? 8;
    const durationS = intOption(values, 'duration', 1, 3600) ?? 10;
    const base = (stringOption(values, 'url') ?? ctx.settings.gatewayUrl).replace(/\/+$/, '');
    const request = await requestOf(parseData(await dataText(ctx, dataArg)), () => signatureOf(base, graph, {}));
    const body = JSON.stringify(request);
    const url = `${base}/v2/models/${encodeURIComponent(graph)}/infer`;
    const latencies: number[] = [];
    const errorKinds: Record<string, number> = {};
    let errors = 0;
    const started = performance.now();
    const endAt = started + durationS * 1000;
    const client = async (): Promise<void> => {
      while (performance.now() < endAt) {
        const t0 = performance.now();
        try {
          const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
          const text = await res.text();
          if (res.ok) latencies.push(performance.now() - t0);
          else {
            errors++;
            const kind = `${res.status} ${text.slice(0, 120)}`;
            errorKinds[kind] = (errorKinds[kind] ?? 0) + 1;
          }
        } catch (err) {
          errors++;
          const kind = causeOf(err);
          errorKinds[kind] = (errorKinds[kind] ?? 0) + 1;
          if (latencies.length === 0 && errors >= connections) throw new CommandError(`cannot reach the gateway at ${base}: ${kind}`);
        }
      }
    };
    await Promise.all(Array.from({ length: connections }, client));
    const elapsedS = (performance.now() - started) / 1000;
    latencies.sort((a, b) => a - b);
    const report: BenchReport = {
      graph,
      connections,
      durationS: Number(elapsedS.toFixed(3)),
      requests: latencies.length + errors,
      errors,
      requestsPerSecond: Number((latencies.length / elapsedS).toFixed(1)),
      latencyMs: { p50: percentile(latencies, 0.5), p90: percentile(latencies, 0.9), p99: percentile(latencies, 0.99), max: percentile(latencies, 1) },
      errorKinds,
    };
    if (values['json'] === true) ctx.io.out(JSON.stringify(report, null, 2));
    else {
      ctx.io.out(`${graph}: ${report.requests} requests in ${report.durationS} s over ${connections} connections, ${errors} failed`);
      ctx.io.out(formatTable(['req/s', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms'], [[String(report.requestsPerSecond), ...[report.latencyMs.p50, report.latencyMs.p90, report.latencyMs.p99, report.latencyMs.max].map((v) => v.toFixed(2))]]));
      for (const [kind, n] of Object.entries(errorKinds)) ctx.io.err(`${n} × ${kind}`);
    }
    return errors === 0 ? EXIT_OK : EXIT_PROBLEMS;
  },
};

/** Nearest-rank percentile of sorted values (0 when there are none). */
export function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0;
  return Number((sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? 0).toFixed(3));
}
