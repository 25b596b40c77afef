import type { IncomingMessage, Server, ServerOptions, ServerResponse } from 'node:http';
import { endConnectionsOnClose } from '@infergraph/http-server';
import type { GatewayConfig } from '../config/gateway.config';
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

/**
 * The deadlines node:http enforces only when given at the server's creation: headers and the whole request,
 * checked on connectionsCheckingInterval (Node's default is 30 s).
 */
export function deadlineOptions(h: GatewayConfig['http']): ServerOptions {
  return { connectionsCheckingInterval: Math.min(1000, h.headersTimeoutMs), headersTimeout: h.headersTimeoutMs, requestTimeout: h.requestTimeoutMs };
}

/**
 * Slow or idle clients cannot hold the server: idle keep-alive connections have a deadline, connections are
 * capped, a connection's first headers have their own timer, and answers given while the server closes end
 * their connection. Returns what the request handler calls for each request.
 */
export function guardServer(server: Server, h: GatewayConfig['http']): (req: IncomingMessage, res: ServerResponse) => void {
  server.keepAliveTimeout = h.keepAliveTimeoutMs;
  server.maxConnections = h.maxConnections;
  const headersArrived = guardFirstHeaders(server, h.headersTimeoutMs);
  const answering = endConnectionsOnClose(server);
  return (req, res) => {
    headersArrived(req);
    answering(res);
  };
}
