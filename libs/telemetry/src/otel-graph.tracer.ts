import { ROOT_CONTEXT, SpanKind, SpanStatusCode, propagation, trace, type Context, type Span, type Tracer } from '@opentelemetry/api';
import { withHeaders, type GraphTracer, type NodeSpan, type RequestContext } from '@infergraph/executor';
import { NodeKey } from '@infergraph/spec';

/** Headers a span replaces when it becomes the parent of what follows. */
const TRACE_HEADERS = ['traceparent', 'tracestate'];

/**
 * GraphTracer on the OpenTelemetry API. The parent of every span comes from the request's headers (W3C
 * trace context), and the span goes on in a copy of them, so the tree links up across processes
 * whatever carries the headers: HTTP, gRPC metadata or Kafka record headers.
 */
export class OtelGraphTracer implements GraphTracer {
  constructor(private readonly tracer: Tracer = trace.getTracer('infergraph')) {}

  request<T>(ctx: RequestContext, work: (ctx: RequestContext) => Promise<T>): Promise<T> {
    return this.span(`infer ${ctx.graph}`, SpanKind.SERVER, { 'infergraph.graph': ctx.graph, 'infergraph.request_id': ctx.requestId }, ctx, work);
  }

  node<T>(s: NodeSpan, ctx: RequestContext, work: (ctx: RequestContext) => Promise<T>): Promise<T> {
    const attributes = { 'infergraph.graph': s.graph, 'infergraph.node': s.node, 'infergraph.node.type': s.type, 'infergraph.request_id': ctx.requestId };
    return this.span(`node ${NodeKey.format(s.graph, s.node)}`, s.served ? SpanKind.SERVER : SpanKind.INTERNAL, attributes, ctx, work);
  }

  private async span<T>(name: string, kind: SpanKind, attributes: Record<string, string>, ctx: RequestContext, work: (ctx: RequestContext) => Promise<T>): Promise<T> {
    const parent = propagation.extract(ROOT_CONTEXT, ctx.headers);
    const span = this.tracer.startSpan(name, { kind, attributes }, parent);
    const active = trace.setSpan(parent, span);
    try {
      return await work(withHeaders(ctx, carrying(active, ctx.headers)));
    } catch (err) {
      fail(span, err);
      throw err;
    } finally {
      span.end();
    }
  }
}

function carrying(active: Context, headers: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) if (!TRACE_HEADERS.includes(k)) out[k] = v;
  propagation.inject(active, out);
  return out;
}

function fail(span: Span, err: unknown): void {
  const message = err instanceof Error ? err.message : String(err);
  const code = typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string' ? err.code : 'INTERNAL';
  span.setAttribute('infergraph.error_code', code);
  span.setStatus({ code: SpanStatusCode.ERROR, message });
}
