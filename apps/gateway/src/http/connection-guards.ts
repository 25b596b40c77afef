import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

/**
 * Closes a connection whose first request's headers are not complete within `ms`. Node's own headers
 * timeout stops being enforced for every connection once any kept-alive connection sits idle (seen on
 * Node 20), which is exactly when a slow-headers client attacks; this per-connection timer does not depend
 * on it. Later requests on a kept-alive connection are covered by Node's timeouts.
 */
const HEADERS_TIMED_OUT = 'HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n';

/** Arms the timer on every new connection; returns what the request handler calls when a request's headers are in. */
export function guardFirstHeaders(server: Server, ms: number): (req: IncomingMessage) => void {
  const waiting = new WeakMap<Socket, NodeJS.Timeout>();
  server.on('connection', (socket: Socket) => {
    const timer = setTimeout(() => {
      socket.end(HEADERS_TIMED_OUT);
      setTimeout(() => socket.destroy(), 1000).unref();
    }, ms);
    timer.unref();
    waiting.set(socket, timer);
    socket.once('close', () => clearTimeout(timer));
  });
  // Called from the request handler rather than as a second 'request' listener: one listener keeps the
  // per-request emit on its fast path. Only a connection's first request finds a timer.
  return (req) => {
    const timer = waiting.get(req.socket);
    if (timer === undefined) return;
    clearTimeout(timer);
    waiting.delete(req.socket);
  };
}

const LIVE_BODY = JSON.stringify({ live: true });

/** `GET /v2/health/live` on node:http: no framework, no graph state, nothing to queue behind. */
export function answerLiveness(req: IncomingMessage, res: ServerResponse): boolean {
  if (req.method !== 'GET' || req.url !== '/v2/health/live') return false;
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': LIVE_BODY.length, 'cache-control': 'no-store' });
  res.end(LIVE_BODY);
  return true;
}
