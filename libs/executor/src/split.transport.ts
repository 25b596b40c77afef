import { NodeKey, remoteNodesOf, type GraphSpec } from '@infergraph/spec';
import type { NodeInvocation, NodeTransport, WholeGraphCall } from './node-transport';

/**
 * Sends remote node types to one transport and the rest (drift, and nodes in the "gateway" pool) to
 * another; tells the remote side which nodes must not be retried.
 */
export class SplitTransport implements NodeTransport {
  private readonly remoteNodes: ReadonlySet<string>;
  private readonly notIdempotent: ReadonlySet<string>;
  /** Set when the whole graph may run as one remote call (see `wholeGraphRemote`). */
  private readonly whole: readonly string[] | undefined;

  constructor(
    graph: GraphSpec,
    private readonly remote: NodeTransport,
    private readonly local: NodeTransport,
  ) {
    this.remoteNodes = new Set(remoteNodesOf(graph));
    this.notIdempotent = new Set(graph.spec.nodes.filter((n) => !n.idempotent).map((n) => n.name));
    this.whole = wholeGraphRemote(graph, this.remoteNodes) ? [...this.remoteNodes] : undefined;
  }

  wholeGraph(graph: string): WholeGraphCall | undefined {
    if (this.whole === undefined) return undefined;
    const run = this.remote.wholeGraph?.(graph, this.whole);
    if (run === undefined || this.notIdempotent.size === 0) return run;
    return (call) => run({ ...call, idempotent: false });
  }

  describeWait(graph: string, node: string): string | undefined {
    // A whole-graph call (NodeKey.WHOLE_GRAPH) waits on the remote side too.
    return (this.remoteNodes.has(node) || node === NodeKey.WHOLE_GRAPH ? this.remote : this.local).describeWait?.(graph, node);
  }

  unavailable(graph: string, node: string): string | undefined {
    return (this.remoteNodes.has(node) ? this.remote : this.local).unavailable?.(graph, node);
  }

  invoke(call: NodeInvocation): ReturnType<NodeTransport['invoke']> {
    if (!this.remoteNodes.has(call.node)) return this.local.invoke(call);
    return this.remote.invoke(this.notIdempotent.has(call.node) ? { ...call, idempotent: false } : call);
  }
}

/**
 * Whether a graph of several nodes may run whole on one replica: its spec does not ask for node-by-node calls, every node runs there (the remote types) or is a router
 * whose decision does not read the request (weighted: sticky keys and conditions read headers and
 * parameters, and only some of those travel with a node call). The executor asks only for chain graphs.
 */
export function wholeGraphRemote(graph: GraphSpec, remoteNodes: ReadonlySet<string>): boolean {
  // One node alone gains nothing: it is one call either way, and a node call is the leaner message.
  // `spec.nodeCalls: node` asks for every node call on its own (each step a record on its topics, over Kafka).
  return (
    graph.spec.nodeCalls !== 'node' &&
    graph.spec.nodes.length > 1 &&
    remoteNodes.size > 0 &&
    graph.spec.nodes.every((n) => remoteNodes.has(n.name) || (n.type === 'router' && n.router.strategy === 'weighted' && (n.router.shadow ?? []).length === 0))
  );
}
