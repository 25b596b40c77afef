import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { PLACED_NODE_TYPES, demandsOf, type ScalePolicy } from '@infergraph/cluster';
import { PathPolicy, checkModelFile, parseGraphSourceOffLoop, resolveModelPath } from '@infergraph/engine';
import type { ReplicaDemand } from '@infergraph/placement';
import { MAX_GRAPH_BYTES, NodeKey, diagnosticsWith, formatDiagnostic, parseGraphSource, screenGraphSource, type ParseGraphOptions, type ParsedGraphSource } from '@infergraph/spec';

export interface CatalogEntry {
  /** The graph id (`NodeKey.graphId`): the catalogue's key, the name placement, assignments and catalogues use. */
  readonly id: string;
  readonly name: string;
  /** `spec.version`; undefined when the graph failed before it was known. */
  readonly version: string | undefined;
  /**
   * Absolute path of the graph file (an InferenceGraph's: a name under the models directory, where its
   * relative paths resolve). Workers and gateways get it as a label and a base, never to read.
   */
  readonly file: string;
  /** The graph document checked (UTF-8 text of its bytes): what workers and gateways load. Empty when it failed. */
  readonly document: string;
  readonly demands: readonly ReplicaDemand[];
  /** Nodes with `replicas: {min, max, targetInFlight}`. */
  readonly scaling: readonly ScalePolicy[];
  readonly error: string | undefined;
  /** sha256 (hex) of the bytes checked; empty when the file could not be read. */
  readonly contentHash: string;
}

/** A broken file near the size limit can hold thousands of problems; a message lists this many. */
const MAX_LISTED_PROBLEMS = 50;

/**
 * Reads a graph file and turns its placeable nodes into replica demands (no model is opened). Never
 * throws: a file that cannot be read, is not a regular file, is too large, unsafe to parse (an alias bomb)
 * or invalid comes back with `error`. `label` names the file in problems (the absolute path by default);
 * `paths` says where its models, modules and references may be (default PathPolicy.defaults()).
 */
export function readGraphFile(file: string, label = file, paths = PathPolicy.defaults()): CatalogEntry {
  const fallback = nameOfFile(file);
  let bytes: Buffer;
  try {
    // stat first: reading a FIFO would block, reading a huge file would waste memory.
    const stat = statSync(file);
    if (!stat.isFile()) return failed(fallback, file, '', `${label} is not a regular file`);
    if (stat.size > MAX_GRAPH_BYTES) return failed(fallback, file, '', `${label} is ${stat.size} bytes; a graph file may be at most ${MAX_GRAPH_BYTES} bytes (${MAX_GRAPH_BYTES / 1024} KiB)`);
    bytes = readFileSync(file);
  } catch (err) {
    return failed(fallback, file, '', `cannot read ${label}: ${messageOf(err)}`);
  }
  return readGraphSource(bytes, file, label, paths);
}

/**
 * Checks graph source bytes as if they were the file `file` (relative paths resolve beside it), with every
 * model, module and reference inside `paths`' roots (nothing is opened but model files' metadata). Never throws.
 */
export function readGraphSource(bytes: Uint8Array, file: string, label: string, paths = PathPolicy.defaults()): CatalogEntry {
  return checkSource(bytes, file, label, paths, (text, options) => parseGraphSource(text, label, options));
}

/**
 * readGraphSource with the document parsed in the loading thread (an admin POST or PUT). `screened`: the
 * document's text, already screened there (preparePostedGraph), so the event loop does not screen it again.
 */
export function readGraphSourceOffLoop(bytes: Uint8Array, file: string, label: string, paths = PathPolicy.defaults(), screened?: string): Promise<CatalogEntry> {
  return checkSource(bytes, file, label, paths, (text, options) => parseGraphSourceOffLoop(text, label, options), screened);
}

type Parse<R> = (text: string, options: ParseGraphOptions) => R;

