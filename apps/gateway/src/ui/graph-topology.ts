import { GATEWAY_POOL, parseTensorRef, remoteNodesOf, type GraphSpec } from '@infergraph/spec';
import type { NodeBusKind } from '@infergraph/executor';

/** A graph as the dashboard draws it: nodes and the edges between them (who reads whose outputs). */
export interface GraphTopology {
  readonly graph: string;
  readonly nodes: readonly {
    readonly name: string;
    readonly type: string;
    /** Where its calls run: `in-process`, `grpc` (worker replicas) or `kafka` (node topics). */
    readonly transport: string;
    /** Wanted replicas on workers (`min-max` when autoscaled); absent for in-process nodes. */
    readonly replicas?: string;
    /** Routers: their routes and shadows, by name. */
    readonly routes?: readonly string[];
    readonly shadows?: readonly string[];
  }[];
  /** `from` → `to`; `shadow` when the edge only carries a router's mirrored traffic. */
  readonly edges: readonly { readonly from: string; readonly to: string; readonly shadow: boolean }[];
  /** Nodes reading graph.inputs, and nodes whose outputs are the graph's. */
  readonly entry: readonly string[];
  readonly exit: readonly string[];
}

/** The DAG of a graph document, with each node's transport under this gateway's node bus. */
export function topologyOf(graph: GraphSpec, bus: NodeBusKind): GraphTopology {
  const kafka = graph.spec.transport === 'kafka';
  const remote = new Set(bus === 'inprocess' && !kafka ? [] : remoteNodesOf(graph));
  const shadowed = new Map<string, Set<string>>();
  for (const n of graph.spec.nodes) {
    if (n.type !== 'router') continue;
    for (const s of n.router.shadow ?? []) for (const to of s.to) (shadowed.get(n.name) ?? shadowed.set(n.name, new Set()).get(n.name))?.add(to);
  }
  const edges = new Map<string, { from: string; to: string; shadow: boolean }>();
  const entry: string[] = [];
  for (const n of graph.spec.nodes) {
    for (const input of n.inputs) {
      const ref = parseTensorRef(input);
      if (typeof ref === 'string') continue;
      if (ref.kind === 'graph-inputs') {
        if (!entry.includes(n.name)) entry.push(n.name);
        continue;
      }
      edges.set(`${ref.node}>${n.name}`, { from: ref.node, to: n.name, shadow: shadowed.get(ref.node)?.has(n.name) === true });
    }
  }
  const exit: string[] = [];
  for (const o of graph.spec.outputs) {
    const sources = typeof o === 'string' ? [o] : Array.isArray(o.source) ? o.source : [o.source];
    for (const s of sources) {
      const ref = parseTensorRef(s);
      if (typeof ref !== 'string' && ref.kind === 'node' && !exit.includes(ref.node)) exit.push(ref.node);
    }
  }
  return {
    graph: graph.metadata.name,
    nodes: graph.spec.nodes.map((n) => {
      const onWorkers = remote.has(n.name) && n.resources?.pool !== GATEWAY_POOL;
      const transport = !onWorkers ? 'in-process' : kafka ? 'kafka' : bus;
      const r = n.replicas;
      return {
        name: n.name,
        type: n.type,
        transport,
        ...(onWorkers ? { replicas: r === undefined ? '1' : typeof r === 'number' ? String(r) : `${r.min}-${r.max}` } : {}),
        ...(n.type === 'router' ? { routes: n.router.routes.map((x) => x.name), shadows: (n.router.shadow ?? []).map((x) => x.name) } : {}),
      };
    }),
    edges: [...edges.values()],
    entry,
    exit,
  };
}
