import type { TensorSpec } from '@infergraph/protocol';
import { suggest } from './did-you-mean';
import type { GraphProblem } from './graph.diagnostic';
import type { GraphOutputSpec, NodeSpec } from './graph-spec.schema';
import type { RoutingAnalysis } from './routing.analysis';
import { formatTensorRef, parseTensorRef, type TensorRef } from './tensor-ref.parser';

/** Decides a node's output tensors from the typed tensors it receives, or reports why it cannot. */
export type NodeTyper = (
  node: NodeSpec,
  incoming: readonly TensorSpec[],
  branches: readonly TypedBranch[],
) => { outputs: readonly TensorSpec[] | undefined; problems: readonly GraphProblem[] };

/** What one input reference of a node delivers (a combiner combines per branch). */
export interface TypedBranch {
  /** Producing node, or undefined for graph inputs. */
  readonly source: string | undefined;
  readonly tensors: readonly TensorSpec[];
}

/** A part of a graph with problems of its own, which the parts depending on it cannot be typed past. */
export interface BrokenPart {
  /** How a note names it: `node "clf"`, `graph input "counts"`, `spec.inputs`. */
  readonly label: string;
  readonly path: readonly (string | number)[];
  /** The tensor name, for a graph input that has one. */
  readonly tensor?: string;
}

/**
 * A graph as far as it checked out: every node and output at its declared index, undefined where it
 * has problems (schema, name, references, cycle, model file). A clean graph has nothing broken.
 */
export interface PartialGraph {
  /** `metadata.name` when it is a string, for messages. */
  readonly name: string | undefined;
  /** Graph input tensors that passed their checks. */
  readonly inputs: readonly TensorSpec[];
  /** Graph inputs with problems, or `spec.inputs` itself: references into them cannot be typed. */
  readonly brokenInputs: readonly BrokenPart[];
  readonly nodes: readonly (NodeSpec | undefined)[];
  /** Names of nodes with problems, each located at its first declaration. */
  readonly brokenNodes: ReadonlyMap<string, BrokenPart>;
  readonly outputs: readonly (GraphOutputSpec | undefined)[];
  /** Node names, each after the nodes it depends on; nodes on a cycle are left out. */
  readonly order: readonly string[];
  /** What each node waits for: the nodes it reads from and the router that gates it. */
  readonly dependencies: ReadonlyMap<string, ReadonlySet<string>>;
  /** Route guards and shadows of the healthy nodes. */
  readonly routing: RoutingAnalysis;
}

export interface GraphTypes {
  readonly nodeOutputs: ReadonlyMap<string, readonly TensorSpec[]>;
  readonly outputs: readonly TensorSpec[];
  readonly problems: readonly GraphProblem[];
}

/**
 * Propagates tensor names, datatypes and shapes through the graph in topological order, checking
 * every `<node>.outputs.<tensor>` reference, tensorMap key and node signature on the way.
 * A node that depends on a broken part (or on a node the typer could not type) is skipped; each
 * such part gets one note naming the nodes skipped because of it, so no problem behind it goes unsaid.
 */