function checkSource(bytes: Uint8Array, file: string, label: string, paths: PathPolicy, parse: Parse<ParsedGraphSource>): CatalogEntry;
function checkSource(bytes: Uint8Array, file: string, label: string, paths: PathPolicy, parse: Parse<Promise<ParsedGraphSource>>, prescreened?: string): Promise<CatalogEntry>;
function checkSource(bytes: Uint8Array, file: string, label: string, paths: PathPolicy, parse: Parse<ParsedGraphSource | Promise<ParsedGraphSource>>, prescreened?: string): CatalogEntry | Promise<CatalogEntry> {
  const contentHash = createHash('sha256').update(bytes).digest('hex');
  const fallback = nameOfFile(file);
  const screened = prescreened === undefined ? screenGraphSource(bytes) : { text: prescreened };
  if ('problem' in screened) return failed(fallback, file, contentHash, `${label} ${screened.problem}`);
  const finish = (parsed: ParsedGraphSource): CatalogEntry => {
    try {
      return entryOf(bytes, file, label, paths, parsed, contentHash, fallback);
    } catch (err) {
      // The demand estimate is not meant to throw; one that does must not stop the controller.
      return failed(fallback, file, contentHash, `${label}: cannot check the graph: ${messageOf(err)}`);
    }
  };
  const broken = (err: unknown): CatalogEntry => failed(fallback, file, contentHash, `${label}: cannot check the graph: ${messageOf(err)}`);
  let parsed: ParsedGraphSource | Promise<ParsedGraphSource>;
  try {
    // The parser is not meant to throw; one that does must not stop the controller.
    parsed = parse(screened.text, { checkModelUri: (uri) => checkModelFile(file, uri, paths) });
  } catch (err) {
    return broken(err);
  }
  return parsed instanceof Promise ? parsed.then(finish, broken) : finish(parsed);
}

/** The catalogue entry of a parsed document: failed with every problem, or its demands and scaling. */
function entryOf(bytes: Uint8Array, file: string, label: string, paths: PathPolicy, parsed: ParsedGraphSource, contentHash: string, fallback: string): CatalogEntry {
  const outside = paths.confineNodes(file, parsed.partial.nodes).problems;
  if (parsed.graph === undefined || outside.length > 0) {
    const name = typeof parsed.partial.name === 'string' && parsed.partial.name !== '' ? parsed.partial.name : fallback;
    return failed(name, file, contentHash, listProblems(diagnosticsWith(parsed, outside).map(formatDiagnostic)));
  }
  const graph = parsed.graph;
  const sizes = new Map<string, number>();
  for (const node of graph.spec.nodes) {
    if (node.type !== 'model') continue;
    const resolved = resolveModelPath(file, node.model.uri, paths);
    if (typeof resolved === 'string') sizes.set(node.name, statSync(resolved).size);
  }
  const scaling = graph.spec.nodes.flatMap((n) =>
    PLACED_NODE_TYPES.includes(n.type) && typeof n.replicas === 'object'
      ? [{ key: NodeKey.format(graph.metadata.name, n.name, graph.spec.version), min: n.replicas.min, max: n.replicas.max, targetInFlight: n.replicas.targetInFlight }]
      : [],
  );
  const document = Buffer.from(bytes).toString('utf8'); // lossless: the screen accepted only UTF-8, and a BOM stays
  const { name, version } = { name: graph.metadata.name, version: graph.spec.version };
  return { id: NodeKey.graphId(name, version), name, version, file, document, demands: demandsOf(graph, label, (node) => sizes.get(node)), scaling, error: undefined, contentHash };
}

export interface GraphFileRef {
  readonly file: string;
  /** The GRAPHS_DIR entry it was found in. */
  readonly dir: string;
}

/** The `*.yaml`/`*.yml` files of each directory, in order; a directory that cannot be listed is a problem, not a throw. */
export function graphFilesIn(dirs: readonly string[]): { files: GraphFileRef[]; problems: string[] } {
  const files: GraphFileRef[] = [];
  const problems: string[] = [];
  for (const dir of dirs) {
    try {
      for (const n of readdirSync(dir).filter((n) => /\.ya?ml$/.test(n)).sort()) files.push({ file: path.join(dir, n), dir });
    } catch (err) {
      problems.push(`cannot list GRAPHS_DIR entry ${dir}: ${messageOf(err)}`);
    }
  }
  return { files, problems };
}

function nameOfFile(file: string): string {
  return path.basename(file).replace(/\.ya?ml$/, '');
}

function failed(name: string, file: string, contentHash: string, error: string): CatalogEntry {
  return { id: name, name, version: undefined, file, document: '', demands: [], scaling: [], error, contentHash };
}

function listProblems(lines: readonly string[]): string {
  if (lines.length <= MAX_LISTED_PROBLEMS) return lines.join('\n');
  return [...lines.slice(0, MAX_LISTED_PROBLEMS), `… and ${lines.length - MAX_LISTED_PROBLEMS} more problems`].join('\n');
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
