import { Metadata, Server, ServerCredentials, type ServerDuplexStream, type handleUnaryCall, type UntypedServiceImplementation } from '@grpc/grpc-js';
import { grpcStatusOf, type ModelInferRequestMessage, type ModelInferResponseMessage } from '@infergraph/protocol';
import { headersOf } from './metadata-headers';
import { ModelStreamServing, type StreamInferHandler } from './model-stream.serving';
import { MODEL_STREAM_INFER } from './node-stream.framing';
import { decodedRequest, v2GrpcService } from './v2-grpc.service';

type Answer<T> = T | Promise<T>;

/** A tensor's name, datatype and shape in V2 model metadata (-1 for a variable dimension). */
export interface V2TensorMetadataMessage {
  readonly name: string;
  readonly datatype: string;
  readonly shape: readonly number[];
}

export interface V2ServerMetadataMessage {
  readonly name: string;
  readonly version: string;
  readonly extensions: readonly string[];
}

export interface V2ModelMetadataMessage {
  readonly name: string;
  readonly versions: readonly string[];
  readonly platform: string;
  readonly inputs: readonly V2TensorMetadataMessage[];
  readonly outputs: readonly V2TensorMetadataMessage[];
}

/** A ModelReady or ModelMetadata request; an empty version means "any". */
export interface V2ModelRequestMessage {
  readonly name: string;
  readonly version: string;
}

/**
 * A ServerReady or ModelReady answer. The V2 message has only `ready`; `notReady` (what cannot serve, and
 * why) travels in the trailing metadata `infergraph-not-ready`, so plain V2 clients see the standard answer.
 */
export interface V2ReadinessAnswer {
  readonly ready: boolean;
  readonly notReady?: string | undefined;
}

/** The trailing metadata key that says why a server or model is not ready. */
export const NOT_READY_TRAILER = 'infergraph-not-ready';

/**
 * What a V2 `GRPCInferenceService` server answers, one function per RPC, on plain proto-loader messages
 * (keepCase field names). A function that throws or rejects answers with `grpcStatusOf(err)`: an
 * `InferenceError`'s gRPC code and message, INTERNAL for anything else.
 */
export interface V2GrpcHandlers {
  serverLive(): Answer<{ live: boolean }>;
  serverReady(): Answer<V2ReadinessAnswer>;
  serverMetadata(): Answer<V2ServerMetadataMessage>;
  modelReady(request: V2ModelRequestMessage): Answer<V2ReadinessAnswer>;
  modelMetadata(request: V2ModelRequestMessage): Answer<V2ModelMetadataMessage>;
  /** `headers`: the call's metadata as lower-cased HTTP-style headers. */
  modelInfer(request: ModelInferRequestMessage, headers: Record<string, string>): Answer<ModelInferResponseMessage>;
  /**
   * One call of a ModelStreamInfer stream (the gateways' node calls), decoded; see `ModelStreamServing`.
   * Without it ModelStreamInfer answers UNIMPLEMENTED (a gateway serves graphs, not node calls).
   */
  streamInfer?: StreamInferHandler;
}

export interface V2GrpcServerOptions {
  readonly host: string;
  /** 0 binds any free port; `listen()` returns the one bound. */
  readonly port: number;
  readonly maxReceiveMessageLength: number;
  readonly maxSendMessageLength: number;
  /** How long `close()` lets calls in flight finish before cancelling them; default 5000. */
  readonly shutdownTimeoutMs?: number;
  /** TLS (e.g. `reloadingServerCredentials`); default plain text. */
  readonly credentials?: ServerCredentials;
}

const DEFAULT_SHUTDOWN_TIMEOUT_MS = 5000;

/**
 * The V2 `GRPCInferenceService` on a bare grpc-js `Server`: each RPC goes straight to its handler, with no
 * framework dispatch in between (a worker's node calls are on every distributed request's path).
 */
export class V2GrpcServer {
  private readonly server: Server;
  private readonly streaming: ModelStreamServing | undefined;
  private boundPort: number | undefined;

