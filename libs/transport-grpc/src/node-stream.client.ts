import { connectivityState, credentials, makeGenericClientConstructor, status, type ChannelCredentials, type Client, type ClientDuplexStream, type ServiceError, type StatusObject } from '@grpc/grpc-js';
import type { RequestEnd } from '@infergraph/executor';
import { decodeStreamInferResponseProto, encodeInferRequestProto, type ModelInferRequestMessage, type ModelInferResponseMessage } from '@infergraph/protocol';
import { FORWARDED_HEADER, MODEL_STREAM_INFER, RESERVED_PARAM_PREFIX, STREAM_PARAM, StreamCallError, errorOfAnswer, int64Param, numberParam } from './node-stream.framing';

export interface NodeStreamOptions {
  /** Streams opened to one worker at most. Default 16. */
  readonly maxStreams?: number;
  /** Calls in flight on one stream at most; beyond every stream's bound calls wait, in order. Default 8. */
  readonly maxInFlightPerStream?: number;
  /**
   * Calls every open stream carries before the next call opens another (while fewer than `maxStreams` are
   * open); below that a call takes the open stream with the fewest calls. Default 4.
   */
  readonly callsPerStream?: number;
  /** Channel credentials (mutual TLS to workers, see `nodeChannelCredentials`); default plain text. */
  readonly credentials?: ChannelCredentials;
  /**
   * The name every worker's certificate carries, checked instead of the address called (NODE_TLS_SERVER_NAME:
   * workers whose addresses change, such as pods, share one certificate). Default: the address.
   */
  readonly serverName?: string;
  /**
   * How often the connection to the worker is pinged (HTTP/2 PING) while streams are open. Default 1000.
   * A worker whose process stopped answering (frozen, paused, cut off by the network) keeps its TCP
   * connection open and would hold every call sent to it until the call's deadline; the ping finds it.
   */
  readonly pingIntervalMs?: number;
  /**
   * How long a ping, or a new connection's first HTTP/2 settings, may go unanswered before the connection
   * counts as lost: its calls fail with UNAVAILABLE (the transport retries them on another replica) and the
   * client reads as not `healthy` until a connection is READY again. Default 5000, the controller's default
   * heartbeat timeout: a worker silent that long is gone for both.
   */
  readonly pingTimeoutMs?: number;
}

// Calls spread over many streams rather than filling one. Node's HTTP/2 stream writes one message at a time
// (the next waits for the previous one to be sent), so the messages of one stream leave in one socket write
// each, while the messages of different streams queued in one turn leave together. One stream of 64 calls
// cost a write syscall per message at each end; 16 streams of 4 cost 0.12 per answer on the worker
// (docs/decisions.md, "Node calls spread over streams").
const DEFAULT_MAX_STREAMS = 16;
const DEFAULT_MAX_IN_FLIGHT_PER_STREAM = 8;
const DEFAULT_CALLS_PER_STREAM = 4;
const DEFAULT_PING_INTERVAL_MS = 1000;
const DEFAULT_PING_TIMEOUT_MS = 5000;

interface StreamStub extends Client {
  ModelStreamInfer(): ClientDuplexStream<Buffer, Buffer>;
}

const StreamClient = makeGenericClientConstructor({ ModelStreamInfer: MODEL_STREAM_INFER }, 'GRPCInferenceService') as unknown as new (
  address: string,
  creds: ChannelCredentials,
  options?: Record<string, string | number>,
) => StreamStub;

interface OpenStream {
  readonly call: ClientDuplexStream<Buffer, Buffer>;
  readonly pending: Map<number, PendingCall>;
  broken: boolean;
}

interface PendingCall {
  readonly callId: number;
  readonly model: string;
  readonly bytes: Buffer;
  readonly resolve: (response: ModelInferResponseMessage) => void;
  readonly reject: (err: Error) => void;
  timer: NodeJS.Timeout | undefined;
  offEnd: () => void;
  stream: OpenStream | undefined;
  settled: boolean;
}

