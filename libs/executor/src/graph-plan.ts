import type { TensorSpec } from '@infergraph/protocol';
import { parseTensorRef, type GraphSpec, type NodeType, type TensorRef } from '@infergraph/spec';

/** Where a node input or graph output comes from: a node's outputs, or the request (source undefined). */
export interface PlanBinding {
  readonly source: string | undefined;
  /** One tensor, or every tensor of the source when undefined. */
  readonly tensor: string | undefined;
}

export interface PlanNode {
  readonly name: string;
  readonly type: NodeType;
  readonly dependsOn: readonly string[];
  readonly bindings: readonly PlanBinding[];
  readonly tensorMap: Readonly<Record<string, string>>;
}

export interface PlanOutput {
  readonly name: string | undefined;
  readonly binding: PlanBinding;
}

/** A validated graph reduced to what execution needs, nodes in topological order. */
export interface GraphPlan {
  readonly name: string;
  readonly version: string;
  readonly timeoutMs: number;
  readonly inputs: readonly TensorSpec[];
  readonly outputs: readonly TensorSpec[];
  readonly outputBindings: readonly PlanOutput[];
  readonly nodes: readonly PlanNode[];
}

function bindingOf(ref: TensorRef): PlanBinding {
  return ref.kind === 'graph-inputs' ? { source: undefined, tensor: ref.tensor } : { source: ref.node, tensor: ref.tensor };
}

export function compileGraphPlan(graph: GraphSpec, order: readonly string[], outputs: readonly TensorSpec[]): GraphPlan {
  const byName = new Map(graph.spec.nodes.map((n) => [n.name, n]));
  const nodes = order.map((name): PlanNode => {
    const node = byName.get(name);
    if (node === undefined) throw new Error(`order names unknown node "${name}"`);
    const bindings = node.inputs.map((text) => bindingOf(parseTensorRef(text) as TensorRef));
    const dependsOn = [...new Set(bindings.flatMap((b) => (b.source === undefined ? [] : [b.source])))];
    return { name, type: node.type, dependsOn, bindings, tensorMap: node.tensorMap ?? {} };
  });
  return {
    name: graph.metadata.name,
    version: graph.spec.version,
    timeoutMs: graph.spec.timeoutMs,
    inputs: graph.spec.inputs,
    outputs,
    outputBindings: graph.spec.outputs.map((o) =>
      typeof o === 'string'
        ? { name: undefined, binding: bindingOf(parseTensorRef(o) as TensorRef) }
        : { name: o.name, binding: bindingOf(parseTensorRef(o.source) as TensorRef) },
    ),
    nodes,
  };
}