  constructor(
    handlers: V2GrpcHandlers,
    private readonly options: V2GrpcServerOptions,
  ) {
    this.server = new Server({
      'grpc.max_receive_message_length': options.maxReceiveMessageLength,
      'grpc.max_send_message_length': options.maxSendMessageLength,
    });
    const impl: UntypedServiceImplementation = {
      ServerLive: unary(() => handlers.serverLive()),
      ServerReady: unary(() => handlers.serverReady(), readinessReply),
      ServerMetadata: unary(() => handlers.serverMetadata()),
      ModelReady: unary<V2ModelRequestMessage>((request) => handlers.modelReady(request), readinessReply),
      ModelMetadata: unary<V2ModelRequestMessage>((request) => handlers.modelMetadata(request)),
      ModelInfer: unary<ModelInferRequestMessage>((request, metadata) => handlers.modelInfer(request, headersOf(metadata))),
    };
    const streamInfer = handlers.streamInfer;
    if (streamInfer !== undefined) {
      const streaming = new ModelStreamServing((model, request, headers, expiresAt, end) => streamInfer(model, request, headers, expiresAt, end));
      impl['ModelStreamInfer'] = (call: ServerDuplexStream<Buffer, Buffer>) => streaming.serve(call);
      this.streaming = streaming;
    }
    // ModelStreamInfer carries bytes: its messages are encoded and decoded by oip-proto.codec, not proto-loader.
    this.server.addService({ ...v2GrpcService().service, ModelStreamInfer: MODEL_STREAM_INFER }, impl);
  }

  /** The port bound by `listen()`; undefined before. */
  get port(): number | undefined {
    return this.boundPort;
  }

  /** Binds host:port and starts serving; resolves with the bound port. */
  listen(): Promise<number> {
    const host = this.options.host.includes(':') && !this.options.host.startsWith('[') ? `[${this.options.host}]` : this.options.host;
    return new Promise((resolve, reject) =>
      this.server.bindAsync(`${host}:${this.options.port}`, this.options.credentials ?? ServerCredentials.createInsecure(), (err, port) => {
        if (err !== null) return reject(new Error(`cannot serve V2 gRPC on ${host}:${this.options.port}: ${err.message}`));
        this.boundPort = port;
        resolve(port);
      }),
    );
  }

  /**
   * Stops accepting calls, lets those in flight finish, and cancels what is left after the shutdown
   * timeout. Streams refuse new calls (the gateway retries them elsewhere) and end once idle.
   */
  close(): Promise<void> {
    this.streaming?.drain();
    return new Promise((resolve) => {
      const force = setTimeout(() => {
        this.server.forceShutdown();
        resolve();
      }, this.options.shutdownTimeoutMs ?? DEFAULT_SHUTDOWN_TIMEOUT_MS);
      this.server.tryShutdown(() => {
        clearTimeout(force);
        resolve();
      });
    });
  }
}

/**
 * A grpc-js unary method from a handler: what it returns is the response, what it throws the status. A
 * request protobuf could not decode is INVALID_ARGUMENT, never seen by the handler.
 */
function unary<Req>(handle: (request: Req, metadata: Metadata) => unknown, reply: (answer: unknown) => Reply = (answer) => ({ response: answer })): handleUnaryCall<Req, unknown> {
  return (call, callback) => {
    const fail = (err: unknown): void => {
      const { code, message } = grpcStatusOf(err);
      callback({ code, details: message });
    };
    let answer: unknown;
    try {
      answer = handle(decodedRequest(call.request), call.metadata);
    } catch (err) {
      fail(err);
      return;
    }
    void Promise.resolve(answer).then((value) => {
      const { response, trailer } = reply(value);
      callback(null, response, trailer);
    }, fail);
  };
}

interface Reply {
  readonly response: unknown;
  readonly trailer?: Metadata;
}

/**
 * `{ready}` on the wire; what is not ready, if anything, as trailing metadata (printable ASCII only). A server
 * can be ready while one graph is not: the trailer names it then too, as /v2/health/ready's `missing` does.
 */
function readinessReply(answer: unknown): Reply {
  const { ready, notReady } = answer as V2ReadinessAnswer;
  if (notReady === undefined || notReady === '') return { response: { ready } };
  const trailer = new Metadata();
  trailer.set(NOT_READY_TRAILER, notReady.replace(/[^\x20-\x7e]/g, '?'));
  return { response: { ready }, trailer };
}
