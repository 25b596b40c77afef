import {
  Server,
  loadPackageDefinition,
  status,
  type ClientDuplexStream,
  type ClientReadableStream,
  type ChannelCredentials,
  type Metadata,
  type ServerDuplexStream,
  type ServerWritableStream,
  type ServiceDefinition,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import {
  CONTROL_MAX_MESSAGE_BYTES,
  CONTROL_PROTO_PATH,
  V2_PROTO_LOADER_OPTIONS,
  type CatalogueMessage,
  type ControllerMessage,
  type RoutingTableMessage,
  type WorkerMessage,
} from '@infergraph/protocol';
import {
  OPEN_CONTROL_CLIENT,
  OPEN_CONTROL_SERVER,
  controlCallMetadata,
  controlChannelCredentials,
  controlServerCredentials,
  identifyControlCaller,
  type ControlClientSecurity,
  type ControlServerSecurity,
} from './control-security';

type ControlCtor = (new (address: string, creds: ChannelCredentials, options?: Record<string, number>) => ControlStub) & {
  service: ServiceDefinition;
};

interface ControlStub {
  Join(metadata: Metadata): ClientDuplexStream<WorkerMessage, ControllerMessage>;
  WatchRoutes(request: { gateway_id: string }, metadata: Metadata): ClientReadableStream<RoutingTableMessage>;
  WatchCatalogue(request: { gateway_id: string }, metadata: Metadata): ClientReadableStream<CatalogueMessage>;
  close(): void;
}

/**
 * Reconnect quickly after the controller comes back: grpc-js backs off up to 120 s by default, so a
 * client would otherwise find a restarted controller long after it listens.
 */
const CLIENT_OPTIONS: Record<string, number> = {
  'grpc.initial_reconnect_backoff_ms': 100,
  'grpc.min_reconnect_backoff_ms': 100,
  'grpc.max_reconnect_backoff_ms': 500,
  'grpc.keepalive_time_ms': 10_000,
  'grpc.keepalive_timeout_ms': 5_000,
  // Assignments and catalogues carry graph documents: more than grpc-js's 4 MiB default.
  'grpc.max_receive_message_length': CONTROL_MAX_MESSAGE_BYTES,
};

let ctor: ControlCtor | undefined;

function control(): ControlCtor {
  if (ctor === undefined) {
    const definition = loadPackageDefinition(loadSync(CONTROL_PROTO_PATH, { ...V2_PROTO_LOADER_OPTIONS }));
    const pkg = definition['infergraph'] as unknown as { control: { v1: { Control: ControlCtor } } };
    ctor = pkg.control.v1.Control;
  }
  return ctor;
}

/** One worker's connection, as the controller sees it. */
export interface WorkerSession {
  /** Who opened it (see identifyControlCaller): a worker id stays bound to the identity that holds it. */
  readonly identity: string;
  /** Ends the stream with an error status the worker sees (e.g. PERMISSION_DENIED for a taken id). */
  refuse(code: number, details: string): void;
  send(message: ControllerMessage): void;
  /** Ends the stream; the worker re-joins with a new hello. */
  end(): void;
  onMessage(listener: (message: WorkerMessage) => void): void;
  onClose(listener: (reason: string) => void): void;
}

export interface ControlHandlers {
  join(session: WorkerSession): void;
  watchRoutes(push: (table: RoutingTableMessage) => void, onClose: (listener: () => void) => void): void;
  watchCatalogue(push: (catalogue: CatalogueMessage) => void, onClose: (listener: () => void) => void): void;
  /** A call refused before any handler saw it (no or a wrong credential). */
  refused?(method: string, peer: string, details: string): void;
}

/** The controller's gRPC server for the control plane. */
export class ControlServer {
  private readonly server = new Server();

  constructor(
    handlers: ControlHandlers,
    private readonly security: ControlServerSecurity = OPEN_CONTROL_SERVER,
  ) {
    // Every call proves who it is before a handler sees it; a refused one ends with its status at once.
    const admit = (method: string, call: ServerDuplexStream<unknown, unknown> | ServerWritableStream<unknown, unknown>): string | undefined => {
      const caller = identifyControlCaller(security, call.metadata, call.getAuthContext());
      if ('identity' in caller) return caller.identity;
      handlers.refused?.(method, call.getPeer(), caller.refused.details);
      call.emit('error', { code: caller.refused.code, details: caller.refused.details });
      return undefined;
    };
    const impl: UntypedServiceImplementation = {
      Join: (call: ServerDuplexStream<WorkerMessage, ControllerMessage>) => {
        const identity = admit('Join', call);
        if (identity === undefined) return;
        const closeListeners: ((reason: string) => void)[] = [];
        let closed = false;
        const close = (reason: string): void => {
          if (closed) return;
          closed = true;
          for (const l of closeListeners) l(reason);
        };
        call.on('end', () => {
          close('stream ended');
          call.end();
        });
        call.on('error', (err) => close(`stream broke: ${err.message}`));
        call.on('cancelled', () => close('stream cancelled'));
        handlers.join({
          identity,
          refuse: (code, details) => {
            if (closed) return;
            closed = true;
            call.emit('error', { code, details });
          },
          send: (m) => {
            if (!closed) call.write(m);
          },
          end: () => {
            if (closed) return;
            closed = true;
            call.end();
          },
          onMessage: (l) => call.on('data', l),
          onClose: (l) => closeListeners.push(l),
        });
      },
      WatchRoutes: (call: ServerWritableStream<{ gateway_id: string }, RoutingTableMessage>) => {
        if (admit('WatchRoutes', call) === undefined) return;
        handlers.watchRoutes(
          (table) => call.write(table),
          (l) => onStreamClosed(call, l),
        );
      },
      WatchCatalogue: (call: ServerWritableStream<{ gateway_id: string }, CatalogueMessage>) => {
        if (admit('WatchCatalogue', call) === undefined) return;
        handlers.watchCatalogue(
          (catalogue) => call.write(catalogue),
          (l) => onStreamClosed(call, l),
        );
      },
    };
    this.server.addService(control().service, impl);
  }

  listen(address: string): Promise<number> {
    return new Promise((resolve, reject) =>
      this.server.bindAsync(address, controlServerCredentials(this.security), (err, port) => (err ? reject(err) : resolve(port))),
    );
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.tryShutdown(() => resolve()));
  }

  /** Ends every open stream at once (clients see UNAVAILABLE or CANCELLED and go elsewhere) and stops listening. */
  forceClose(): void {
    this.server.forceShutdown();
  }
}

