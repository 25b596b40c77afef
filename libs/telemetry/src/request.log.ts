import type { EngineEventSource } from './engine.metrics';
import type { StructuredLogger } from './structured.logger';

/** Client errors (the caller's problem) log at info; the rest of the failures at warn. */
const CLIENT_ERRORS = new Set(['INVALID_ARGUMENT', 'NOT_FOUND', 'UNPROCESSABLE', 'PAYLOAD_TOO_LARGE']);

/**
 * One line per graph request (context "request": request id, graph, code, route, duration; failures
 * with the error) and, at verbose, one per node (context "node"). Successful requests log at debug, so
 * the default level (info) keeps the hot path quiet; failures log at info (client errors) or warn.
 * Tensors appear only when the service was asked to attach them (LOG_PAYLOADS).
 */
export function logRequests(events: EngineEventSource, logger: StructuredLogger): void {
  events.on('request', (r) => {
    const level = r.code === 'OK' ? 'debug' : CLIENT_ERRORS.has(r.code) ? 'info' : 'warn';
    if (!logger.enabled(level)) return;
    logger.record(level, 'request', {
      msg: r.code === 'OK' ? `graph "${r.graph}" answered` : `graph "${r.graph}" failed: ${r.error ?? r.code}`,
      requestId: r.requestId,
      graph: r.graph,
      code: r.code,
      ...(r.route !== undefined ? { route: r.route } : {}),
      ...(r.subject !== undefined ? { subject: r.subject } : {}),
      durationMs: Math.round(r.seconds * 1e6) / 1000,
      ...(r.payload !== undefined ? { payload: r.payload } : {}),
    });
  });
  events.on('node', (n) => {
    if (!logger.enabled('verbose') || n.status === 'skipped') return;
    logger.record('verbose', 'node', {
      msg: `node "${n.node}" ${n.status}`,
      requestId: n.requestId,
      graph: n.graph,
      node: n.node,
      type: n.type,
      status: n.status,
      ...(n.route !== undefined ? { route: n.route } : {}),
      durationMs: Math.round(n.seconds * 1e6) / 1000,
    });
  });
}
