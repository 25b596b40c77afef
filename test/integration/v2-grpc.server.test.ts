import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client, credentials, status, type ServiceError } from '@grpc/grpc-js';
import { InferenceError, type ModelInferRequestMessage, type ModelInferResponseMessage } from '@infergraph/protocol';
import { V2GrpcServer, type V2GrpcHandlers } from '@infergraph/transport-grpc';
import { V2GrpcClient } from '../support/grpc-client';

// Integration: a real V2GrpcServer on a loopback port and a real grpc-js client; the handlers are test
// doubles, so what is under test is the wire: messages, statuses, metadata, limits and shutdown.

const LIMIT_BYTES = 64 * 1024;

/** Handlers whose ModelInfer behaviour each test sets. */
function handlers(): V2GrpcHandlers & { infer: V2GrpcHandlers['modelInfer']; seen: Record<string, string>[] } {
  const h = {
    seen: [] as Record<string, string>[],
    infer: (_request: ModelInferRequestMessage, _headers: Record<string, string>): Promise<ModelInferResponseMessage> => Promise.reject(new Error('no behaviour set')),
    serverLive: () => ({ live: true }),
    serverReady: () => Promise.resolve({ ready: true }),
    serverMetadata: () => ({ name: 'test-server', version: '9.9.9', extensions: [] }),
    modelReady: (request: { name: string }) => (request.name === 'g.n' ? { ready: true } : { ready: false, notReady: `graph "g" cannot serve: node "${request.name}" has no READY replica` }),
    modelMetadata: (request: { name: string }) => {
      if (request.name !== 'g.n') throw new InferenceError('NOT_FOUND', `no model "${request.name}"`);
      return { name: 'g.n', versions: ['1'], platform: 'test', inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 2] }], outputs: [] };
    },
    modelInfer: (request: ModelInferRequestMessage, headers: Record<string, string>) => {
      h.seen.push(headers);
      return h.infer(request, headers);
    },
    streamInfer: () => Promise.reject(new Error('not streamed here')),
  };
  return h;
}

function echo(request: ModelInferRequestMessage): ModelInferResponseMessage {
  return {
    model_name: request.model_name,
    model_version: '1',
    id: request.id ?? '',
    parameters: {},
    outputs: (request.inputs ?? []).map((t) => ({ name: `${t.name}_out`, datatype: t.datatype, shape: t.shape.map(Number) })),
    raw_output_contents: request.raw_input_contents ?? [],
  };
}

const CALL: ModelInferRequestMessage = {
  model_name: 'g.n',
  id: 'req-1',
  inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 2] }],
  raw_input_contents: [Buffer.from(new Float32Array([1.5, -2]).buffer)],
};

async function rejection(call: Promise<unknown>): Promise<ServiceError> {
  try {
    await call;
  } catch (err) {
    return err as ServiceError;
  }
  assert.fail('the call succeeded');
}

