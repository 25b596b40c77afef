import type { TensorSpec } from '@infergraph/protocol';
import { suggest } from './did-you-mean';
import type { GraphProblem } from './graph.diagnostic';
import type { GraphSpec, NodeSpec } from './graph-spec.schema';
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

export interface GraphTypes {
  readonly nodeOutputs: ReadonlyMap<string, readonly TensorSpec[]>;
  readonly outputs: readonly TensorSpec[];
  readonly problems: readonly GraphProblem[];
}

/**
 * Propagates tensor names, datatypes and shapes through the graph in topological order, checking
 * every `<node>.outputs.<tensor>` reference, tensorMap key and node signature on the way.
 */
export function typeGraph(graph: GraphSpec, order: readonly string[], typer: NodeTyper, routing?: RoutingAnalysis): GraphTypes {
  const problems: GraphProblem[] = [];
  const nodeOutputs = new Map<string, readonly TensorSpec[]>();
  const indexOf = new Map(graph.spec.nodes.map((n, i) => [n.name, i]));
  const graphInputs = graph.spec.inputs;

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

  for (const name of order) {
    const index = indexOf.get(name) as number;
    const node = graph.spec.nodes[index] as NodeSpec;
    const base = ['spec', 'nodes', index];
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
        if (earlier !== undefined && node.type !== 'combiner' && !(routing?.exclusive(earlier.owner, owner) ?? false)) {
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
  }

  const outputs: TensorSpec[] = [];
  graph.spec.outputs.forEach((out, k) => {
    const sources = typeof out === 'string' ? [out] : Array.isArray(out.source) ? out.source : [out.source];
    let first: TensorSpec[] | undefined;
    sources.forEach((source, j) => {
      const path = typeof out === 'string' ? ['spec', 'outputs', k] : Array.isArray(out.source) ? ['spec', 'outputs', k, 'source', j] : ['spec', 'outputs', k, 'source'];
      const tensors = select(parseTensorRef(source) as TensorRef, path);
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
