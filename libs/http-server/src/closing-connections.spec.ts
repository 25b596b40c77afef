import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { describe, it } from 'node:test';
import { IDLE_GRACE_MS, endConnectionsOnClose } from './closing-connections';

// A real node:http server on loopback and a raw client socket, so the test sees exactly what goes over the wire.

async function serving(): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    answering(res);
    req.resume();
    req.on('end', () => res.end('ok'));
  });
  const answering = endConnectionsOnClose(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port };
}

const REQUEST = 'GET / HTTP/1.1\r\nHost: x\r\n\r\n';

/** Sends one request and resolves with the answer's head once its body ("ok") is in. */
function exchange(socket: Socket): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const onData = (chunk: Buffer): void => {
      text += chunk.toString('latin1');
      if (!text.endsWith('ok')) return;
      socket.off('data', onData);
      resolve(text);
    };
    socket.on('data', onData);
    socket.once('error', reject);
    socket.write(REQUEST);
  });
}

describe('endConnectionsOnClose', () => {
  it('answers a request sent on a kept-alive connection that was idle when the server closed, and closes it after', async () => {
    const { server, port } = await serving();
    const socket = connect(port, '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    assert.match(await exchange(socket), /^HTTP\/1\.1 200[\s\S]*Connection: keep-alive/i);
    const ended = new Promise((resolve) => socket.once('close', resolve));
    server.close();
    // The connection is idle now; a client's next request may already be on its way. node:http alone ends the
    // connection here and the request is reset.
    const second = await exchange(socket);
    assert.match(second, /^HTTP\/1\.1 200/);
    assert.match(second, /Connection: close/i);
    await ended;
  });

  it('ends a connection that stays idle once the grace is over, and the server closes', async () => {
    const { server, port } = await serving();
    const socket = connect(port, '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    await exchange(socket);
    const closedAt = performance.now();
    const serverClosed = new Promise((resolve) => server.close(resolve));
    await new Promise((resolve) => socket.once('close', resolve));
    const idleMs = performance.now() - closedAt;
    assert.ok(idleMs >= IDLE_GRACE_MS - 50 && idleMs < IDLE_GRACE_MS + 1000, `idle connection ended after ${idleMs} ms`);
    await serverClosed;
  });
});
