import type { TensorSpec } from '@infergraph/protocol';
import { parseTensorRef, type GraphSpec, type NodeType, type RouteGate, type RoutingAnalysis, type TensorRef } from '@infergraph/spec';

/** Where a node input or graph output comes from: a node's outputs, or the request (source undefined). */
export interface PlanBinding {
  readonly source: string | undefined;
  /** One tensor, or every tensor of the source when undefined. */
  readonly tensor: string | undefined;
}

export interface JoinPolicy {
  readonly mode: 'inner' | 'any' | 'outer';
  /** outer: how long to wait for more branches after the first one arrives. */
  readonly windowMs: number;
  /** What a failed branch does to the combiner: fail it, or leave the branch out. */
  readonly onError: 'fail' | 'skip';
}

export interface PlanNode {
  readonly name: string;
  readonly type: NodeType;
  /** Nodes whose outcome this node waits for (data sources, and its router when it is a route target). */
  readonly dependsOn: readonly string[];
  readonly bindings: readonly PlanBinding[];
  readonly tensorMap: Readonly<Record<string, string>>;
  /** Whether tensorMap renames anything (most nodes pass names through). */
  readonly renames: boolean;
  readonly timeoutMs: number | undefined;
  /** Set when the node runs only if a router takes a given route (or shadow). */
  readonly gate: RouteGate | undefined;
  /** Shadow nodes run beside the request; their results and failures never reach the caller. */
  readonly shadow: boolean;
  /** Not awaited by the request: shadows, and drift detectors (which run off the request path). */
  readonly detached: boolean;
  /** Whether some non-shadow node reads this node's outputs. */
  readonly consumed: boolean;
  readonly join: JoinPolicy | undefined;
}

export interface PlanOutput {
  readonly name: string | undefined;
  /** Alternatives in order: the first whose source ran provides the output. */
  readonly bindings: readonly PlanBinding[];
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

function bindingOfText(text: string): PlanBinding {
  return bindingOf(parseTensorRef(text) as TensorRef);
}

export function compileGraphPlan(
  graph: GraphSpec,
  order: readonly string[],
  outputs: readonly TensorSpec[],
  routing: RoutingAnalysis | undefined,
): GraphPlan {
  const byName = new Map(graph.spec.nodes.map((n) => [n.name, n]));
  const consumed = new Set<string>();
  for (const node of graph.spec.nodes) {
    if (routing?.shadow.has(node.name) === true || node.type === 'drift') continue;
    for (const b of node.inputs.map(bindingOfText)) if (b.source !== undefined) consumed.add(b.source);
  }
  const nodes = order.map((name): PlanNode => {
    const node = byName.get(name);
    if (node === undefined) throw new Error(`order names unknown node "${name}"`);
    const bindings = node.inputs.map(bindingOfText);
    const gate = routing?.gates.get(name);
    const dependsOn = [...new Set([...(gate ? [gate.router] : []), ...bindings.flatMap((b) => (b.source === undefined ? [] : [b.source]))])];
    const join: JoinPolicy | undefined =
      node.type === 'combiner'
        ? { mode: node.combiner.join, windowMs: node.combiner.joinWindowMs ?? 0, onError: node.combiner.onError }
        : undefined;
    return {
      name,
      type: node.type,
      dependsOn,
      bindings,
      tensorMap: node.tensorMap ?? {},
      renames: Object.keys(node.tensorMap ?? {}).length > 0,
      timeoutMs: node.timeoutMs,
      gate,
      shadow: routing?.shadow.has(name) ?? false,
      detached: (routing?.shadow.has(name) ?? false) || node.type === 'drift',
      consumed: consumed.has(name),
      join,
    };
  });
  return {
    name: graph.metadata.name,
    version: graph.spec.version,
    timeoutMs: graph.spec.timeoutMs,
    inputs: graph.spec.inputs,
    outputs,
    outputBindings: graph.spec.outputs.map((o) => {
      if (typeof o === 'string') return { name: undefined, bindings: [bindingOfText(o)] };
      const sources = Array.isArray(o.source) ? o.source : [o.source];
      return { name: o.name, bindings: sources.map(bindingOfText) };
    }),
    nodes,
  };
}
