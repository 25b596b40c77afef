import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createRequestContext } from '@infergraph/executor';
import { InferenceError, type InferRequest, type InferResponse, type Tensor, type TensorMap } from '@infergraph/protocol';
import { GrpcNodeTransport, V2GrpcServer } from '@infergraph/transport-grpc';
import { FreezableProxy } from '../support/freezable-proxy';
import { streamOnlyHandlers } from '../support/stream-only.handlers';

// Integration: the gateway's GrpcNodeTransport against two real V2GrpcServers on loopback ports, over real
// grpc-js ModelStreamInfer streams. The routing table is a fixed resolver; the nodes behind the servers are
// test doubles that hold each call until the test answers it, so how calls spread is counted, not timed.

/** A worker's node that holds every call it gets until `answerAll`. */
class HeldWorker {
  readonly held: { request: InferRequest; answer: (r: InferResponse) => void }[] = [];
  private readonly server: V2GrpcServer;
  address = '';

  constructor() {
    const handlers = streamOnlyHandlers((model, request) => new Promise<InferResponse>((answer) => this.held.push({ request, answer: (r) => answer({ ...r, modelName: model }) })));
    this.server = new V2GrpcServer(handlers, { host: '127.0.0.1', port: 0, maxReceiveMessageLength: 1 << 20, maxSendMessageLength: 1 << 20, shutdownTimeoutMs: 50 });
  }

  async listen(): Promise<void> {
    this.address = `127.0.0.1:${await this.server.listen()}`;
  }

  answerAll(): void {
    for (const { request, answer } of this.held.splice(0)) answer({ modelName: '', modelVersion: '1', id: request.id ?? '', parameters: undefined, outputs: request.inputs.map((t) => ({ ...t, name: 'y' })) });
  }

  close(): Promise<void> {
    return this.server.close();
  }
}

const inputs = (k: number): TensorMap => new Map<string, Tensor>([['x', { name: 'x', datatype: 'FP32', shape: [1, 1], data: new Float32Array([k]) }]]);
const invocation = (k: number): Parameters<GrpcNodeTransport['invoke']>[0] => ({
  graph: 'g',
  node: 'n',
  inputs: inputs(k),
  ctx: createRequestContext({ graph: 'g', timeoutMs: 5000, signal: new AbortController().signal }),
});

async function arrived(workers: readonly HeldWorker[], n: number): Promise<void> {
  while (workers.reduce((sum, w) => sum + w.held.length, 0) < n) await new Promise((r) => setTimeout(r, 5));
}

