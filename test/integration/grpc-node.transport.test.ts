import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createRequestContext } from '@infergraph/executor';
import { InferenceError, type InferRequest, type InferResponse, type Tensor, type TensorMap } from '@infergraph/protocol';
import { GrpcNodeTransport, V2GrpcServer } from '@infergraph/transport-grpc';
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
