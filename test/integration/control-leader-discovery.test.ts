import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { CatalogueMessage } from '@infergraph/protocol';
import { ControlClient, ControlServer } from '@infergraph/transport-grpc';
import { freePort } from '../support/free-port';

// How workers and gateways find the leading controller behind the chart's headless Service: its name
// resolves to every Ready controller pod (the leader and a Ready standby), and only the leader listens on the
// control port. Real parts: grpc-js channels and servers on loopback; the DNS answer is given as grpc-js's
// `ipv4:` target (the same address list a headless Service's name resolves to, the same pick_first policy).

/** A controller's control plane that answers every catalogue watch with its own epoch. */
async function controlPlane(epoch: string, port: number): Promise<ControlServer> {
  const server = new ControlServer({ join: () => undefined, watchRoutes: () => undefined, watchCatalogue: (push) => push({ epoch, graphs: [] }) });
  await server.listen(`127.0.0.1:${port}`);
  return server;
}

/** The epoch of the first catalogue a fresh client of `target` receives. */
async function epochVia(target: string): Promise<string> {
  const client = new ControlClient(target);
  try {
    const stream = client.watchCatalogue('gateway-test');
    const first = await new Promise<CatalogueMessage>((resolve, reject) => {
      stream.once('data', resolve);
      stream.once('error', reject);
    });
    stream.cancel();
    return first.epoch;
  } finally {
    client.close();
  }
}

describe('finding the leading controller among every controller address', () => {
  const servers: ControlServer[] = [];
  after(() => {
    for (const s of servers) s.forceClose();
  });

  it('reaches the controller that listens, wherever it is in the list, and the new leader after a hand-over', async () => {
    const [a, b] = [await freePort(), await freePort()];
    const both = [`ipv4:127.0.0.1:${a},127.0.0.1:${b}`, `ipv4:127.0.0.1:${b},127.0.0.1:${a}`];
    // a leads; b is a standby: Ready, but nothing listens on its control port.
    const leaderA = await controlPlane('epoch-a', a);
    servers.push(leaderA);
    for (const target of both) assert.equal(await epochVia(target), 'epoch-a', target);
    // a stops (its control plane closes first, as on SIGTERM); b takes over and listens.
    leaderA.forceClose();
    servers.push(await controlPlane('epoch-b', b));
    for (const target of both) assert.equal(await epochVia(target), 'epoch-b', target);
  });
});
