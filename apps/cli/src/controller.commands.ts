import { readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import { CommandError, EXIT_OK, EXIT_PROBLEMS, UsageError, intOption, stringOption, type CliCommand } from './cli.command';
import { getJson } from './cli.http';
import { formatTable, paint, type CliIo } from './cli.io';
import { CONTROLLER_OPTIONS, ControllerClient, type ClusterStatusJson, type DescribedGraph } from './controller.client';
import { findGraphFiles } from './graph-files.finder';

const JSON_OPTION = { json: { type: 'boolean', help: 'print the controller\'s answer as JSON' } } as const;

export const applyCommand: CliCommand = {
  name: 'apply',
  summary: 'Create or replace graphs on a controller (PUT /v1/graphs/<metadata.name>).',
  usage: 'apply [options] <files|dirs...>',
  details: 'Each file\'s metadata.name names the graph. Exit status: 0 all applied, 1 any refused, 2 usage error.',
  options: { ...CONTROLLER_OPTIONS, ...JSON_OPTION },
  async run(ctx, values, positionals) {
    if (positionals.length === 0) throw new UsageError('name at least one graph file or directory');
    const files = findGraphFiles(positionals);
    const client = new ControllerClient(ctx, values);
    const results: { file: string; name?: string; created?: boolean; graph?: DescribedGraph; error?: string }[] = [];
    for (const file of files) {
      const text = readFileSync(file, 'utf8');
      const name = graphNameOf(text);
      if (name === undefined) {
        results.push({ file, error: 'no metadata.name: not an infergraph graph document' });
        continue;
      }
      try {
        const { created, graph } = await client.put(name, text);
        results.push({ file, name, created, graph });
      } catch (err) {
        if (!(err instanceof CommandError)) throw err;
        results.push({ file, name, error: err.message });
      }
    }
    if (values['json'] === true) ctx.io.out(JSON.stringify({ results }, null, 2));
    else {
      for (const r of results) {
        if (r.error !== undefined) ctx.io.err(`${paint(ctx.io.errColor, 'red', 'refused')} ${r.file}${r.name === undefined ? '' : ` (graph ${r.name})`}: ${r.error}`);
        else ctx.io.out(`graph ${r.name} ${r.created === true ? 'created' : 'replaced'} from ${r.file}`);
      }
    }
    return results.some((r) => r.error !== undefined) ? EXIT_PROBLEMS : EXIT_OK;
  },
};

export const deleteCommand: CliCommand = {
  name: 'delete',
  summary: 'Remove a graph posted to a controller (DELETE /v1/graphs/<graph>); GRAPHS_DIR graphs cannot be removed.',
  usage: 'delete [options] <graph>',
  options: { ...CONTROLLER_OPTIONS, ...JSON_OPTION },
  async run(ctx, values, positionals) {
    const name = singleName(positionals, 'graph');
    const removed = await new ControllerClient(ctx, values).remove(name);
    if (values['json'] === true) ctx.io.out(JSON.stringify(removed, null, 2));
    else ctx.io.out(`graph ${name} deleted`);
    return EXIT_OK;
  },
};

export const getCommand: CliCommand = {
  name: 'get',
  summary: "List a controller's graphs (get graphs), its workers, replicas and pending placements (get cluster), or a gateway's canary rollouts (get rollouts).",
  usage: 'get [options] graphs|cluster|rollouts',
  details:
    'rollouts are a gateway\'s (each gateway judges its own traffic): --gateway <url> (INFERGRAPH_GATEWAY, config file "gateway")\n' +
    'and --ops-token <token> (INFERGRAPH_OPS_TOKEN), the gateway\'s OPS_TOKEN when it has one.',
  options: {
    ...CONTROLLER_OPTIONS,
    ...JSON_OPTION,
    gateway: { type: 'string', short: 'g', help: '<url> gateway REST base URL, for rollouts (INFERGRAPH_GATEWAY, default http://127.0.0.1:8080)' },
    'ops-token': { type: 'string', help: "<token> the gateway's OPS_TOKEN, for rollouts (INFERGRAPH_OPS_TOKEN)" },
  },
  async run(ctx, values, positionals) {
    const what = singleName(positionals, 'what to get (graphs, cluster or rollouts)');
    if (what === 'rollouts') {
      const rollouts = await gatewayRollouts(ctx.settings.gatewayUrl, stringOption(values, 'gateway'), stringOption(values, 'ops-token') ?? ctx.settings.env['INFERGRAPH_OPS_TOKEN']);
      if (values['json'] === true) ctx.io.out(JSON.stringify({ rollouts }, null, 2));
      else printRollouts(ctx.io, rollouts);
      return EXIT_OK;
    }
    const client = new ControllerClient(ctx, values);
    if (what === 'graphs') {
      const { graphs } = await client.graphs();
      if (values['json'] === true) ctx.io.out(JSON.stringify({ graphs }, null, 2));
      else printGraphs(ctx.io, graphs);
      return EXIT_OK;
    }
    if (what === 'cluster') {
      const status = await client.cluster();
      if (values['json'] === true) ctx.io.out(JSON.stringify(status, null, 2));
      else printCluster(ctx.io, status);
      return EXIT_OK;
    }
    throw new UsageError(`cannot get ${JSON.stringify(what)}: expected graphs, cluster or rollouts`);
  },
};

/** A rollout as a gateway's `GET /v1/rollouts` lists it (libs/engine RolloutStatus; the fields shown here). */
interface RolloutJson {
  readonly graph: string;
  readonly from: string;
  readonly to: string;
  readonly phase: string;
  readonly step: number;
  readonly steps: number;
  readonly paused: boolean;
  readonly weightPercent: number;
  readonly measurements?: { readonly candidate?: { readonly requests?: number; readonly errorRatio?: number } };
  readonly lastJudgement?: { readonly reason?: string } | undefined;
}

async function gatewayRollouts(configured: string, flag: string | undefined, token: string | undefined): Promise<RolloutJson[]> {
  const url = `${(flag ?? configured).replace(/\/+$/, '')}/v1/rollouts`;
  const headers: Record<string, string> = token === undefined || token === '' ? {} : { authorization: `Bearer ${token}` };
  const body = await getJson(url, { headers }, { on401: "give the gateway's OPS_TOKEN with --ops-token or INFERGRAPH_OPS_TOKEN" });
  const rollouts = (body as { rollouts?: unknown }).rollouts;
  if (!Array.isArray(rollouts)) throw new CommandError(`GET ${url}: the answer has no "rollouts" list`);
  return rollouts as RolloutJson[];
}

function printRollouts(io: CliIo, rollouts: readonly RolloutJson[]): void {
  if (rollouts.length === 0) {
    io.out('no rollouts');
    return;
  }
  io.out(
    formatTable(
      ['graph', 'from', 'to', 'phase', 'step', 'weight %', 'requests (new)', 'error ratio (new)'],
      rollouts.map((r) => [
        r.graph,
        r.from,
        r.to,
        r.paused ? `${r.phase} (paused)` : r.phase === 'rolled-back' ? paint(io.color, 'red', r.phase) : r.phase,
        `${r.step}/${r.steps}`,
        String(r.weightPercent),
        String(r.measurements?.candidate?.requests ?? 0),
        (r.measurements?.candidate?.errorRatio ?? 0).toFixed(3),
      ]),
    ),
  );
  for (const r of rollouts) if (r.lastJudgement?.reason !== undefined) io.out(`${r.graph}: ${r.lastJudgement.reason}`);
}

export const statusCommand: CliCommand = {
  name: 'status',
  summary: 'Show a graph\'s state on a controller and its replicas, node by node.',
  usage: 'status [options] <graph>',
  details:
    '--wait polls until every node has as many READY replicas as it wants, with a progress line on stderr.\n' +
    'Exit status: 0 valid and (with --wait) ready, 1 failed, unknown or not ready within --timeout, 2 usage error.',
  options: {
    ...CONTROLLER_OPTIONS,
    ...JSON_OPTION,
    wait: { type: 'boolean', short: 'w', help: 'wait until every replica is READY' },
    timeout: { type: 'string', help: '<seconds> how long --wait waits (default 120)' },
  },
  async run(ctx, values, positionals) {
    const name = singleName(positionals, 'graph');
    const timeoutS = intOption(values, 'timeout', 1, 86_400) ?? 120;
    const client = new ControllerClient(ctx, values);
    const deadline = Date.now() + timeoutS * 1000;
    let lastLine = '';
    for (;;) {
      const graph = (await client.graphs()).graphs.find((g) => g.name === name);
      if (graph === undefined) throw new CommandError(`the controller has no graph "${name}"`);
      const status = await client.cluster();
      const progress = readinessOf(name, status);
      const done = graph.state === 'failed' || values['wait'] !== true || progress.ready;
      if (done || Date.now() > deadline) {
        if (lastLine !== '' && ctx.io.errTty) ctx.io.err('');
        if (values['json'] === true) ctx.io.out(JSON.stringify({ graph, ready: progress.ready, nodes: progress.nodes, pending: progress.pending }, null, 2));
        else printStatus(ctx.io, graph, progress);
        if (!done) ctx.io.err(`graph ${name} not ready within ${timeoutS} s`);
        return graph.state === 'valid' && (values['wait'] !== true || progress.ready) ? EXIT_OK : EXIT_PROBLEMS;
      }
      const line = `waiting for ${name}: ${progress.readyReplicas}/${progress.wantedReplicas} replicas ready${progress.pending[0] === undefined ? '' : ` (pending: ${progress.pending[0].reason})`}`;
      // On a terminal the line rewrites itself; elsewhere each change is one line.
      if (ctx.io.errTty) process.stderr.write(`\r\u001b[2K${line}`);
      else if (line !== lastLine) ctx.io.err(line);
      lastLine = line;
      await new Promise((r) => setTimeout(r, 500));
    }
  },
};

interface Readiness {
  readonly ready: boolean;
  readonly readyReplicas: number;
  readonly wantedReplicas: number;
  readonly nodes: { key: string; wanted: number; ready: number; replicas: ClusterStatusJson['graphs'][number]['nodes'][number]['replicas'] }[];
  readonly pending: ClusterStatusJson['pending'];
}

/** Ready when every node of the graph has at least as many READY replicas as it wants. */
export function readinessOf(name: string, status: ClusterStatusJson): Readiness {
  const nodes = (status.graphs.find((g) => g.name === name)?.nodes ?? []).map((n) => ({
    key: n.key,
    wanted: n.wanted,
    ready: n.replicas.filter((r) => r.state === 'READY' && r.leaving !== true).length,
    replicas: n.replicas,
  }));
  const readyReplicas = nodes.reduce((s, n) => s + Math.min(n.ready, n.wanted), 0);
  const wantedReplicas = nodes.reduce((s, n) => s + n.wanted, 0);
  const pending = status.pending.filter((p) => p.key.startsWith(`${name}.`));
  return { ready: nodes.every((n) => n.ready >= n.wanted), readyReplicas, wantedReplicas, nodes, pending };
}

function printStatus(io: CliIo, graph: DescribedGraph, progress: Readiness): void {
  const state = graph.state === 'valid' ? paint(io.color, 'green', 'valid') : paint(io.color, 'red', 'failed');
  io.out(`graph ${graph.name}: ${state} (${graph.source}, ${graph.file}, sha256 ${graph.contentHash.slice(0, 12)})`);
  if (graph.error !== undefined) io.out(graph.error);
  if (progress.nodes.length === 0) {
    io.out('no nodes placed on workers (in-process graph, or no workers yet)');
  } else {
    io.out(
      formatTable(
        ['node', 'ready', 'replicas'],
        progress.nodes.map((n) => [n.key, `${n.ready}/${n.wanted}`, n.replicas.map((r) => `${r.replica}@${r.worker}:${r.state}${r.reason === '' ? '' : ` (${r.reason})`}`).join(', ')]),
      ),
    );
  }
  for (const p of progress.pending) io.out(`${paint(io.color, 'yellow', 'pending')} ${p.key}#${p.replica}: ${p.reason}`);
}

function printGraphs(io: CliIo, graphs: readonly DescribedGraph[]): void {
  io.out(
    formatTable(
      ['name', 'state', 'source', 'nodes', 'sha256'],
      graphs.map((g) => [g.name, g.state === 'valid' ? g.state : paint(io.color, 'red', g.state), g.source, String(g.nodes.length), g.contentHash.slice(0, 12)]),
    ),
  );
  for (const g of graphs.filter((x) => x.error !== undefined)) io.out(`${g.name}: ${g.error ?? ''}`);
}

function printCluster(io: CliIo, status: ClusterStatusJson): void {
  io.out(
    formatTable(
      ['worker', 'pool', 'address', 'replicas', 'free cpu', 'free memory', 'heartbeat age ms'],
      status.workers.map((w) => [w.draining ? `${w.id} (draining)` : w.id, w.pool, w.address, String(w.replicas), String(w.free.cpu), w.free.memory, String(w.lastHeartbeatAgeMs)]),
    ),
  );
  io.out('');
  const rows = status.graphs.flatMap((g) => g.nodes.map((n) => [n.key, `${n.replicas.filter((r) => r.state === 'READY').length}/${n.wanted}`, n.replicas.map((r) => `${r.worker}:${r.state}`).join(', ')]));
  io.out(formatTable(['node', 'ready', 'replicas'], rows));
  for (const p of status.pending) io.out(`${paint(io.color, 'yellow', 'pending')} ${p.key}#${p.replica}: ${p.reason}`);
}

function singleName(positionals: readonly string[], what: string): string {
  const [name, ...extra] = positionals;
  if (name === undefined) throw new UsageError(`name the ${what}`);
  if (extra.length > 0) throw new UsageError(`unexpected arguments: ${extra.join(' ')}`);
  return name;
}

function graphNameOf(text: string): string | undefined {
  const name: unknown = (parseDocument(text, { logLevel: 'error' }).toJS({ maxAliasCount: 100 }) as { metadata?: { name?: unknown } } | null)?.metadata?.name;
  return typeof name === 'string' && name !== '' ? name : undefined;
}
