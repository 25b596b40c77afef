import {
  Server,
  ServerCredentials,
  credentials,
  loadPackageDefinition,
  status,
  type ClientDuplexStream,
  type ClientReadableStream,
  type ServerDuplexStream,
  type ServerWritableStream,
  type ServiceDefinition,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import {
  CONTROL_PROTO_PATH,
  V2_PROTO_LOADER_OPTIONS,
  type CatalogueMessage,
  type ControllerMessage,
  type RoutingTableMessage,
  type WorkerMessage,
} from '@infergraph/protocol';

type ControlCtor = (new (address: string, creds: ReturnType<typeof credentials.createInsecure>, options?: Record<string, number>) => ControlStub) & {
  service: ServiceDefinition;
};

interface ControlStub {
  Join(): ClientDuplexStream<WorkerMessage, ControllerMessage>;
  WatchRoutes(request: { gateway_id: string }): ClientReadableStream<RoutingTableMessage>;
  WatchCatalogue(request: { gateway_id: string }): ClientReadableStream<CatalogueMessage>;
  close(): void;
}

/**
 * Reconnect quickly after the controller comes back: grpc-js backs off up to 120 s by default, so a
 * client would otherwise find a restarted controller long after it listens.
 */
const FAST_RECONNECT: Record<string, number> = {
  'grpc.initial_reconnect_backoff_ms': 100,
  'grpc.min_reconnect_backoff_ms': 100,
  'grpc.max_reconnect_backoff_ms': 500,
  'grpc.keepalive_time_ms': 10_000,
  'grpc.keepalive_timeout_ms': 5_000,
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
}

/** The controller's gRPC server for the control plane. */
export class ControlServer {
  private readonly server = new Server();

  constructor(handlers: ControlHandlers) {
    const impl: UntypedServiceImplementation = {
      Join: (call: ServerDuplexStream<WorkerMessage, ControllerMessage>) => {
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
        handlers.watchRoutes(
          (table) => call.write(table),
          (l) => onStreamClosed(call, l),
        );
      },
      WatchCatalogue: (call: ServerWritableStream<{ gateway_id: string }, CatalogueMessage>) => {
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
      this.server.bindAsync(address, ServerCredentials.createInsecure(), (err, port) => (err ? reject(err) : resolve(port))),
    );
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.tryShutdown(() => resolve()));
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

  constructor(address: string) {
    this.stub = new (control())(address, credentials.createInsecure(), FAST_RECONNECT);
  }

  join(): ClientDuplexStream<WorkerMessage, ControllerMessage> {
    return this.stub.Join();
  }

  watchRoutes(gatewayId: string): ClientReadableStream<RoutingTableMessage> {
    return this.stub.WatchRoutes({ gateway_id: gatewayId });
  }

  watchCatalogue(gatewayId: string): ClientReadableStream<CatalogueMessage> {
    return this.stub.WatchCatalogue({ gateway_id: gatewayId });
  }

  close(): void {
    this.stub.close();
  }
}

export const GRPC_STATUS = status;
