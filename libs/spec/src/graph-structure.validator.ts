import type { GraphProblem } from './graph.diagnostic';
import { parseTensorRef } from './tensor-ref.parser';
import { suggest } from './did-you-mean';

/**
 * The parts of a graph the structural checks need, read leniently so that a node with a schema
 * error still takes part in name, reference and cycle checks.
 */
export interface LooseGraph {
  readonly inputs: readonly (string | undefined)[];
  readonly nodes: readonly {
    readonly name: string | undefined;
    readonly type: string | undefined;
    readonly inputs: readonly (string | undefined)[];
    readonly tensorMapKeys: readonly string[];
    /** Router only: the nodes each route or shadow runs, with their YAML paths. */
    readonly routeTargets: readonly { readonly node: string | undefined; readonly path: readonly (string | number)[] }[];
  }[];
  /** `sources` holds one reference, or the alternatives of a `source` list (`listed`). */
  readonly outputs: readonly {
    readonly name: string | undefined;
    readonly sources: readonly (string | undefined)[];
    readonly listed: boolean;
  }[];
}

export interface StructureResult {
  readonly problems: readonly GraphProblem[];
  /** Topological order of node names; nodes on a cycle are left out, the nodes after them are not. */
  readonly order: readonly string[];
  /** What each node waits for: the nodes it reads from and the router that gates it. */
  readonly dependencies: ReadonlyMap<string, ReadonlySet<string>>;
  /** Names no node can be typed under: declared twice, or on a cycle. */
  readonly brokenNames: ReadonlySet<string>;
}

/** Names, references, cycles and outputs: everything that can be checked without loading models. */
export function validateStructure(graph: LooseGraph): StructureResult {
  const problems: GraphProblem[] = [];
  const graphInputs = new Set<string>();
  graph.inputs.forEach((name, i) => {
    if (name === undefined) return;
    if (graphInputs.has(name)) problems.push({ path: ['spec', 'inputs', i, 'name'], message: `duplicate input tensor "${name}"` });
    graphInputs.add(name);
  });

  const firstIndex = new Map<string, number>();
  const brokenNames = new Set<string>();
  graph.nodes.forEach((node, i) => {
    if (node.name === undefined) return;
    const first = firstIndex.get(node.name);
    if (first === undefined) firstIndex.set(node.name, i);
    else {
      problems.push({ path: ['spec', 'nodes', i, 'name'], message: `duplicate node name "${node.name}" (first declared at spec.nodes[${first}])` });
      brokenNames.add(node.name);
    }
  });
  const nodeNames = [...firstIndex.keys()];

  const checkRef = (text: string, path: (string | number)[], selfName?: string): string | undefined => {
    const ref = parseTensorRef(text);
    if (typeof ref === 'string') {
      problems.push({ path, message: `invalid tensor reference ${JSON.stringify(text)}: ${ref}` });
      return undefined;
    }
    if (ref.kind === 'graph-inputs') {
      if (ref.tensor !== undefined && graphInputs.size > 0 && !graphInputs.has(ref.tensor)) {
        problems.push({
          path,
          message: `graph has no input tensor "${ref.tensor}"${suggest(ref.tensor, [...graphInputs])} (inputs: ${[...graphInputs].join(', ')})`,
        });
      }
      return undefined;
    }
    if (ref.node === selfName) {
      problems.push({ path, message: `node "${ref.node}" cannot read its own outputs (a cycle of one)` });
      return undefined;
    }
    if (!firstIndex.has(ref.node)) {
      problems.push({
        path,
        message: `unknown node "${ref.node}"${suggest(ref.node, nodeNames)} (nodes: ${nodeNames.join(', ') || 'none'})`,
      });
      return undefined;
    }
    if (graph.nodes[firstIndex.get(ref.node) ?? 0]?.type === 'drift') {
      problems.push({ path, message: `node "${ref.node}" is a drift detector: it runs off the request path and produces no tensors to read` });
      return undefined;
    }
    return ref.node;
  };

  const deps = new Map<string, Set<string>>();
  graph.nodes.forEach((node, i) => {
    const mine = new Set<string>();
    node.inputs.forEach((text, j) => {
      if (text === undefined) return;
      const dep = checkRef(text, ['spec', 'nodes', i, 'inputs', j], node.name);
      if (dep !== undefined) mine.add(dep);
    });
    node.tensorMapKeys.forEach((key) => {
      if (!key.includes('.')) return;
      const ref = parseTensorRef(key);
      if (typeof ref === 'string' || ref.tensor === undefined) {
        problems.push({
          path: ['spec', 'nodes', i, 'tensorMap', key],
          message: 'tensorMap keys are tensor names, or qualified "<node>.outputs.<tensor>" / "graph.inputs.<tensor>" references',
        });
      } else if (ref.kind === 'node' && !node.inputs.some((t) => t === ref.node || t?.startsWith(`${ref.node}.outputs.`))) {
        problems.push({
          path: ['spec', 'nodes', i, 'tensorMap', key],
          message: `tensorMap renames a tensor of node "${ref.node}", which is not among this node's inputs`,
        });
      }
    });
    if (node.name !== undefined && firstIndex.get(node.name) === i) deps.set(node.name, mine);
  });

  // A route target runs after its router decides: a control dependency, and one router per target.
  const gatedBy = new Map<string, string>();
  graph.nodes.forEach((router) => {
    if (router.name === undefined) return;
    for (const target of router.routeTargets) {
      if (target.node === undefined) continue;
      const path = [...target.path];
      if (!firstIndex.has(target.node)) {
        problems.push({ path, message: `unknown node "${target.node}"${suggest(target.node, nodeNames)} (nodes: ${nodeNames.join(', ')})` });
      } else if (target.node === router.name) {
        problems.push({ path, message: `router "${router.name}" cannot route to itself` });
      } else if (gatedBy.has(target.node)) {
        problems.push({ path, message: `node "${target.node}" is already a route target of "${gatedBy.get(target.node)}"; a node belongs to one route` });
      } else {
        gatedBy.set(target.node, router.name);
        deps.get(target.node)?.add(router.name);
      }
    }
  });

  const seenOutputNames = new Map<string, number>();
  graph.outputs.forEach((out, k) => {
    let name = out.name;
    out.sources.forEach((source, j) => {
      if (source === undefined) return;
      const path: (string | number)[] =
        out.name === undefined ? ['spec', 'outputs', k] : out.listed ? ['spec', 'outputs', k, 'source', j] : ['spec', 'outputs', k, 'source'];
      checkRef(source, path);
      const ref = parseTensorRef(source);
      name ??= typeof ref === 'string' ? undefined : ref.tensor;
    });
    if (name === undefined) return;
    const first = seenOutputNames.get(name);
    if (first !== undefined) {
      problems.push({ path: ['spec', 'outputs', k], message: `duplicate graph output "${name}" (also spec.outputs[${first}]); give one a distinct name with {name, source}` });
    } else seenOutputNames.set(name, k);
  });

  const { cycle: found } = topologicalOrder(nodeNames, deps);
  const cyclic = nodesOnCycles(nodeNames, deps);
  for (const name of cyclic) brokenNames.add(name);
  // Edges into a cycle are dropped so that the nodes after it still get an order (and are skipped, with a note, when typing).
  const acyclic = nodeNames.filter((n) => !cyclic.has(n));
  const { order } = topologicalOrder(acyclic, new Map(acyclic.map((n) => [n, new Set([...(deps.get(n) ?? [])].filter((d) => !cyclic.has(d)))])));
  if (found.length > 0) {
    // Start the cycle at its first declared node, so the report points where a reader looks first.
    const first = found.reduce((a, b) => ((firstIndex.get(a) ?? 0) <= (firstIndex.get(b) ?? 0) ? a : b));
    const at = found.indexOf(first);
    const cycle = [...found.slice(at), ...found.slice(0, at)];
    const start = first;
    problems.push({
      path: ['spec', 'nodes', firstIndex.get(start) ?? 0, 'inputs'],
      message: `cycle: ${[...cycle, start].join(' -> ')}; a graph must be acyclic`,
    });
  }
  return { problems, order, dependencies: deps, brokenNames };
}

