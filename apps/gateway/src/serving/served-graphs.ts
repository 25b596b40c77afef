import type { GraphEntry, GraphRegistry } from '@infergraph/engine';
import type { ServedGraph } from './serving.protocol';

/**
 * Why a graph's requests stay with the gateway process, or undefined when its serving processes may answer
 * them. They may where answering in another process changes nothing a caller or operator sees: not for a
 * graph whose versions are in a canary rollout (one process steps it from what it measures), nor one with
 * drift or outlier detectors (their windows must see every request), nor shadow routes (their counters are
 * the gateway's).
 */
export function keptByGateway(versions: readonly GraphEntry[]): string | undefined {
  for (const entry of versions) {
    const spec = entry.graph?.spec.spec;
    if (spec === undefined) continue;
    if (spec.rollout !== undefined) return 'a canary rollout';
    for (const node of spec.nodes) {
      if (node.type === 'drift' || node.type === 'outlier') return `${node.type === 'drift' ? 'a drift' : 'an outlier'} detector (${node.name})`;
      if (node.type === 'router' && node.router.shadow !== undefined) return `a shadow route (${node.name})`;
    }
  }
  return undefined;
}

/** The graphs serving processes may answer now, with every ready version and the default one. */
export function servedGraphs(registry: Pick<GraphRegistry, 'list' | 'defaultVersion'>): ServedGraph[] {
  const byName = new Map<string, GraphEntry[]>();
  for (const entry of registry.list()) byName.set(entry.name, [...(byName.get(entry.name) ?? []), entry]);
  const served: ServedGraph[] = [];
  for (const [name, entries] of byName) {
    if (keptByGateway(entries) !== undefined) continue;
    const defaultVersion = registry.defaultVersion(name);
    const versions = entries
      .filter((e) => e.state === 'ready' && e.graph !== undefined && e.version !== undefined && e.contentHash !== '')
      .map((e) => ({ version: e.version as string, hash: e.contentHash, file: e.file }));
    if (defaultVersion === undefined || !versions.some((v) => v.version === defaultVersion)) continue;
    served.push({ name, defaultVersion, versions });
  }
  return served;
}