describe('V2GrpcServer over loopback with a grpc-js client', () => {
  const h = handlers();
  const server = new V2GrpcServer(h, { host: '127.0.0.1', port: 0, maxReceiveMessageLength: LIMIT_BYTES, maxSendMessageLength: LIMIT_BYTES });
  let client: V2GrpcClient;

  before(async () => {
    const port = await server.listen();
    assert.ok(port > 0);
    assert.equal(server.port, port);
    client = new V2GrpcClient(`127.0.0.1:${port}`);
  });
  after(async () => {
    client.close();
    await server.close();
  });

  it('round-trips a ModelInfer request through the handler and back', async () => {
    h.infer = (request) => Promise.resolve(echo(request));
    const response = await client.call<ModelInferResponseMessage>('ModelInfer', CALL);
    assert.equal(response.model_name, 'g.n');
    assert.equal(response.id, 'req-1');
    assert.deepEqual(response.outputs.map((o) => [o.name, o.datatype, o.shape.map(Number)]), [['x_out', 'FP32', [1, 2]]]);
    assert.deepEqual([...new Float32Array(new Uint8Array(response.raw_output_contents[0] as Uint8Array).buffer)], [1.5, -2]);
  });

  it('answers the five metadata and health RPCs from their handlers', async () => {
    assert.deepEqual(await client.call('ServerLive', {}), { live: true });
    assert.deepEqual(await client.call('ServerReady', {}), { ready: true });
    assert.deepEqual(await client.call('ServerMetadata', {}), { name: 'test-server', version: '9.9.9', extensions: [] });
    assert.deepEqual(await client.call('ModelReady', { name: 'g.n' }), { ready: true });
    assert.deepEqual(await client.call('ModelReady', { name: 'g.other' }), { ready: false });
    const metadata = await client.call<{ name: string; inputs: { shape: string[] }[] }>('ModelMetadata', { name: 'g.n' });
    assert.equal(metadata.name, 'g.n');
    assert.deepEqual(metadata.inputs[0]?.shape.map(Number), [-1, 2]);
  });

  it('says what is not ready in the trailing metadata infergraph-not-ready, and nothing there when ready', async () => {
    const missing = await client.callWithTrailers<{ ready: boolean }>('ModelReady', { name: 'g.other' });
    assert.deepEqual(missing.response, { ready: false });
    assert.equal(missing.trailers['infergraph-not-ready'], 'graph "g" cannot serve: node "g.other" has no READY replica');
    const ready = await client.callWithTrailers<{ ready: boolean }>('ModelReady', { name: 'g.n' });
    assert.deepEqual(ready.response, { ready: true });
    assert.equal(ready.trailers['infergraph-not-ready'], undefined);
  });

  for (const [code, grpcCode] of [
    ['NOT_FOUND', status.NOT_FOUND],
    ['INVALID_ARGUMENT', status.INVALID_ARGUMENT],
    ['UNAVAILABLE', status.UNAVAILABLE],
    ['UNPROCESSABLE', status.FAILED_PRECONDITION],
    ['DEADLINE_EXCEEDED', status.DEADLINE_EXCEEDED],
  ] as const) {
    it(`answers an InferenceError ${code} with gRPC status ${grpcCode} and its message`, async () => {
      h.infer = () => Promise.reject(new InferenceError(code, `node "n" of graph "g": ${code.toLowerCase()}`));
      const err = await rejection(client.call('ModelInfer', CALL));
      assert.equal(err.code, grpcCode);
      assert.equal(err.details, `node "n" of graph "g": ${code.toLowerCase()}`);
    });
  }

  it('answers an error thrown synchronously by a handler the same way', async () => {
    const err = await rejection(client.call('ModelMetadata', { name: 'g.missing' }));
    assert.equal(err.code, status.NOT_FOUND);
    assert.equal(err.details, 'no model "g.missing"');
  });

  it('answers a plain Error with INTERNAL and its message, and keeps serving the next call', async () => {
    h.infer = () => Promise.reject(new TypeError('cannot read properties of undefined'));
    const err = await rejection(client.call('ModelInfer', CALL));
    assert.equal(err.code, status.INTERNAL);
    assert.equal(err.details, 'internal error: cannot read properties of undefined');
    h.infer = () => {
      throw new Error('thrown, not rejected');
    };
    assert.equal((await rejection(client.call('ModelInfer', CALL))).code, status.INTERNAL);
    h.infer = (request) => Promise.resolve(echo(request));
    assert.equal((await client.call<ModelInferResponseMessage>('ModelInfer', CALL)).id, 'req-1');
  });

  it("passes the call's metadata to ModelInfer as lower-cased headers", async () => {
    h.infer = (request) => Promise.resolve(echo(request));
    h.seen.length = 0;
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    await client.call('ModelInfer', CALL, { 'X-Request-Id': 'abc', traceparent });
    assert.equal(h.seen[0]?.['x-request-id'], 'abc');
    assert.equal(h.seen[0]?.['traceparent'], traceparent);
  });

  it('refuses a request larger than maxReceiveMessageLength with RESOURCE_EXHAUSTED', async () => {
    h.infer = (request) => Promise.resolve(echo(request));
    const big = { ...CALL, raw_input_contents: [Buffer.alloc(LIMIT_BYTES + 1)] };
    assert.equal((await rejection(client.call('ModelInfer', big))).code, status.RESOURCE_EXHAUSTED);
  });

  it('answers request bytes that are no protobuf message with INVALID_ARGUMENT, never reaching the handler', async () => {
    h.infer = () => Promise.reject(new Error('the handler must not see an undecodable request'));
    const raw = new Client(`127.0.0.1:${server.port ?? 0}`, credentials.createInsecure());
    try {
      for (const method of ['ModelInfer', 'ModelReady', 'ModelMetadata']) {
        const err = await new Promise<ServiceError | null>((resolve) =>
          raw.makeUnaryRequest(`/inference.GRPCInferenceService/${method}`, (b: Buffer) => b, (b: Buffer) => b, Buffer.from([0x0a, 0xff, 0xff]), (e) => resolve(e)),
        );
        assert.equal(err?.code, status.INVALID_ARGUMENT, method);
        assert.match(err?.details ?? '', /^malformed protobuf Model\w+Request: index out of range/);
      }
    } finally {
      raw.close();
    }
  });
});

describe('V2GrpcServer.close', () => {
  it('lets a call in flight finish, then refuses new calls', async () => {
    const h = handlers();
    const server = new V2GrpcServer(h, { host: '127.0.0.1', port: 0, maxReceiveMessageLength: LIMIT_BYTES, maxSendMessageLength: LIMIT_BYTES });
    const client = new V2GrpcClient(`127.0.0.1:${await server.listen()}`);
    try {
      let started!: () => void;
      const inHandler = new Promise<void>((resolve) => (started = resolve));
      let finish!: () => void;
      h.infer = (request) => {
        started();
        return new Promise((resolve) => (finish = () => resolve(echo(request))));
      };
      const inFlight = client.call<ModelInferResponseMessage>('ModelInfer', CALL);
      await inHandler;
      const closed = server.close();
      finish();
      assert.equal((await inFlight).id, 'req-1');
      await closed;
      assert.equal((await rejection(client.call('ServerLive', {}))).code, status.UNAVAILABLE);
    } finally {
      client.close();
    }
  });

  it('cancels the calls still running after the shutdown timeout', async () => {
    const h = handlers();
    const server = new V2GrpcServer(h, { host: '127.0.0.1', port: 0, maxReceiveMessageLength: LIMIT_BYTES, maxSendMessageLength: LIMIT_BYTES, shutdownTimeoutMs: 200 });
    const client = new V2GrpcClient(`127.0.0.1:${await server.listen()}`);
    try {
      let started!: () => void;
      const inHandler = new Promise<void>((resolve) => (started = resolve));
      h.infer = () => {
        started();
        return new Promise(() => undefined);
      };
      const stuck = rejection(client.call('ModelInfer', CALL));
      await inHandler;
      const t0 = performance.now();
      await server.close();
      assert.ok(performance.now() - t0 >= 150, 'close waited for the call before cancelling it');
      // CANCELLED: a caller's GrpcNodeTransport retries it on another replica.
      assert.equal((await stuck).code, status.CANCELLED);
    } finally {
      client.close();
    }
  });
});
