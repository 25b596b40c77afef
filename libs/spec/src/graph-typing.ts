import type { TensorSpec } from '@infergraph/protocol';
import { suggest } from './did-you-mean';
import type { GraphProblem } from './graph.diagnostic';
import type { GraphSpec, NodeSpec } from './graph-spec.schema';
import { formatTensorRef, parseTensorRef, type TensorRef } from './tensor-ref.parser';

/** Decides a node's output tensors from the typed tensors it receives, or reports why it cannot. */
export type NodeTyper = (
  node: NodeSpec,
  incoming: readonly TensorSpec[],
) => { outputs: readonly TensorSpec[] | undefined; problems: readonly GraphProblem[] };

export interface GraphTypes {
  readonly nodeOutputs: ReadonlyMap<string, readonly TensorSpec[]>;
  readonly outputs: readonly TensorSpec[];
  readonly problems: readonly GraphProblem[];
}

/**
 * Propagates tensor names, datatypes and shapes through the graph in topological order, checking
 * every `<node>.outputs.<tensor>` reference, tensorMap key and node signature on the way.
 */
export function typeGraph(graph: GraphSpec, order: readonly string[], typer: NodeTyper): GraphTypes {
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
    const from = new Map<string, string>();
    const usedMapKeys = new Set<string>();
    let complete = true;
    node.inputs.forEach((text, j) => {
      const ref = parseTensorRef(text) as TensorRef;
      const tensors = select(ref, [...base, 'inputs', j]);
      if (tensors === undefined) {
        complete = false;
        return;
      }
      for (const t of tensors) {
        const qualified = formatTensorRef(ref.kind === 'graph-inputs' ? { kind: 'graph-inputs', tensor: t.name } : { kind: 'node', node: ref.node, tensor: t.name });
        const key = node.tensorMap?.[qualified] !== undefined ? qualified : t.name;
        const renamed = node.tensorMap?.[key];
        if (renamed !== undefined) usedMapKeys.add(key);
        const finalName = renamed ?? t.name;
        const earlier = from.get(finalName);
        if (earlier !== undefined) {
          problems.push({
            path: [...base, 'inputs', j],
            message: `node "${name}" receives two tensors named "${finalName}" (${earlier} and ${qualified}); rename one with tensorMap`,
          });
          continue;
        }
        from.set(finalName, qualified);
        incoming.push({ ...t, name: finalName });
      }
    });
    if (complete) {
      for (const key of Object.keys(node.tensorMap ?? {})) {
        if (!usedMapKeys.has(key)) {
          problems.push({
            path: [...base, 'tensorMap', key],
            message: `tensorMap key "${key}" matches no tensor this node receives (receives: ${[...from.values()].join(', ')})`,
          });
        }
      }
    }
    if (!complete) continue;
    const typed = typer(node, incoming);
    problems.push(...typed.problems);
    if (typed.outputs !== undefined) nodeOutputs.set(name, typed.outputs);
  }

  const outputs: TensorSpec[] = [];
  graph.spec.outputs.forEach((out, k) => {
    const source = typeof out === 'string' ? out : out.source;
    const path = typeof out === 'string' ? ['spec', 'outputs', k] : ['spec', 'outputs', k, 'source'];
    const tensors = select(parseTensorRef(source) as TensorRef, path);
    if (tensors === undefined) return;
    for (const t of tensors) {
      const named = typeof out === 'string' ? t : { ...t, name: out.name };
      if (outputs.some((o) => o.name === named.name)) {
        problems.push({ path, message: `graph output "${named.name}" is produced twice; give one a distinct name with {name, source}` });
      } else outputs.push(named);
    }
  });
  return { nodeOutputs, outputs, problems };
}
