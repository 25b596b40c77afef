/**
 * Failure classes shared by every transport. Each maps to one HTTP status and one gRPC code,
 * so REST, gRPC and Kafka report the same problem the same way.
 */
export type InferenceErrorCode =
  | 'INVALID_ARGUMENT'
  | 'UNAUTHENTICATED'
  | 'PERMISSION_DENIED'
  | 'NOT_FOUND'
  | 'UNAVAILABLE'
  | 'DEADLINE_EXCEEDED'
  | 'PAYLOAD_TOO_LARGE'
  | 'UNPROCESSABLE'
  | 'INTERNAL';

export const HTTP_STATUS_OF: Readonly<Record<InferenceErrorCode, number>> = {
  INVALID_ARGUMENT: 400,
  UNAUTHENTICATED: 401,
  PERMISSION_DENIED: 403,
  NOT_FOUND: 404,
  PAYLOAD_TOO_LARGE: 413,
  UNPROCESSABLE: 422,
  INTERNAL: 500,
  UNAVAILABLE: 503,
  DEADLINE_EXCEEDED: 504,
};

/** Whether `code` names a failure class (own keys only: a peer's "toString" or "__proto__" is no code). */
export function isInferenceErrorCode(code: unknown): code is InferenceErrorCode {
  return typeof code === 'string' && Object.hasOwn(HTTP_STATUS_OF, code);
}

export class InferenceError extends Error {
  /** Extra fields for the error body, e.g. the outlier scores behind a 422. */
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(
    readonly code: InferenceErrorCode,
    message: string,
    options?: { cause?: unknown; details?: Readonly<Record<string, unknown>> },
  ) {
    super(message, options);
    this.name = 'InferenceError';
    this.details = options?.details;
  }

  get httpStatus(): number {
    return HTTP_STATUS_OF[this.code];
  }
}

export function invalidArgument(message: string): InferenceError {
  return new InferenceError('INVALID_ARGUMENT', message);
}

/** `details.reason` of a request refused because a node's batch queue is full. */
export const BATCH_QUEUE_FULL = 'batch_queue_full';

/**
 * A model node's batch queue is full: 503 / UNAVAILABLE, meant to be retried. The message names the
 * graph, the node and the limit; `details.reason` marks it for clients, and travels with the error over
 * every node transport (gRPC streams and Kafka carry the code and details explicitly).
 */
export function batchQueueFull(graph: string, node: string, maxQueueSize: number): InferenceError {
  return new InferenceError(
    'UNAVAILABLE',
    `graph "${graph}" node "${node}": batch queue is full (maxQueueSize ${maxQueueSize} requests); retry later`,
    { details: { reason: BATCH_QUEUE_FULL } },
  );
}

/** Whether an error is a full batch queue (here or on a worker): worth retrying later. */
export function isBatchQueueFull(err: unknown): boolean {
  return err instanceof InferenceError && err.code === 'UNAVAILABLE' && err.details?.['reason'] === BATCH_QUEUE_FULL;
}