/** Every node that can reach itself along dependency edges. */
function nodesOnCycles(names: readonly string[], deps: ReadonlyMap<string, ReadonlySet<string>>): Set<string> {
  const cyclic = new Set<string>();
  for (const start of names) {
    const seen = new Set<string>();
    const stack = [...(deps.get(start) ?? [])];
    while (stack.length > 0) {
      const name = stack.pop() as string;
      if (name === start) {
        cyclic.add(start);
        break;
      }
      if (seen.has(name)) continue;
      seen.add(name);
      stack.push(...(deps.get(name) ?? []));
    }
  }
  return cyclic;
}

/** Kahn's algorithm in declaration order (deterministic); returns one cycle if the graph has any. */
export function topologicalOrder(
  names: readonly string[],
  deps: ReadonlyMap<string, ReadonlySet<string>>,
): { order: string[]; cycle: string[] } {
  const remaining = new Map(names.map((n) => [n, new Set(deps.get(n) ?? [])]));
  const order: string[] = [];
  let progressed = true;
  while (progressed) {
    progressed = false;
    for (const name of names) {
      const pending = remaining.get(name);
      if (pending === undefined) continue;
      for (const d of [...pending]) if (!remaining.has(d)) pending.delete(d);
      if (pending.size === 0) {
        remaining.delete(name);
        order.push(name);
        progressed = true;
      }
    }
  }
  if (remaining.size === 0) return { order, cycle: [] };
  // Walk dependency edges among the remaining nodes until one repeats.
  const path: string[] = [];
  let current = remaining.keys().next().value as string;
  while (!path.includes(current)) {
    path.push(current);
    current = [...(remaining.get(current) ?? [])][0] as string;
  }
  return { order, cycle: path.slice(path.indexOf(current)).reverse() };
}
