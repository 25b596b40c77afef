import { readFileSync } from 'node:fs';
import { EXIT_OK, UsageError, stringOption, type CliCommand, type CommandContext, type OptionValues } from './cli.command';
import { getJson } from './cli.http';
import { formatTable, paint, readAll, type CliIo } from './cli.io';
import { requestOf, type InputSignature, type JsonTensor, type PredictResult, type V2Request } from './predict-request';

interface NodeTiming {
  readonly node: string;
  readonly type: string;
  readonly startMs: number;
  readonly durationMs: number;
  readonly status: string;
}

export const DEFAULT_GRPC_ADDRESS = '127.0.0.1:8081';

export const predictCommand: CliCommand = {
  name: 'predict',
  summary: 'Send one inference request to a running gateway and print the outputs.',
  usage: 'predict [options] <graph> --data <json|@file|->',
  details:
    '--data is a V2 request ({"inputs": [{"name", "datatype", "shape", "data"}]}) or the short form\n' +
    '{"<input>": <nested array>}, whose datatypes are read from the graph\'s metadata. `@file` reads a file,\n' +
    '`-` reads standard input. --trace asks the gateway for per-node timings (request parameter trace: true).\n' +
    'Exit status: 0 answered, 1 the gateway refused or could not be reached, 2 usage error.',
  options: {
    data: { type: 'string', short: 'd', help: '<json|@file|-> the request' },
    url: { type: 'string', short: 'u', help: '<url> gateway REST base URL (INFERGRAPH_GATEWAY, default http://127.0.0.1:8080); with --grpc: <host:port> (default 127.0.0.1:8081)' },
    version: { type: 'string', help: '<version> the graph version to call (404 if it is not the one served)' },
    grpc: { type: 'boolean', help: 'call the V2 gRPC endpoint instead of REST' },
    trace: { type: 'boolean', help: 'print per-node timings' },
    header: { type: 'string', short: 'H', multiple: true, help: '<name:value> extra request header or gRPC metadata (repeatable), e.g. x-user-id:42' },
    json: { type: 'boolean', help: 'print the V2 response as JSON' },
  },
  async run(ctx, values, positionals) {
    const [graph, ...extra] = positionals;
    if (graph === undefined) throw new UsageError('name the graph to call');
    if (extra.length > 0) throw new UsageError(`unexpected arguments: ${extra.join(' ')}`);
    const dataArg = stringOption(values, 'data');
    if (dataArg === undefined) throw new UsageError('--data is required (JSON, @file or - for standard input)');
    const headers = headersOf(values);
    const grpc = values['grpc'] === true;
    const base = (stringOption(values, 'url') ?? (grpc ? DEFAULT_GRPC_ADDRESS : ctx.settings.gatewayUrl)).replace(/\/+$/, '');
    const version = stringOption(values, 'version');
    const data = parseData(await dataText(ctx, dataArg));
    const request = await requestOf(data, () => (grpc ? Promise.reject(new UsageError('the short --data form needs REST metadata; with --grpc send a V2 request {"inputs": [...]}')) : signatureOf(base, graph, headers)));
    const traced: V2Request = values['trace'] === true ? { ...request, parameters: { ...request.parameters, trace: true } } : request;
    // grpc-js loads only when asked for.
    const result = grpc ? await (await import('./predict.grpc.js')).predictOverGrpc(base, graph, version, traced, headers) : await predictOverRest(base, graph, version, traced, headers);
    printResult(ctx.io, result, values['json'] === true, values['trace'] === true);
    return EXIT_OK;
  },
};

function headersOf(values: OptionValues): Record<string, string> {
  const out: Record<string, string> = {};
  const list = values['header'];
  for (const h of Array.isArray(list) ? (list as string[]) : []) {
    const at = h.indexOf(':');
    if (at <= 0) throw new UsageError(`--header must be name:value, got ${JSON.stringify(h)}`);
    out[h.slice(0, at).trim().toLowerCase()] = h.slice(at + 1).trim();
  }
  return out;
}

