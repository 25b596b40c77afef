import type { RequestContext } from './request-context';

/** What a node span is about. */
export interface NodeSpan {
  readonly graph: string;
  readonly node: string;
  readonly type: string;
  /** True on a worker serving the call for a gateway; false for the gateway's own call of the node. */
  readonly served: boolean;
}

/**
 * Spans of graph requests and node calls. Each method runs `work` with a copy of the request context
 * whose headers carry the new span (W3C `traceparent`), so whatever transport sends the call on (gRPC
 * metadata, Kafka record headers) carries the parent to the next process. Absent when tracing is off:
 * then no tracing code runs at all.
 */
export interface GraphTracer {
  request<T>(ctx: RequestContext, work: (ctx: RequestContext) => Promise<T>): Promise<T>;
  node<T>(span: NodeSpan, ctx: RequestContext, work: (ctx: RequestContext) => Promise<T>): Promise<T>;
}
