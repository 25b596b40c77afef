import type { GraphProblem } from './graph.diagnostic';
import type { GraphOutputSpec, NodeSpec } from './graph-spec.schema';
import { parseTensorRef, type TensorRef } from './tensor-ref.parser';

/** One route decision a node depends on: it runs only when `router` takes `route`. */
export interface RouteCondition {
  readonly router: string;
  readonly route: string;
}

export interface RouteGate {
  readonly router: string;
  readonly route: string;
  readonly shadow: boolean;
}

export interface RoutingAnalysis {
  /** Route decisions that must all hold for a node to run (empty: always runs). */
  readonly guards: ReadonlyMap<string, readonly RouteCondition[]>;
  /** Nodes whose results are discarded: shadow targets and everything fed only by them. */
  readonly shadow: ReadonlySet<string>;
  /** Nodes listed in a route's or shadow's `to`. */
  readonly gates: ReadonlyMap<string, RouteGate>;
  readonly problems: readonly GraphProblem[];
  /** Whether two nodes can never both run in one request (different routes of one router). */
  exclusive(a: string | undefined, b: string | undefined): boolean;
}

/** The parts routing reads, at their declared indexes; undefined where a part has problems. */
export interface RoutedParts {
  readonly nodes: readonly (NodeSpec | undefined)[];
  readonly outputs: readonly (GraphOutputSpec | undefined)[];
}

const MAX_ROUTE_COMBINATIONS = 4096;

/**
 * Which nodes run under which route decisions, which are shadows, and whether every graph output
 * has a value whichever routes are taken. Runs after structure validation (names and refs resolve).
 * Broken parts are left out: they only hide problems here, never invent them.
 */
export function analyzeRouting(graph: RoutedParts, order: readonly string[]): RoutingAnalysis {
  const problems: GraphProblem[] = [];
  const nodes = new Map<string, { node: NodeSpec; index: number }>();
  graph.nodes.forEach((node, index) => {
    if (node !== undefined) nodes.set(node.name, { node, index });
  });
  const gates = new Map<string, RouteGate>();
  const routesOf = new Map<string, string[]>();
  for (const { node } of nodes.values()) {
    if (node.type !== 'router') continue;
    routesOf.set(node.name, node.router.routes.map((r) => r.name));
    for (const r of node.router.routes) for (const t of r.to) gates.set(t, { router: node.name, route: r.name, shadow: false });
    for (const s of node.router.shadow ?? []) for (const t of s.to) gates.set(t, { router: node.name, route: s.name, shadow: true });
  }

  const guards = new Map<string, RouteCondition[]>();
  const shadow = new Set<string>();
  for (const name of order) {
    const entry = nodes.get(name);
    if (entry === undefined) continue;
    const sources = sourcesOf(entry.node);
    const gate = gates.get(name);
    const shadowSources = sources.filter((s) => s !== undefined && shadow.has(s));
    const isShadow =
      gate?.shadow === true ||
      (gate !== undefined && shadow.has(gate.router)) ||
      (gate === undefined && shadowSources.length > 0 && shadowSources.length === sources.length);
    if (isShadow) {
      shadow.add(name);
      guards.set(name, []);
      continue;
    }
    if (shadowSources.length > 0) {
      problems.push({
        path: ['spec', 'nodes', entry.index, 'inputs'],
        message: `node "${name}" reads shadow node "${shadowSources[0] ?? ''}", whose results are discarded; only other shadow nodes may read it`,
      });
    }
    let guard: RouteCondition[] | undefined;
    for (const s of sources) {
      const g = s === undefined ? [] : (guards.get(s) ?? []);
      guard = guard === undefined ? [...g] : guard.filter((c) => g.some((d) => d.router === c.router && d.route === c.route));
    }
    guard ??= [];
    if (gate !== undefined) guard = [...(guards.get(gate.router) ?? []), { router: gate.router, route: gate.route }, ...guard.filter((c) => c.router !== gate.router)];
    guards.set(name, dedupe(guard));
  }

  const exclusive = (a: string | undefined, b: string | undefined): boolean => {
    if (a === undefined || b === undefined) return false;
    const ga = guards.get(a) ?? [];
    const gb = guards.get(b) ?? [];
    return ga.some((c) => gb.some((d) => d.router === c.router && d.route !== c.route));
  };

  graph.outputs.forEach((out, k) => {
    if (out === undefined) return;
    const sources = typeof out === 'string' ? [out] : Array.isArray(out.source) ? out.source : [out.source];
    const owners = sources.map((s) => ownerOf(parseTensorRef(s) as TensorRef));
    const name = typeof out === 'string' ? out : out.name;
    const shadowOwner = owners.find((o) => o !== undefined && shadow.has(o));
    if (shadowOwner !== undefined) {
      problems.push({ path: ['spec', 'outputs', k], message: `graph output "${name}" reads shadow node "${shadowOwner}", whose results are discarded` });
      return;
    }
    const uncovered = firstUncovered(owners.map((o) => (o === undefined ? [] : (guards.get(o) ?? []))), routesOf);
    if (uncovered !== undefined) {
      const when = uncovered.map((c) => `router "${c.router}" takes route "${c.route}"`).join(' and ');
      problems.push({
        path: ['spec', 'outputs', k],
        message: `graph output "${name}" has no value when ${when}; list a source for that case ({name, source: [a, b]}) or read a node that always runs`,
      });
    }
  });

  return { guards, shadow, gates, problems, exclusive };
}

/** Node names a node reads from (undefined for graph inputs). */
export function sourcesOf(node: NodeSpec): (string | undefined)[] {
  return node.inputs.map((text) => ownerOf(parseTensorRef(text) as TensorRef));
}

function ownerOf(ref: TensorRef): string | undefined {
  return ref.kind === 'graph-inputs' ? undefined : ref.node;
}

function dedupe(conditions: readonly RouteCondition[]): RouteCondition[] {
  const seen = new Set<string>();
  return conditions.filter((c) => {
    const key = `${c.router}\u0000${c.route}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** The first combination of route decisions under which no alternative's guard holds. */
function firstUncovered(
  alternatives: readonly (readonly RouteCondition[])[],
  routesOf: ReadonlyMap<string, readonly string[]>,
): RouteCondition[] | undefined {
  const routers = [...new Set(alternatives.flatMap((g) => g.map((c) => c.router)))];
  const total = routers.reduce((n, r) => n * (routesOf.get(r)?.length ?? 1), 1);
  if (total > MAX_ROUTE_COMBINATIONS) return undefined;
  for (let i = 0; i < total; i++) {
    let rest = i;
    const combo = routers.map((router) => {
      const routes = routesOf.get(router) ?? [];
      const route = routes[rest % routes.length] ?? '';
      rest = Math.floor(rest / Math.max(routes.length, 1));
      return { router, route };
    });
    const covered = alternatives.some((g) => g.every((c) => combo.some((d) => d.router === c.router && d.route === c.route)));
    if (!covered) return combo;
  }
  return undefined;
}