describe('GrpcNodeTransport over real ModelStreamInfer streams', () => {
  const twice = new HeldWorker();
  const once = new HeldWorker();

  before(async () => {
    await Promise.all([twice.listen(), once.listen()]);
  });
  after(async () => {
    await Promise.all([twice.close(), once.close()]);
  });

  it('gives a worker holding two replicas of a node (two routing entries) twice the calls of a worker holding one', async () => {
    const transport = new GrpcNodeTransport(() => [twice.address, twice.address, once.address]);
    try {
      const calls = Array.from({ length: 30 }, (_, k) => transport.invoke(invocation(k)));
      await arrived([twice, once], 30);
      assert.equal(twice.held.length + once.held.length, 30);
      assert.equal(twice.held.length, 2 * once.held.length, `calls: ${twice.held.length} to the worker with two replicas, ${once.held.length} to the one with one`);
      twice.answerAll();
      once.answerAll();
      const answers = await Promise.all(calls);
      assert.deepEqual(
        answers.map((a) => (a.get('y')?.data as Float32Array)[0]),
        Array.from({ length: 30 }, (_, k) => k),
      );
    } finally {
      transport.close();
    }
  });

  it('answers UNAVAILABLE when the only worker, holding two replicas, is unreachable: no second try on the same worker', async () => {
    const gone = new HeldWorker();
    await gone.listen();
    await gone.close();
    const transport = new GrpcNodeTransport(() => [gone.address, gone.address]);
    try {
      await assert.rejects(transport.invoke(invocation(1)), (err: unknown) => {
        assert.ok(err instanceof InferenceError, `an InferenceError, not ${String(err)}`);
        assert.equal(err.code, 'UNAVAILABLE');
        return true;
      });
    } finally {
      transport.close();
    }
  });

  it('moves a call held by a worker that stopped answering to the other worker, and sends it nothing more until it answers again', async () => {
    const frozen = new HeldWorker();
    await frozen.listen();
    const [host, port] = frozen.address.split(':') as [string, string];
    const proxy = new FreezableProxy({ host, port: Number(port) });
    await proxy.listen();
    const transport = new GrpcNodeTransport(() => [proxy.address, once.address], { pingIntervalMs: 200, pingTimeoutMs: 600 });
    try {
      // Both idle: the first in the list takes the call, and answers.
      const warm = transport.invoke(invocation(1));
      await arrived([frozen], 1);
      frozen.answerAll();
      await warm;

      proxy.freeze();
      const frozenAt = performance.now();
      const moved = transport.invoke(invocation(2));
      await arrived([once], 1);
      const movedAfter = performance.now() - frozenAt;
      once.answerAll();
      assert.deepEqual([...((await moved).get('y')?.data as Float32Array)], [2]);
      assert.ok(movedAfter < 200 + 600 + 1000, `the call reached the other worker ${movedAfter} ms after the freeze (its deadline is 5 s away)`);

      // While the first worker is lost, every call goes to the other one at once, however busy it is.
      const calls = Array.from({ length: 10 }, (_, k) => transport.invoke(invocation(10 + k)));
      await arrived([once], 10);
      assert.equal(frozen.held.length, 0);
      once.answerAll();
      await Promise.all(calls);

      // Thawed: once its connection is READY again it takes its share.
      proxy.thaw();
      let reached = 0;
      for (let round = 0; round < 50 && reached === 0; round++) {
        const batch = Array.from({ length: 4 }, (_, k) => transport.invoke(invocation(100 + k)));
        await arrived([frozen, once], 4);
        reached = frozen.held.length;
        frozen.answerAll();
        once.answerAll();
        await Promise.all(batch);
        if (reached === 0) await new Promise((r) => setTimeout(r, 100));
      }
      assert.ok(reached > 0, 'the thawed worker got no call');
    } finally {
      transport.close();
      await proxy.close();
      await frozen.close();
    }
  });

  it('lets go of the client of a worker the routes no longer name once its call in flight ends, and keeps one routed again', async () => {
    let routed = [once.address, twice.address];
    const transport = new GrpcNodeTransport(() => routed);
    try {
      const calls = [transport.invoke(invocation(1)), transport.invoke(invocation(2))];
      await arrived([once, twice], 2);
      assert.equal(transport.clients, 2);
      // `once` leaves the table with a call in flight (a draining worker): the call still finishes.
      routed = [twice.address];
      transport.retain(new Set(routed));
      assert.equal(transport.clients, 2, 'a client with a call in flight is kept until the call ends');
      once.answerAll();
      twice.answerAll();
      assert.deepEqual((await Promise.all(calls)).map((a) => (a.get('y')?.data as Float32Array)[0]).sort(), [1, 2]);
      assert.equal(transport.clients, 1, "the unrouted worker's client went with its last call");
      // Routed again (a worker back at its address): a new client, and calls reach it.
      routed = [once.address];
      const back = transport.invoke(invocation(3));
      await arrived([once], 1);
      once.answerAll();
      assert.deepEqual([...((await back).get('y')?.data as Float32Array)], [3]);
      // Unrouted with nothing in flight: let go at once.
      transport.retain(new Set([twice.address]));
      assert.equal(transport.clients, 1);
    } finally {
      transport.close();
    }
  });

  it('retries a call once on the other worker when the first is unreachable', async () => {
    const gone = new HeldWorker();
    await gone.listen();
    await gone.close();
    const transport = new GrpcNodeTransport(() => [gone.address, once.address]);
    try {
      const call = transport.invoke(invocation(7));
      await arrived([once], 1);
      once.answerAll();
      assert.deepEqual([...((await call).get('y')?.data as Float32Array)], [7]);
    } finally {
      transport.close();
    }
  });
});