export function typeGraph(graph: PartialGraph, typer: NodeTyper): GraphTypes {
  const problems: GraphProblem[] = [];
  const nodeOutputs = new Map<string, readonly TensorSpec[]>();
  const indexOf = new Map<string, number>();
  graph.nodes.forEach((n, i) => {
    if (n !== undefined) indexOf.set(n.name, i);
  });
  const graphInputs = graph.inputs;
  const routing = graph.routing;
  // The broken parts each untyped node depends on, directly or through other nodes.
  const blockedBy = new Map<string, readonly BrokenPart[]>([...graph.brokenNodes].map(([name, part]) => [name, [part]]));
  const skipped = new Map<BrokenPart, string[]>();

  /** Broken graph inputs a `graph.inputs[.<tensor>]` reference may mean. */
  const brokenInputsOf = (tensor: string | undefined): readonly BrokenPart[] => {
    if (graph.brokenInputs.length === 0) return [];
    if (tensor === undefined) return graph.brokenInputs;
    if (graphInputs.some((t) => t.name === tensor)) return [];
    const named = graph.brokenInputs.filter((p) => p.tensor === tensor);
    return named.length > 0 ? named : graph.brokenInputs.filter((p) => p.tensor === undefined);
  };

  /** Tensors a reference selects, or undefined when the producer could not be typed. */
  const select = (ref: TensorRef, path: (string | number)[]): readonly TensorSpec[] | undefined => {
    const pool = ref.kind === 'graph-inputs' ? graphInputs : nodeOutputs.get(ref.node);
    if (pool === undefined) return undefined;
    if (ref.tensor === undefined) return pool;
    const found = pool.find((t) => t.name === ref.tensor);
    if (found === undefined) {
      const names = pool.map((t) => t.name);
      const owner = ref.kind === 'graph-inputs' ? 'graph inputs have' : `node "${ref.node}" has`;
      problems.push({ path, message: `${owner} no tensor "${ref.tensor}"${suggest(ref.tensor, names)} (available: ${names.join(', ')})` });
      return [];
    }
    return [found];
  };

  for (const name of graph.order) {
    const index = indexOf.get(name);
    const node = index === undefined ? undefined : graph.nodes[index];
    if (graph.brokenNodes.has(name) || index === undefined || node === undefined) continue;
    const base = ['spec', 'nodes', index];
    const roots = new Set<BrokenPart>();
    for (const dep of graph.dependencies.get(name) ?? []) for (const part of blockedBy.get(dep) ?? []) roots.add(part);
    for (const text of node.inputs) {
      const ref = parseTensorRef(text) as TensorRef;
      if (ref.kind === 'graph-inputs') for (const part of brokenInputsOf(ref.tensor)) roots.add(part);
    }
    if (roots.size > 0) {
      blockedBy.set(name, [...roots]);
      for (const part of roots) skipped.set(part, [...(skipped.get(part) ?? []), name]);
      continue;
    }
    const incoming: TensorSpec[] = [];
    const branches: TypedBranch[] = [];
    const from = new Map<string, { qualified: string; owner: string | undefined }>();
    const usedMapKeys = new Set<string>();
    let complete = true;
    node.inputs.forEach((text, j) => {
      const ref = parseTensorRef(text) as TensorRef;
      const owner = ref.kind === 'graph-inputs' ? undefined : ref.node;
      const tensors = select(ref, [...base, 'inputs', j]);
      if (tensors === undefined) {
        complete = false;
        return;
      }
      const delivered: TensorSpec[] = [];
      for (const t of tensors) {
        const qualified = formatTensorRef(ref.kind === 'graph-inputs' ? { kind: 'graph-inputs', tensor: t.name } : { kind: 'node', node: ref.node, tensor: t.name });
        const key = node.tensorMap?.[qualified] !== undefined ? qualified : t.name;
        const renamed = node.tensorMap?.[key];
        if (renamed !== undefined) usedMapKeys.add(key);
        const finalName = renamed ?? t.name;
        delivered.push({ ...t, name: finalName });
        const earlier = from.get(finalName);
        // Combiners take each branch separately; two routes of one router never both deliver.
        if (earlier !== undefined && node.type !== 'combiner' && !routing.exclusive(earlier.owner, owner)) {
          problems.push({
            path: [...base, 'inputs', j],
            message: `node "${name}" receives two tensors named "${finalName}" (${earlier.qualified} and ${qualified}); rename one with tensorMap`,
          });
          continue;
        }
        if (earlier === undefined) {
          from.set(finalName, { qualified, owner });
          incoming.push({ ...t, name: finalName });
        }
      }
      branches.push({ source: owner, tensors: delivered });
    });
    if (complete) {
      for (const key of Object.keys(node.tensorMap ?? {})) {
        if (!usedMapKeys.has(key)) {
          problems.push({
            path: [...base, 'tensorMap', key],
            message: `tensorMap key "${key}" matches no tensor this node receives (receives: ${[...from.values()].map((f) => f.qualified).join(', ')})`,
          });
        }
      }
    }
    if (!complete) continue;
    const typed = typer(node, incoming, branches);
    problems.push(...typed.problems);
    if (typed.outputs !== undefined) nodeOutputs.set(name, typed.outputs);
    else blockedBy.set(name, [{ label: `node "${name}"`, path: base }]);
  }
  for (const [part, names] of skipped) {
    problems.push({ path: part.path, severity: 'note', message: `not typed because they depend on ${part.label}, which has problems: ${names.join(', ')}` });
  }

  const outputs: TensorSpec[] = [];
  graph.outputs.forEach((out, k) => {
    if (out === undefined) return;
    const sources = typeof out === 'string' ? [out] : Array.isArray(out.source) ? out.source : [out.source];
    let first: TensorSpec[] | undefined;
    sources.forEach((source, j) => {
      const path = typeof out === 'string' ? ['spec', 'outputs', k] : Array.isArray(out.source) ? ['spec', 'outputs', k, 'source', j] : ['spec', 'outputs', k, 'source'];
      const ref = parseTensorRef(source) as TensorRef;
      if (ref.kind === 'graph-inputs' && brokenInputsOf(ref.tensor).length > 0) return;
      const tensors = select(ref, path);
      if (tensors === undefined) return;
      const named = tensors.map((t) => (typeof out === 'string' ? t : { ...t, name: out.name }));
      if (first === undefined) {
        first = named;
        return;
      }
      const a = first[0];
      const b = named[0];
      if (a !== undefined && b !== undefined && (a.datatype !== b.datatype || a.shape.length !== b.shape.length)) {
        problems.push({ path, message: `alternative source gives ${b.datatype} rank ${b.shape.length}, but the first gives ${a.datatype} rank ${a.shape.length}` });
      }
    });
    for (const t of first ?? []) {
      if (outputs.some((o) => o.name === t.name)) {
        problems.push({ path: ['spec', 'outputs', k], message: `graph output "${t.name}" is produced twice; give one a distinct name with {name, source}` });
      } else outputs.push(t);
    }
  });
  return { nodeOutputs, outputs, problems };
}
