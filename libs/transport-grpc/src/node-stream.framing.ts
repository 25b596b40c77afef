import type { MethodDefinition } from '@grpc/grpc-js';
import { InferenceError, isInferenceErrorCode, type InferParameterMessage, type ModelInferResponseMessage } from '@infergraph/protocol';

// How gateway → worker node calls travel on ModelStreamInfer streams. One request message is one call;
// one ModelStreamInferResponse answers it. Besides the V2 fields, calls carry reserved request parameters
// (stripped by the worker before the node sees the request) and answers reserved response parameters:
//   infergraph_call_id       int64, both ways: which call a message is (unique per gateway client of a
//                            worker; the V2 `id` stays the request id, shared by a request's node calls)
//   infergraph_timeout_ms    int64, request: what is left of the call's deadline when it is sent, in ms
//                            (relative, as gRPC's own grpc-timeout: no clock is compared across machines,
//                            so a worker whose wall clock is off or stepped does not refuse calls); the
//                            worker does not start a call that arrives with nothing left, and gives the
//                            node the rest of it, counted from the call's arrival
//   infergraph_deadline_ms   int64, request: the call's deadline, epoch ms, as gateways before the timeout
//                            parameter sent it; still honoured when no timeout comes with it
//   infergraph_cancel        bool, request: the call with this call id is no longer wanted
//   infergraph_header.<name> string, request: a forwarded header (traceparent, x-*): stream metadata is
//                            per stream, these are per call
//   infergraph_code          string, error answer: the InferenceError code (so a 503 stays a 503)
//   infergraph_details       string, error answer: the error's details as JSON
//   infergraph_retry         bool, error answer: refused without running (the worker is draining);
//                            the caller may send it to another replica

export const STREAM_PARAM = {
  callId: 'infergraph_call_id',
  timeoutMs: 'infergraph_timeout_ms',
  deadlineMs: 'infergraph_deadline_ms',
  cancel: 'infergraph_cancel',
  headerPrefix: 'infergraph_header.',
  code: 'infergraph_code',
  details: 'infergraph_details',
  retry: 'infergraph_retry',
} as const;

/** Reserved parameter names: infergraph's own, never a request's. */
export const RESERVED_PARAM_PREFIX = 'infergraph_';

const identity = (bytes: Buffer): Buffer => bytes;

/**
 * ModelStreamInfer with bytes in and out: messages are encoded and decoded by `oip-proto.codec`, not by
 * proto-loader, and a malformed message fails only its own call, never the stream.
 */
export const MODEL_STREAM_INFER: MethodDefinition<Buffer, Buffer> = {
  path: '/inference.GRPCInferenceService/ModelStreamInfer',
  requestStream: true,
  responseStream: true,
  requestSerialize: identity,
  requestDeserialize: identity,
  responseSerialize: identity,
  responseDeserialize: identity,
  originalName: 'modelStreamInfer',
};

/** Headers that travel with a node call: application headers and trace context, never HTTP/1 connection headers. */
export const FORWARDED_HEADER = /^(x-[a-z0-9-_.]+|traceparent|tracestate|baggage)$/;

/** A failed call as grpc-js reports one (`code`, `details`), for failures of the stream rather than of the node. */
export class StreamCallError extends Error {
  constructor(
    readonly code: number,
    readonly details: string,
  ) {
    super(`${code} ${details}`);
    this.name = 'StreamCallError';
  }
}

export function int64Param(value: number): InferParameterMessage {
  return { int64_param: String(value) };
}

/** The numeric value of an int64 parameter, undefined when absent or not a number. */
export function numberParam(p: InferParameterMessage | undefined): number | undefined {
  if (p === undefined) return undefined;
  const v = Number(p.int64_param ?? p.uint64_param ?? p.double_param);
  return Number.isFinite(v) ? v : undefined;
}

/** The error parameters of a failed call's answer: its code, details and whether it may go elsewhere. */
export function errorParams(err: unknown, retry: boolean): Record<string, InferParameterMessage> {
  const params: Record<string, InferParameterMessage> = { [STREAM_PARAM.code]: { string_param: err instanceof InferenceError ? err.code : 'INTERNAL' } };
  if (err instanceof InferenceError && err.details !== undefined) params[STREAM_PARAM.details] = { string_param: JSON.stringify(err.details) };
  if (retry) params[STREAM_PARAM.retry] = { bool_param: true };
  return params;
}

/** The error a failed call's answer stands for: an InferenceError with the worker's code, or a retryable refusal. */
export function errorOfAnswer(message: string, response: ModelInferResponseMessage | undefined, where: string): Error {
  const params = response?.parameters ?? {};
  if (params[STREAM_PARAM.retry]?.bool_param === true) return new StreamCallError(14, `${message} (${where})`);
  const code = params[STREAM_PARAM.code]?.string_param;
  let details: Record<string, unknown> | undefined;
  const json = params[STREAM_PARAM.details]?.string_param;
  if (json !== undefined) {
    try {
      details = JSON.parse(json) as Record<string, unknown>;
    } catch {
      details = undefined;
    }
  }
  const known = isInferenceErrorCode(code) ? code : 'INTERNAL';
  // The worker names the node; a server fault also says where it ran.
  return new InferenceError(known, known === 'INTERNAL' ? `${message} (${where})` : message, details === undefined ? undefined : { details });
}
