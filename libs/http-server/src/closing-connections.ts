import type { Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

/** How often connections still open after `close()` are checked for an answer that is out. */
const SWEEP_MS = 100;

/**
 * Ends keep-alive connections once their last answer is out when the server closes. node:http's `close()`
 * closes the connections idle at that moment, but one whose request is in flight stays open after its answer
 * until the keep-alive timeout (72 s by default here), so a gateway stopped with SIGTERM outlived the 30 s a
 * Kubernetes pod gets to stop. From the close on, answers not yet begun carry `Connection: close` and node:http
 * ends their connection after them; answers already under way are caught by a sweep of idle connections.
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
  server.close = (callback?: (err?: Error) => void): Server => {
    if (!closing) {
      closing = true;
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
