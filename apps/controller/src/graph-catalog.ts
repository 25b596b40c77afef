import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { PLACED_NODE_TYPES, demandsOf, nodeKey, type ScalePolicy } from '@infergraph/cluster';
import { checkModelFile, resolveModelPath } from '@infergraph/engine';
import type { ReplicaDemand } from '@infergraph/placement';
import { parseGraphSource, formatDiagnostic } from '@infergraph/spec';

export interface CatalogEntry {
  readonly name: string;
  readonly file: string;
  readonly demands: readonly ReplicaDemand[];
  /** Nodes with `replicas: {min, max, targetInFlight}`. */
  readonly scaling: readonly ScalePolicy[];
  readonly error: string | undefined;
}

/** Reads a graph file and turns its placeable nodes into replica demands (no model is opened). */
export function readGraphFile(file: string): CatalogEntry {
  const fallback = path.basename(file).replace(/\.ya?ml$/, '');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    return { name: fallback, file, demands: [], scaling: [], error: `cannot read ${file}: ${err instanceof Error ? err.message : String(err)}` };
  }
  const parsed = parseGraphSource(text, file, { checkModelUri: (uri) => checkModelFile(file, uri) });
  if (parsed.graph === undefined) {
    return { name: fallback, file, demands: [], scaling: [], error: parsed.diagnostics.map(formatDiagnostic).join('\n') };
  }
  const graph = parsed.graph;
  const sizes = new Map<string, number>();
  for (const node of graph.spec.nodes) {
    if (node.type !== 'model') continue;
    const resolved = resolveModelPath(file, node.model.uri);
    if (typeof resolved === 'string') sizes.set(node.name, statSync(resolved).size);
  }
  const scaling = graph.spec.nodes.flatMap((n) =>
    PLACED_NODE_TYPES.includes(n.type) && typeof n.replicas === 'object'
      ? [{ key: nodeKey(graph.metadata.name, n.name), min: n.replicas.min, max: n.replicas.max, targetInFlight: n.replicas.targetInFlight }]
      : [],
  );
  return { name: graph.metadata.name, file, demands: demandsOf(graph, file, (node) => sizes.get(node)), scaling, error: undefined };
}

export function graphFilesIn(dirs: readonly string[]): string[] {
  return dirs.flatMap((dir) =>
    readdirSync(dir)
      .filter((n) => /\.ya?ml$/.test(n))
      .sort()
      .map((n) => path.join(dir, n)),
  );
}