export async function dataText({ io }: CommandContext, arg: string): Promise<string> {
  if (arg === '-') return readAll(io.stdin);
  if (arg.startsWith('@')) {
    try {
      return readFileSync(arg.slice(1), 'utf8');
    } catch (err) {
      throw new UsageError(`--data ${arg}: ${(err as Error).message}`);
    }
  }
  return arg;
}

export function parseData(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new UsageError(`--data is not JSON: ${(err as Error).message}`);
  }
}

function modelPath(base: string, graph: string, version: string | undefined): string {
  return `${base}/v2/models/${encodeURIComponent(graph)}${version === undefined ? '' : `/versions/${encodeURIComponent(version)}`}`;
}

export async function signatureOf(base: string, graph: string, headers: Record<string, string>): Promise<InputSignature> {
  const meta = (await getJson(`${base}/v2/models/${encodeURIComponent(graph)}`, { headers })) as { inputs?: InputSignature };
  return meta.inputs ?? [];
}

async function predictOverRest(base: string, graph: string, version: string | undefined, request: V2Request, headers: Record<string, string>): Promise<PredictResult> {
  return (await getJson(`${modelPath(base, graph, version)}/infer`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(request),
  })) as PredictResult;
}

function printResult(io: CliIo, result: PredictResult, json: boolean, trace: boolean): void {
  if (json) {
    io.out(JSON.stringify(result, null, 2));
    return;
  }
  io.out(outputsTable(result.outputs));
  const route = result.parameters?.['route'];
  if (typeof route === 'string') io.out(`${paint(io.color, 'dim', 'route')} ${route}`);
  if (trace) {
    const nodes = traceNodes(result.parameters?.['trace']);
    if (nodes === undefined) {
      io.err('the gateway returned no trace (parameters.trace.nodes)');
      return;
    }
    io.out('');
    io.out(
      formatTable(
        ['node', 'type', 'start ms', 'duration ms', 'status'],
        nodes.map((n) => [n.node, n.type, n.startMs.toFixed(3), n.durationMs.toFixed(3), n.status === 'ok' ? n.status : paint(io.color, 'yellow', n.status)]),
      ),
    );
  }
}

function traceNodes(trace: unknown): readonly NodeTiming[] | undefined {
  // Over gRPC a structured parameter arrives as a JSON string.
  const value = typeof trace === 'string' ? (JSON.parse(trace) as unknown) : trace;
  const nodes = (value as { nodes?: unknown } | undefined)?.nodes;
  return Array.isArray(nodes) ? (nodes as NodeTiming[]) : undefined;
}

/** One row per batch row when every output has the same first dimension, else one row per output. */
export function outputsTable(outputs: readonly JsonTensor[]): string {
  const rows = outputs[0]?.shape[0];
  const byRow = rows !== undefined && outputs.every((o) => o.shape.length >= 1 && o.shape[0] === rows);
  if (!byRow) {
    return formatTable(['output', 'datatype', 'shape', 'data'], outputs.map((o) => [o.name, o.datatype, `[${o.shape.join(', ')}]`, render(o.data)]));
  }
  const table: string[][] = [];
  for (let r = 0; r < rows; r++) {
    table.push([String(r), ...outputs.map((o) => {
      const width = o.data.length / rows;
      const cells = o.data.slice(r * width, (r + 1) * width);
      return width === 1 ? render(cells[0]) : render(cells);
    })]);
  }
  return formatTable(['row', ...outputs.map((o) => `${o.name} (${o.datatype})`)], table);
}

function render(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(render).join(', ')}]`;
  if (typeof value === 'number') return Number.isInteger(value) ? String(value) : String(Number(value.toPrecision(6)));
  return typeof value === 'string' ? value : JSON.stringify(value);
}
