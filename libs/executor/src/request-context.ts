import { randomUUID } from 'node:crypto';

/**
 * The reason a request's signal is aborted with when it ends normally: a shared instance, because
 * `abort()` without a reason builds a DOMException with a stack on every request.
 */
export const REQUEST_ENDED: Error = Object.freeze(new Error('the request has ended'));

/** Everything a node may know about the request it serves; created once per graph request. */
export interface RequestContext {
  readonly requestId: string;
  readonly graph: string;
  /** Lower-cased header names. */
  readonly headers: Readonly<Record<string, string>>;
  readonly parameters: Readonly<Record<string, unknown>>;
  /** Absolute deadline, epoch milliseconds. */
  readonly deadline: number;
  /** Aborted when the deadline passes or the request fails; transports should stop work on it. */
  readonly signal: AbortSignal;
  /** Whether the caller asked for per-node timings (`parameters.trace: true`). */
  readonly trace: boolean;
}

export interface RequestContextInit {
  readonly requestId?: string | undefined;
  readonly graph: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly parameters?: Readonly<Record<string, unknown>>;
  readonly timeoutMs: number;
  /** The request's signal, or its lifetime (whose signal is made only when read). */
  readonly signal: AbortSignal | RequestLifetime;
  readonly now?: number;
}

export function createRequestContext(init: RequestContextInit): RequestContext {
  const parameters = init.parameters ?? {};
  const source = init.signal;
  const requestId = init.requestId ?? randomUUID();
  const headers = init.headers ?? {};
  const deadline = (init.now ?? Date.now()) + init.timeoutMs;
  const trace = parameters['trace'] === true;
  if (!(source instanceof RequestLifetime)) return { requestId, graph: init.graph, headers, parameters, deadline, signal: source, trace };
  return {
    requestId,
    graph: init.graph,
    headers,
    parameters,
    deadline,
    trace,
    get signal(): AbortSignal {
      return source.signal;
    },
  };
}

/**
 * How long a request lives. Its AbortSignal is made the first time something reads it (a batch queue, a
 * Kafka call): most requests never need one, and an AbortController with its EventTarget costs about
 * 10 µs per request. `end` aborts the signal if it exists, or makes it born aborted.
 */
export class RequestLifetime {
  private controller: AbortController | undefined;
  private reason: unknown;
  private ended = false;

  get signal(): AbortSignal {
    if (this.controller === undefined) {
      this.controller = new AbortController();
      if (this.ended) this.controller.abort(this.reason);
    }
    return this.controller.signal;
  }

  end(reason: unknown = REQUEST_ENDED): void {
    if (this.ended) return;
    this.ended = true;
    this.reason = reason;
    this.controller?.abort(reason);
  }
}
