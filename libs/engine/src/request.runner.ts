import { createRequestContext, type RequestContext, type RequestContextInit, type RequestLifetime } from '@infergraph/executor';

/** One request (a graph's or a single node's) as the serving side runs it. */
export interface RequestRun<T> {
  /**
   * The context's id, graph, headers, parameters and time budget, and its lifetime (`signal`): ended
   * when the request ends, however it ends; a caller that can cancel the request passes its own.
   */
  readonly context: RequestContextInit & { readonly signal: RequestLifetime };
  /** Right after the context exists, before any work (the `started` event, in-flight counts). */
  readonly started?: (ctx: RequestContext) => void;
  /** The tracer's span around the work, when tracing is on; it hands the work a context carrying the span. */
  readonly trace?: ((ctx: RequestContext, run: (ctx: RequestContext) => Promise<T>) => Promise<T>) | undefined;
  readonly work: (ctx: RequestContext) => Promise<T>;
  /** After the lifetime ended: `failure` is what the work threw (undefined when it succeeded). */
  readonly ended: (ctx: RequestContext, failure: unknown, seconds: number) => void;
}

/**
 * The request lifecycle every serving path shares (`GraphInferenceService`, `NodeInferenceService`):
 * a `RequestContext` on the request's lifetime (request id, headers, deadline), the start hook, the work
 * (inside the tracer's span when there is one), then the lifetime's end (a batch queue drops the
 * request; transports stop its calls) and the end hook with the outcome and the time taken.
 */
export async function runRequest<T>(run: RequestRun<T>): Promise<T> {
  const ctx = createRequestContext(run.context);
  const started = performance.now();
  run.started?.(ctx);
  let failure: unknown;
  try {
    return await (run.trace === undefined ? run.work(ctx) : run.trace(ctx, run.work));
  } catch (err) {
    failure = err;
    throw err;
  } finally {
    run.context.signal.end();
    run.ended(ctx, failure, (performance.now() - started) / 1000);
  }
}
