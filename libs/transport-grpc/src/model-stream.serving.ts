import type { ServerDuplexStream } from '@grpc/grpc-js';
import { RequestLifetime, expiresAfter, msLeftOfWallDeadline } from '@infergraph/executor';
import {
  InferenceError,
  decodeInferRequestMessage,
  decodeModelInferRequest,
  encodeModelInferResponse,
  encodeStreamInferResponseProto,
  grpcStatusOf,
  type InferParameterMessage,
  type InferRequest,
  type InferResponse,
  type ModelInferRequestMessage,
} from '@infergraph/protocol';
import { RESERVED_PARAM_PREFIX, STREAM_PARAM, errorParams, numberParam } from './node-stream.framing';

/**
 * One call of a ModelStreamInfer stream, decoded. `headers`: those the call carried; `expiresAt`: when its
 * time runs out on this process's `performance.now()` clock, if it carried a timeout or deadline; `end` ends
 * when the caller cancels it or the stream goes away.
 */
export type StreamInferHandler = (
  model: string,
  request: InferRequest,
  headers: Record<string, string>,
  expiresAt: number | undefined,
  end: RequestLifetime,
) => Promise<InferResponse>;

interface StreamState {
  readonly call: ServerDuplexStream<Buffer, Buffer>;
  /** Calls running, by call id (the V2 id for callers that send none). */
  readonly running: Map<string, RequestLifetime>;
  inFlight: number;
  halfClosed: boolean;
  gone: boolean;
}

/**
 * The worker's end of ModelStreamInfer: every message is one call, run concurrently with the others; its
 * answer carries its call id; an error answers that call only (code and details as parameters, see
 * node-stream.framing.ts). While draining, new calls are refused with a retry mark, and each stream ends
 * (status OK) once its calls in flight have answered, so the server's graceful shutdown completes.
 */
export class ModelStreamServing {
  private readonly streams = new Set<StreamState>();
  private draining = false;

  constructor(private readonly handle: StreamInferHandler) {}

  serve(call: ServerDuplexStream<Buffer, Buffer>): void {
    const state: StreamState = { call, running: new Map(), inFlight: 0, halfClosed: false, gone: false };
    this.streams.add(state);
    const gone = (): void => {
      if (state.gone) return;
      state.gone = true;
      this.streams.delete(state);
      for (const lifetime of state.running.values()) lifetime.end();
    };
    call.on('data', (bytes: Buffer) => this.onMessage(state, bytes));
    call.on('end', () => {
      state.halfClosed = true;
      this.endIfIdle(state);
    });
    call.on('cancelled', gone);
    call.on('error', gone);
    call.on('close', gone);
  }

  /** Refuses new calls from now on and ends each stream once its calls in flight have answered. */
  drain(): void {
    this.draining = true;
    for (const s of this.streams) this.endIfIdle(s);
  }

  private endIfIdle(state: StreamState): void {
    if (state.gone || state.inFlight > 0 || !(state.halfClosed || this.draining)) return;
    state.gone = true;
    this.streams.delete(state);
    state.call.end();
  }

  private onMessage(state: StreamState, bytes: Buffer): void {
    let message: ModelInferRequestMessage;
    try {
      message = decodeInferRequestMessage(bytes);
    } catch (err) {
      this.answerError(state, undefined, '', '', err, false);
      return;
    }
    const params = message.parameters ?? {};
    const callParam = params[STREAM_PARAM.callId];
    // Callers that send no call id (Triton clients) are answered by their request id.
    const key = callParam === undefined ? `id:${message.id ?? ''}` : `call:${callParam.int64_param ?? ''}`;
    if (params[STREAM_PARAM.cancel]?.bool_param === true) {
      state.running.get(key)?.end();
      return;
    }
    // The rest of the call's time counts from its arrival here, on the monotonic clock: a worker's wall clock
    // is never compared with the gateway's. Only a caller that sends no timeout (a gateway from before it) has
    // its absolute deadline read against this wall clock, once, here.
    const timeout = numberParam(params[STREAM_PARAM.timeoutMs]);
    const deadline = timeout === undefined ? numberParam(params[STREAM_PARAM.deadlineMs]) : undefined;
    const left = timeout ?? (deadline === undefined ? undefined : msLeftOfWallDeadline(deadline));
    const headers: Record<string, string> = {};
    for (const name in params) {
      if (!name.startsWith(RESERVED_PARAM_PREFIX)) continue;
      if (name.startsWith(STREAM_PARAM.headerPrefix)) headers[name.slice(STREAM_PARAM.headerPrefix.length)] = params[name]?.string_param ?? '';
      delete params[name];
    }
    const model = message.model_name;
    const id = message.id ?? '';
    if (this.draining) {
      this.answerError(state, callParam, model, id, new InferenceError('UNAVAILABLE', `worker is shutting down; ${model} was not run`), true);
      return;
    }
    if (left !== undefined && left <= 0) {
      this.answerError(state, callParam, model, id, new InferenceError('DEADLINE_EXCEEDED', `node call ${model} arrived after its deadline; not run`), false);
      return;
    }
    const lifetime = new RequestLifetime();
    state.running.set(key, lifetime);
    state.inFlight++;
    void this.run(state, key, callParam, message, headers, left === undefined ? undefined : expiresAfter(left), lifetime);
  }

  private async run(
    state: StreamState,
    key: string,
    callParam: InferParameterMessage | undefined,
    message: ModelInferRequestMessage,
    headers: Record<string, string>,
    expiresAt: number | undefined,
    lifetime: RequestLifetime,
  ): Promise<void> {
    try {
      const response = await this.handle(message.model_name, decodeModelInferRequest(message, true), headers, expiresAt, lifetime);
      const infer = encodeModelInferResponse(response);
      if (callParam !== undefined) infer.parameters[STREAM_PARAM.callId] = callParam;
      this.write(state, encodeStreamInferResponseProto({ error_message: '', infer_response: infer }));
    } catch (err) {
      this.answerError(state, callParam, message.model_name, message.id ?? '', err, false);
    } finally {
      if (state.running.get(key) === lifetime) state.running.delete(key);
      state.inFlight--;
      lifetime.end();
      this.endIfIdle(state);
    }
  }

  private answerError(state: StreamState, callParam: InferParameterMessage | undefined, model: string, id: string, err: unknown, retry: boolean): void {
    const parameters = errorParams(err, retry);
    if (callParam !== undefined) parameters[STREAM_PARAM.callId] = callParam;
    const infer = { model_name: model, model_version: '', id, parameters, outputs: [], raw_output_contents: [] };
    this.write(state, encodeStreamInferResponseProto({ error_message: grpcStatusOf(err).message, infer_response: infer }));
  }

  private write(state: StreamState, bytes: Buffer): void {
    if (!state.gone) state.call.write(bytes);
  }
}
