import { InferenceError, type TensorMap } from '@infergraph/protocol';
import { RequestLifetime, createRequestContext, type NodeInvocation, type NodeTransport, type RequestContext } from '@infergraph/executor';
import { remoteNodesOf, type GraphSpec } from '@infergraph/spec';
import type { BatchRun } from '@infergraph/nodes';

/**
 * The model nodes of a graph whose batches are stacked in this process before they cross the hop: those
 * with `model.batching` that run on workers, when the graph's bus asks for it (`NodeBus.stacksBatches`).
 */
export function stackedBatchNodes(graph: GraphSpec): ReadonlySet<string> {
  const remote = new Set(remoteNodesOf(graph));
  return new Set(graph.spec.nodes.filter((n) => n.type === 'model' && n.model.batching !== undefined && remote.has(n.name)).map((n) => n.name));
}

/**
 * Stacked batches of one node in flight at once from this process: a batch waits on the wire, not on this
 * event loop, so the next one gathers and leaves without waiting for its answer (and several replicas can
 * work on one node's batches); bounded so a slow worker sees a queue here, not an unbounded stream.
 */
export const STACKED_BATCHES_IN_FLIGHT = 4;

/**
 * A batch run that is one node call on `remote()`: the stacked rows of several requests in one message.
 * The call carries the latest deadline of its requests (each request's own is still enforced by its queue
 * entry and by the executor), the first request's id and headers (so its trace parent: a span has one
 * parent), no request parameters (requests with parameters are never stacked, see StackedBatchTransport),
 * and ends when every request of the batch has ended.
 */
export function remoteBatchRun(graph: string, node: string, remote: () => NodeTransport): BatchRun {
  return (feeds, contexts) => remote().invoke({ graph, node, inputs: feeds, ctx: batchContext(graph, contexts) });
}

/** Errors that belong to the batch's contents, not to the hop: each request is then run alone for its own answer. */
export function isVerdictOnInputs(err: unknown): boolean {
  return err instanceof InferenceError && err.code !== 'UNAVAILABLE' && err.code !== 'DEADLINE_EXCEEDED';
}

function batchContext(graph: string, contexts: readonly (RequestContext | undefined)[]): RequestContext {
  const present = contexts.filter((c): c is RequestContext => c !== undefined);
  const head = present[0];
  if (head === undefined) throw new Error(`graph "${graph}": a stacked batch without request contexts`);
  if (present.length === 1) return head;
  const lifetime = new RequestLifetime();
  let open = present.length;
  let expiresAt = head.expiresAt;
  for (const c of present) {
    if (c.expiresAt > expiresAt) expiresAt = c.expiresAt;
    c.end.onEnd(() => {
      if (--open === 0) lifetime.end(c.end.reason);
    });
  }
  return createRequestContext({ requestId: head.requestId, graph, headers: head.headers, parameters: {}, timeoutMs: expiresAt - performance.now(), signal: lifetime });
}

/**
 * A graph's transport when some remote nodes stack batches here: their calls go to the in-process runtime
 * (the model node's input checks, then its batcher, whose run is the node call on the wire), every other
 * call to the bus's transport. A call with request parameters goes straight to the wire: parameters a
 * remote node reads must not be mixed between requests.
 */
export class StackedBatchTransport implements NodeTransport {
  constructor(
    private readonly stacked: ReadonlySet<string>,
    private readonly local: NodeTransport,
    private readonly remote: NodeTransport,
  ) {}

  invoke(call: NodeInvocation): Promise<TensorMap> {
    if (this.stacked.has(call.node) && isEmpty(call.ctx.parameters)) return this.local.invoke(call);
    return this.remote.invoke(call);
  }

  describeWait(graph: string, node: string): string | undefined {
    return this.remote.describeWait?.(graph, node);
  }

  unavailable(graph: string, node: string): string | undefined {
    return this.remote.unavailable?.(graph, node);
  }
}

function isEmpty(record: Readonly<Record<string, unknown>>): boolean {
  for (const _ in record) return false;
  return true;
}