const NOTHING = (): void => undefined;

/**
 * Node calls to one worker as messages on a few long-lived ModelStreamInfer streams (framing:
 * node-stream.framing.ts). Each call has its own deadline (DEADLINE_EXCEEDED here, a cancel message there)
 * and ends when its request does (CANCELLED here, a cancel message there); calls spread over up to
 * `maxStreams` streams (`callsPerStream` on each before another opens), at most `maxInFlightPerStream` ride
 * one stream, then calls queue. A stream that breaks fails its calls
 * in flight with UNAVAILABLE (the transport retries them on another replica); the next call opens a new one.
 *
 * A worker that stops answering without closing its connection (a frozen process, a network partition) is
 * found by HTTP/2 pings: an unanswered ping drops the connection and fails its calls, and a new connection
 * that gets no HTTP/2 settings within the same time fails the calls waiting for it. The client is then not
 * `healthy` until a connection is READY again, so the transport sends calls to other replicas meanwhile.
 */
export class NodeStreamClient {
  private readonly stub: StreamStub;
  private readonly streams: OpenStream[] = [];
  private readonly queue: PendingCall[] = [];
  private readonly maxStreams: number;
  private readonly maxInFlightPerStream: number;
  private readonly callsPerStream: number;
  private readonly pingTimeoutMs: number;
  private lastCallId = 0;
  private closed = false;
  /** Why the last connection was lost, while no connection has been READY since; undefined when healthy. */
  private lostBecause: string | undefined;
  /** Armed while streams wait for a connection that is not READY: fires when none came within the ping timeout. */
  private connectTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly address: string,
    options: NodeStreamOptions = {},
  ) {
    const name = options.serverName;
    this.pingTimeoutMs = Math.max(1, options.pingTimeoutMs ?? DEFAULT_PING_TIMEOUT_MS);
    this.stub = new StreamClient(address, options.credentials ?? credentials.createInsecure(), {
      ...(name === undefined ? {} : { 'grpc.ssl_target_name_override': name, 'grpc.default_authority': name }),
      'grpc.keepalive_time_ms': Math.max(1, options.pingIntervalMs ?? DEFAULT_PING_INTERVAL_MS),
      'grpc.keepalive_timeout_ms': this.pingTimeoutMs,
      // Pings only while streams are open: an idle client (no node calls yet) keeps the worker quiet.
      'grpc.keepalive_permit_without_calls': 0,
    });
    this.maxStreams = Math.max(1, options.maxStreams ?? DEFAULT_MAX_STREAMS);
    this.maxInFlightPerStream = Math.max(1, options.maxInFlightPerStream ?? DEFAULT_MAX_IN_FLIGHT_PER_STREAM);
    this.callsPerStream = Math.min(this.maxInFlightPerStream, Math.max(1, options.callsPerStream ?? DEFAULT_CALLS_PER_STREAM));
  }

  /** Streams open now. */
  get openStreams(): number {
    return this.streams.length;
  }

  /** Calls waiting for room on a stream. */
  get queued(): number {
    return this.queue.length;
  }

  /** False from a lost connection (a ping or a connection left unanswered, a reset) until one is READY again. */
  get healthy(): boolean {
    return this.lostBecause === undefined;
  }

  /** Why the connection counts as lost, while it does. */
  get lostReason(): string | undefined {
    return this.lostBecause;
  }

  /**
   * One node call. `message` is the call's ModelInferRequest (its parameters are amended with the call's
   * framing); resolves with the worker's response, rejects with the worker's InferenceError or, for
   * failures of the stream, a `StreamCallError` with a gRPC code. `expiresAt`: the call's deadline on this
   * process's monotonic clock (the request's `expiresAt`); the worker is sent what is left of it, in ms.
   */
  call(message: ModelInferRequestMessage, headers: Readonly<Record<string, string>>, expiresAt: number, end?: RequestEnd): Promise<ModelInferResponseMessage> {
    if (this.closed) return Promise.reject(new StreamCallError(status.UNAVAILABLE, `client of worker ${this.address} is closed`));
    const callId = ++this.lastCallId;
    const params = (message.parameters ??= {});
    for (const key in params) if (key.startsWith(RESERVED_PARAM_PREFIX)) delete params[key];
    params[STREAM_PARAM.callId] = int64Param(callId);
    const remaining = expiresAt - performance.now();
    params[STREAM_PARAM.timeoutMs] = int64Param(Math.max(0, Math.floor(remaining)));
    for (const key in headers) if (FORWARDED_HEADER.test(key)) params[STREAM_PARAM.headerPrefix + key] = { string_param: headers[key] };
    const bytes = encodeInferRequestProto(message);
    return new Promise((resolve, reject) => {
      const p: PendingCall = { callId, model: message.model_name, bytes, resolve, reject, timer: undefined, offEnd: NOTHING, stream: undefined, settled: false };
      if (remaining <= 0) {
        reject(new StreamCallError(status.DEADLINE_EXCEEDED, `deadline passed before ${p.model} was sent to worker ${this.address}`));
        return;
      }
      p.timer = setTimeout(() => this.abandon(p, status.DEADLINE_EXCEEDED, `deadline passed waiting for ${p.model} on worker ${this.address}`), remaining);
      if (end !== undefined) p.offEnd = end.onEnd(() => this.abandon(p, status.CANCELLED, `the request ended before ${p.model} answered`));
      if (!p.settled) this.dispatch(p);
    });
  }

  /** Ends every stream; calls in flight or queued fail with UNAVAILABLE. */
  close(): void {
    this.closed = true;
    clearTimeout(this.connectTimer);
    for (const p of this.queue.splice(0)) this.settle(p).reject(new StreamCallError(status.UNAVAILABLE, `client of worker ${this.address} closed`));
    for (const s of [...this.streams]) {
      this.broken(s, 'client closed');
      s.call.cancel();
    }
    this.stub.close();
  }

  private dispatch(p: PendingCall): void {
    const stream = this.streamWithRoom();
    if (stream === undefined) this.queue.push(p);
    else this.send(stream, p);
  }

  /**
   * The open stream with the fewest calls; a new one when every open stream carries `callsPerStream` calls
   * and fewer than `maxStreams` are open; none when every stream is at `maxInFlightPerStream`.
   */
  private streamWithRoom(): OpenStream | undefined {
    let least: OpenStream | undefined;
    for (const s of this.streams) if (least === undefined || s.pending.size < least.pending.size) least = s;
    if ((least === undefined || least.pending.size >= this.callsPerStream) && this.streams.length < this.maxStreams && !this.closed) return this.open();
    return least !== undefined && least.pending.size < this.maxInFlightPerStream ? least : undefined;
  }

  private send(stream: OpenStream, p: PendingCall): void {
    p.stream = stream;
    stream.pending.set(p.callId, p);
    stream.call.write(p.bytes);
  }

  private open(): OpenStream {
    const call = this.stub.ModelStreamInfer();
    const stream: OpenStream = { call, pending: new Map(), broken: false };
    call.on('data', (bytes: Buffer) => this.answer(stream, bytes));
    call.on('error', (err: ServiceError) => this.broken(stream, `${err.code} ${err.details || err.message}`, err.code === status.UNAVAILABLE));
    call.on('status', (s: StatusObject) => {
      if (s.code !== status.OK) this.broken(stream, `${s.code} ${s.details}`, s.code === status.UNAVAILABLE);
    });
    call.on('end', () => this.broken(stream, 'the worker ended the stream'));
    this.streams.push(stream);
    this.boundConnect();
    return stream;
  }

  /**
   * A connection that is not READY yet may never be: a frozen worker's kernel still accepts TCP, and grpc-js
   * waits for the HTTP/2 settings without a limit. The ping timeout bounds that wait too, once per connection
   * attempt: the streams still waiting when it fires fail, and the connection counts as lost.
   */
  private boundConnect(): void {
    const channel = this.stub.getChannel();
    if (this.connectTimer !== undefined || channel.getConnectivityState(false) === connectivityState.READY) return;
    this.connectTimer = setTimeout(() => {
      this.connectTimer = undefined;
      if (this.closed || channel.getConnectivityState(false) === connectivityState.READY) return;
      for (const stream of [...this.streams]) {
        this.broken(stream, `no connection to worker ${this.address} within ${this.pingTimeoutMs} ms`, true);
        stream.call.cancel();
      }
    }, this.pingTimeoutMs);
    this.connectTimer.unref();
  }

  /**
   * The connection counts as lost until the channel is READY again: watched here, with a connection
   * attempt started when the channel is idle.
   */
  private lost(why: string): void {
    if (this.closed) return;
    const watching = this.lostBecause !== undefined;
    this.lostBecause = why;
    if (watching) return;
    const channel = this.stub.getChannel();
    const watch = (): void => {
      if (this.closed) return;
      const state = channel.getConnectivityState(true);
      if (state === connectivityState.READY) this.lostBecause = undefined;
      else if (state !== connectivityState.SHUTDOWN) channel.watchConnectivityState(state, Infinity, watch);
    };
    // From the next turn: the channel may still report the READY of the connection being torn down.
    setImmediate(watch);
  }

  private answer(stream: OpenStream, bytes: Buffer): void {
    let callId: number | undefined;
    let answer: ReturnType<typeof decodeStreamInferResponseProto>;
    try {
      answer = decodeStreamInferResponseProto(bytes);
      callId = numberParam(answer.infer_response?.parameters[STREAM_PARAM.callId]);
    } catch (err) {
      // An answer nobody can attribute: the stream can no longer be trusted.
      this.broken(stream, err instanceof Error ? err.message : String(err));
      stream.call.cancel();
      return;
    }
    const p = callId === undefined ? undefined : stream.pending.get(callId);
    if (p === undefined) return; // a call given up (deadline, request end) whose answer came anyway
    this.settle(p);
    if (answer.error_message !== '' || answer.infer_response === undefined) p.reject(errorOfAnswer(answer.error_message || 'empty answer', answer.infer_response, `worker ${this.address}`));
    else p.resolve(answer.infer_response);
  }

  /** A call nobody waits for anymore: fail it here and tell the worker to drop it. */
  private abandon(p: PendingCall, code: number, details: string): void {
    if (p.settled) return;
    const stream = p.stream;
    const i = this.queue.indexOf(p);
    if (i >= 0) this.queue.splice(i, 1);
    this.settle(p);
    if (stream !== undefined && !stream.broken) {
      stream.call.write(encodeInferRequestProto({ model_name: p.model, parameters: { [STREAM_PARAM.callId]: int64Param(p.callId), [STREAM_PARAM.cancel]: { bool_param: true } } }));
    }
    p.reject(new StreamCallError(code, details));
  }

  private settle(p: PendingCall): PendingCall {
    p.settled = true;
    clearTimeout(p.timer);
    p.offEnd();
    if (p.stream !== undefined && p.stream.pending.delete(p.callId)) this.pump();
    return p;
  }

  /** Sends queued calls while a stream has room. */
  private pump(): void {
    while (this.queue.length > 0) {
      const stream = this.streamWithRoom();
      if (stream === undefined) return;
      this.send(stream, this.queue.shift() as PendingCall);
    }
  }

  /** `lost`: the break says the connection failed (UNAVAILABLE, no connection in time), not the call. */
  private broken(stream: OpenStream, why: string, lost = false): void {
    if (stream.broken) return;
    stream.broken = true;
    if (lost) this.lost(why);
    const i = this.streams.indexOf(stream);
    if (i >= 0) this.streams.splice(i, 1);
    const failed = [...stream.pending.values()];
    stream.pending.clear();
    for (const p of failed) {
      p.stream = undefined;
      this.settle(p).reject(new StreamCallError(status.UNAVAILABLE, `stream to worker ${this.address} broke: ${why}`));
    }
    this.pump();
  }
}
