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
  /**
   * The request's deadline on this process's monotonic clock (`performance.now()`): a wall clock stepped while
   * the request runs (an NTP step, a VM resumed) neither expires it early nor keeps it alive late. What goes
   * to another process is made from it when sent: the time left (`remainingMs`), or an epoch time
   * (`wallDeadline`).
   */
  readonly expiresAt: number;
  /** Aborted when the deadline passes or the request fails; transports should stop work on it. */
  readonly signal: AbortSignal;
  /** The same end as `signal`, without making an AbortSignal: for in-process work that waits (a batch queue). */
  readonly end: RequestEnd;
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
}

export function createRequestContext(init: RequestContextInit): RequestContext {
  const parameters = init.parameters ?? {};
  const source = init.signal;
  const requestId = init.requestId ?? nextRequestId();
  const headers = init.headers ?? {};
  const expiresAt = expiresAfter(init.timeoutMs);
  const trace = parameters['trace'] === true;
  if (!(source instanceof RequestLifetime)) return { requestId, graph: init.graph, headers, parameters, expiresAt, signal: source, end: signalEnd(source), trace };
  return new LifetimeContext(requestId, init.graph, headers, parameters, expiresAt, trace, source);
}

/** The random part of this process's request ids: a v4 UUID without its last 8 hex digits. */
const ID_PREFIX = randomUUID().slice(0, 28);
/** The counter of the last 8 digits, from a random start below 2^30 so it stays a small integer for long. */
let idCounter = Number.parseInt(randomUUID().slice(28, 36), 16) & 0x3fffffff;

/**
 * A request id for a request that came without one: a v4-formatted UUID whose first 90 random bits are
 * drawn once per process and whose last 32 bits count up from a random start. Unique across processes
 * like randomUUID(), at a fraction of its cost per request (it builds its string from 16 byte lookups).
 * Request ids are for correlation, not secrets.
 */
export function nextRequestId(): string {
  idCounter = idCounter >= 0x7fffffff ? 0 : idCounter + 1;
  return ID_PREFIX + idCounter.toString(16).padStart(8, '0');
}

/** The same request with other headers (e.g. a trace parent for the next hop); keeps its lifetime and signal. */
export function withHeaders(ctx: RequestContext, headers: Readonly<Record<string, string>>): RequestContext {
  if (ctx instanceof LifetimeContext) return new LifetimeContext(ctx.requestId, ctx.graph, headers, ctx.parameters, ctx.expiresAt, ctx.trace, ctx.end);
  return { requestId: ctx.requestId, graph: ctx.graph, headers, parameters: ctx.parameters, expiresAt: ctx.expiresAt, signal: ctx.signal, end: ctx.end, trace: ctx.trace };
}

/**
 * The same request for work that runs beside it (shadows, drift detectors): its end is the request's
 * deadline, not the moment the caller got its answer, so such work is not cut short by the answer.
 */
export function detachedContext(ctx: RequestContext): RequestContext {
  const lifetime = new RequestLifetime();
  const timer = setTimeout(() => lifetime.end(), Math.max(0, remainingMs(ctx)));
  timer.unref();
  return new LifetimeContext(ctx.requestId, ctx.graph, ctx.headers, ctx.parameters, ctx.expiresAt, ctx.trace, lifetime);
}

/** Milliseconds until the request's deadline (negative once passed), on the monotonic clock. */
export function remainingMs(ctx: RequestContext): number {
  return ctx.expiresAt - performance.now();
}

/** The request's deadline as epoch milliseconds now, for a call to another process: this process's wall clock plus what is left. */
export function wallDeadline(ctx: RequestContext): number {
  return Date.now() + remainingMs(ctx);
}

/**
 * The inverse of `wallDeadline`, for a call that arrives with an epoch deadline (a Kafka record, an older
 * gateway): the milliseconds it leaves by this process's wall clock. Read once, where the call arrives; what
 * is left is then counted on the monotonic clock (`expiresAfter`).
 */
export function msLeftOfWallDeadline(deadlineEpochMs: number): number {
  return deadlineEpochMs - Date.now();
}

/** The `expiresAt` (this process's monotonic clock) of a call with `leftMs` to run from now. */
export function expiresAfter(leftMs: number): number {
  return performance.now() + leftMs;
}

/** A request context whose signal is made only when read (a class: one shape, a getter on the prototype). */
class LifetimeContext implements RequestContext {
  constructor(
    readonly requestId: string,
    readonly graph: string,
    readonly headers: Readonly<Record<string, string>>,
    readonly parameters: Readonly<Record<string, unknown>>,
    readonly expiresAt: number,
    readonly trace: boolean,
    readonly end: RequestLifetime,
  ) {}

  get signal(): AbortSignal {
    return this.end.signal;
  }
}

/** A request's end without an AbortSignal: whether and why it ended, and a callback for when it does. */
export interface RequestEnd {
  readonly aborted: boolean;
  readonly reason: unknown;
  /** Calls `listener` once when the request ends (at once if it has ended); returns how to unsubscribe. */
  onEnd(listener: () => void): () => void;
}

const NOTHING_TO_UNSUBSCRIBE = (): void => undefined;

/** A RequestEnd that follows an AbortSignal. */
export function signalEnd(signal: AbortSignal): RequestEnd {
  return {
    get aborted() {
      return signal.aborted;
    },
    get reason() {
      return signal.reason as unknown;
    },
    onEnd(listener) {
      if (signal.aborted) {
        listener();
        return NOTHING_TO_UNSUBSCRIBE;
      }
      signal.addEventListener('abort', listener, { once: true });
      return () => signal.removeEventListener('abort', listener);
    },
  };
}

/**
 * How long a request lives. Its AbortSignal is made the first time something reads it (a batch queue, a
 * Kafka call): most requests never need one, and an AbortController with its EventTarget costs about
 * 10 µs per request. `end` aborts the signal if it exists, or makes it born aborted.
 */
export class RequestLifetime implements RequestEnd {
  private controller: AbortController | undefined;
  private listeners: (() => void)[] | undefined;
  private endReason: unknown;
  private ended = false;

  get signal(): AbortSignal {
    if (this.controller === undefined) {
      this.controller = new AbortController();
      if (this.ended) this.controller.abort(this.endReason);
    }
    return this.controller.signal;
  }

  get aborted(): boolean {
    return this.ended;
  }

  get reason(): unknown {
    return this.endReason;
  }

  onEnd(listener: () => void): () => void {
    if (this.ended) {
      listener();
      return NOTHING_TO_UNSUBSCRIBE;
    }
    (this.listeners ??= []).push(listener);
    return () => {
      const i = this.listeners?.indexOf(listener) ?? -1;
      if (i >= 0) this.listeners?.splice(i, 1);
    };
  }

  end(reason: unknown = REQUEST_ENDED): void {
    if (this.ended) return;
    this.ended = true;
    this.endReason = reason;
    this.controller?.abort(reason);
    const listeners = this.listeners;
    this.listeners = undefined;
    if (listeners !== undefined) for (const l of listeners) l();
  }
}
