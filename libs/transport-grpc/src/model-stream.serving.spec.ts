import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { describe, it } from 'node:test';
import type { ServerDuplexStream } from '@grpc/grpc-js';
import type { RequestLifetime } from '@infergraph/executor';
import { decodeStreamInferResponseProto, encodeInferRequestProto, encodeNodeCall, type InferParameterMessage, type InferRequest, type InferResponse, type ModelStreamInferResponseMessage } from '@infergraph/protocol';
import { ModelStreamServing } from './model-stream.serving';
import { STREAM_PARAM, int64Param } from './node-stream.framing';

/** A stand-in for grpc-js's server stream: messages are pushed with `data`, answers collected from `write`. */
class FakeStream extends EventEmitter {
  readonly answers: ModelStreamInferResponseMessage[] = [];
  write(bytes: Buffer): boolean {
    this.answers.push(decodeStreamInferResponseProto(bytes));
    return true;
  }
  end(): void {
    this.emit('finish');
  }
}

interface Received {
  readonly model: string;
  readonly request: InferRequest;
  readonly expiresAt: number | undefined;
  readonly end: RequestLifetime;
}

function serving(): { stream: FakeStream; received: Received[]; send: (callId: number, params: Record<string, InferParameterMessage>) => void } {
  const received: Received[] = [];
  const serve = new ModelStreamServing((model, request, _headers, expiresAt, end): Promise<InferResponse> => {
    received.push({ model, request, expiresAt, end });
    return Promise.resolve({ modelName: model, modelVersion: '1', id: request.id ?? '', parameters: undefined, outputs: [] });
  });
  const stream = new FakeStream();
  serve.serve(stream as unknown as ServerDuplexStream<Buffer, Buffer>);
  const send = (callId: number, params: Record<string, InferParameterMessage>): void => {
    const message = encodeNodeCall('g.n', `req-${callId}`, {}, [{ name: 'x', datatype: 'FP32', shape: [1, 1], data: new Float32Array([1]) }]);
    message.parameters = { ...message.parameters, [STREAM_PARAM.callId]: int64Param(callId), ...params };
    stream.emit('data', encodeInferRequestProto(message));
  };
  return { stream, received, send };
}

const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
const codeOf = (answer: ModelStreamInferResponseMessage | undefined): string | undefined => answer?.infer_response?.parameters?.[STREAM_PARAM.code]?.string_param;

describe('ModelStreamServing: the time a node call is given', () => {
  it('gives the node the time left the call carried, counted from its arrival on the monotonic clock', async () => {
    const { received, send } = serving();
    const before = performance.now();
    send(1, { [STREAM_PARAM.timeoutMs]: int64Param(2000) });
    await settle();
    const expiresAt = received[0]?.expiresAt;
    assert.ok(expiresAt !== undefined && expiresAt >= before + 2000 && expiresAt <= performance.now() + 2000, `expires at ${expiresAt}, about ${before + 2000} expected`);
  });

  it('does not run a call that arrives with no time left, and answers it DEADLINE_EXCEEDED', async () => {
    const { stream, received, send } = serving();
    send(1, { [STREAM_PARAM.timeoutMs]: int64Param(0) });
    await settle();
    assert.equal(received.length, 0);
    assert.equal(codeOf(stream.answers[0]), 'DEADLINE_EXCEEDED');
    assert.match(stream.answers[0]?.error_message ?? '', /node call g\.n arrived after its deadline; not run/);
  });

  it('reads the time left from the epoch deadline of a caller that sends no timeout (an older gateway)', async () => {
    const { received, send } = serving();
    const before = performance.now();
    send(1, { [STREAM_PARAM.deadlineMs]: int64Param(Date.now() + 3000) });
    await settle();
    const expiresAt = received[0]?.expiresAt;
    // Within the wall clock's millisecond rounding and the moments between the reads.
    assert.ok(expiresAt !== undefined && expiresAt >= before + 2990 && expiresAt <= performance.now() + 3010, `expires at ${expiresAt}, about ${before + 3000} expected`);
  });

  it('refuses a call whose epoch deadline has passed, when it carries no timeout', async () => {
    const { stream, received, send } = serving();
    send(1, { [STREAM_PARAM.deadlineMs]: int64Param(Date.now() - 1) });
    await settle();
    assert.equal(received.length, 0);
    assert.equal(codeOf(stream.answers[0]), 'DEADLINE_EXCEEDED');
  });

  it('prefers the timeout to an epoch deadline sent beside it: the wall clocks of two machines are never compared', async () => {
    const { stream, received, send } = serving();
    // As from a gateway whose wall clock runs a minute behind this worker's.
    send(1, { [STREAM_PARAM.timeoutMs]: int64Param(5000), [STREAM_PARAM.deadlineMs]: int64Param(Date.now() - 55_000) });
    await settle();
    assert.equal(received.length, 1);
    assert.ok((received[0]?.expiresAt ?? 0) > performance.now() + 4000);
    assert.equal(codeOf(stream.answers[0]), undefined, 'answered with outputs, not an error');
  });

  it('leaves the time to the node limit when the call carries neither', async () => {
    const { received, send } = serving();
    send(1, {});
    await settle();
    assert.equal(received.length, 1);
    assert.equal(received[0]?.expiresAt, undefined);
  });
});
