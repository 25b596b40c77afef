import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

/** How often connections still open after `close()` are checked for an answer that is out. */
const SWEEP_MS = 100;

/** How long a closing server leaves a kept-alive connection idle for its client's next request (answered, then closed). */
export const IDLE_GRACE_MS = 1000;

/**
 * How long a closing server still reads and drops the rest of a body it already answered (a 413 mid-body)
 * before it closes the connection: time for the client to read the answer, which an early close could
 * reset away.
 */
export const CLOSING_LINGER_MS = 1000;

/** Requests whose rest is being dropped, and the sockets of servers that are closing. */
const discards = new Set<IncomingMessage>();
const closingSockets = new WeakSet<Socket>();

/**
 * Ends keep-alive connections once their last answer is out when the server closes. node:http's `close()`
 * closes the connections idle at that moment, but one whose request is in flight stays open after its answer
 * until the keep-alive timeout (72 s by default here), so a gateway stopped with SIGTERM outlived the 30 s a
 * Kubernetes pod gets to stop. From the close on, answers not yet begun carry `Connection: close` and node:http
 * ends their connection after them; answers already under way are caught by a sweep of idle connections, which
 * leaves a connection idle for IDLE_GRACE_MS first (a request already sent on it is answered, not reset).
 *
 * Returns what the request handler calls for each request (a flag test while serving).
 */
export function endConnectionsOnClose(server: Server): (res: ServerResponse) => void {
  let closing = false;
  const open = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    open.add(socket);
    socket.once('close', () => open.delete(socket));
  });
  const close = server.close.bind(server);
  // node:http's close() ends every connection idle at that moment. Under constant load a kept-alive connection
  // is idle only between an answer and its client's next request, which may already be on the wire: ended
  // then, that request is reset unanswered. Idle connections are left IDLE_GRACE_MS instead, so the next
  // request on each is answered (with `Connection: close`); those still idle after it are ended.
  // Frameworks ask for it too (Fastify, before its close): the first ask, from whoever, starts the grace.
  const closeIdle = server.closeIdleConnections.bind(server);
  let graceFrom: number | undefined;
  server.closeIdleConnections = (): void => {
    graceFrom ??= performance.now();
    if (performance.now() - graceFrom >= IDLE_GRACE_MS) closeIdle();
  };
  server.close = (callback?: (err?: Error) => void): Server => {
    if (!closing) {
      closing = true;
      graceFrom ??= performance.now();
      for (const socket of open) closingSockets.add(socket);
      for (const req of discards) if (open.has(req.socket)) lingerThenClose(req);
      for (const socket of open) {
        // node:http's answer on that connection (undocumented but stable since Node 0.x); absent when idle.
        const res = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage;
        if (res && !res.headersSent) res.shouldKeepAlive = false;
      }
      const sweep = setInterval(() => server.closeIdleConnections(), SWEEP_MS);
      sweep.unref();
      server.once('close', () => clearInterval(sweep));
    }
    return close(callback);
  };
  return (res) => {
    if (closing) res.shouldKeepAlive = false;
  };
}

/**
 * Reads and drops the rest of a request body that was already answered (a 413 found mid-body), so a client
 * that finishes its body keeps a usable connection, but bounded: a body that stalls for `stallMs` has its
 * connection closed, and a closing server closes it after CLOSING_LINGER_MS. Without the bounds a client that
 * neither finishes nor closes holds the connection, and a stopping server, until the request timeout.
 */
export function discardRest(req: IncomingMessage, stallMs: number): void {
  if (req.complete || req.destroyed) return;
  const socket = req.socket;
  const stalled = setTimeout(() => socket.destroy(), stallMs).unref();
  req.on('data', () => stalled.refresh());
  const settle = (): void => {
    clearTimeout(stalled);
    discards.delete(req);
  };
  req.once('end', settle);
  req.once('close', settle);
  req.resume();
  discards.add(req);
  if (closingSockets.has(socket)) lingerThenClose(req);
}

function lingerThenClose(req: IncomingMessage): void {
  setTimeout(() => {
    if (!req.complete) req.socket.destroy();
  }, CLOSING_LINGER_MS).unref();
}
