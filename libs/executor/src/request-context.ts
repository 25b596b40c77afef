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
  readonly signal: AbortSignal;
  readonly now?: number;
}

export function createRequestContext(init: RequestContextInit): RequestContext {
  const parameters = init.parameters ?? {};
  return {
    requestId: init.requestId ?? randomUUID(),
    graph: init.graph,
    headers: init.headers ?? {},
    parameters,
    deadline: (init.now ?? Date.now()) + init.timeoutMs,
    signal: init.signal,
    trace: parameters['trace'] === true,
  };
}