/** Calls `listener` once when a server stream ends for any reason. */
function onStreamClosed(call: ServerWritableStream<unknown, unknown>, listener: () => void): void {
  let done = false;
  const once = (): void => {
    if (done) return;
    done = true;
    listener();
  };
  call.on('cancelled', once);
  call.on('error', once);
  call.on('close', once);
}

/** A client of the control plane (workers join; gateways watch routes and the catalogue). */
export class ControlClient {
  private readonly stub: ControlStub;

  constructor(
    address: string,
    private readonly security: ControlClientSecurity = OPEN_CONTROL_CLIENT,
  ) {
    this.stub = new (control())(address, controlChannelCredentials(security), CLIENT_OPTIONS);
  }

  join(): ClientDuplexStream<WorkerMessage, ControllerMessage> {
    return this.stub.Join(controlCallMetadata(this.security));
  }

  watchRoutes(gatewayId: string): ClientReadableStream<RoutingTableMessage> {
    return this.stub.WatchRoutes({ gateway_id: gatewayId }, controlCallMetadata(this.security));
  }

  watchCatalogue(gatewayId: string): ClientReadableStream<CatalogueMessage> {
    return this.stub.WatchCatalogue({ gateway_id: gatewayId }, controlCallMetadata(this.security));
  }

  close(): void {
    this.stub.close();
  }
}

export const GRPC_STATUS = status;

/**
 * CONTROLLER as workers and gateways read it: one host:port (a Service in front of the leader) or a
 * comma-separated list of controllers, tried in turn: after a lost or refused stream the next one is
 * tried, so a client finds whichever controller leads (a standby does not listen on the control plane).
 */
export class ControllerAddresses {
  readonly all: readonly string[];
  private index = 0;

  constructor(list: string) {
    this.all = list
      .split(',')
      .map((a) => a.trim())
      .filter((a) => a !== '');
    if (this.all.length === 0) throw new Error(`CONTROLLER=${JSON.stringify(list)}: expected host:port, or several separated by commas`);
  }

  get current(): string {
    return this.all[this.index] as string;
  }

  /** Moves to the next controller of the list (the same one when there is only one) and returns it. */
  advance(): string {
    this.index = (this.index + 1) % this.all.length;
    return this.current;
  }
}
