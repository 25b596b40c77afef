import { status, type ClientReadableStream } from '@grpc/grpc-js';
import type { CatalogueMessage, RoutingTableMessage } from '@infergraph/protocol';
import { ControlClient, ControllerAddresses } from './control-channel';
import { OPEN_CONTROL_CLIENT, type ControlClientSecurity } from './control-security';

/** Told of each routing table applied: its version, how many node keys it routes, the controller's epoch. */
export type TableListener = (version: number, routes: number, epoch: string) => void;

/** How a gateway follows the controller's routing table; every field has a default. */
export interface RoutingTableWatcherOptions {
  /** Pause before re-opening a broken stream. */
  readonly retryMs?: number;
  readonly security?: ControlClientSecurity;
  /** Called once per distinct reason when the controller refuses this gateway's credential. */
  readonly onRefused?: (details: string) => void;
  /**
   * After a restarted controller's first table, how long the previous controller's addresses stay usable for
   * nodes the new table has no address for (workers that have not re-joined yet).
   */
  readonly carryOverMs?: number;
}

/** Default `carryOverMs`: longer than a worker's re-join after a controller restart on a busy machine. */
export const ROUTE_CARRY_OVER_MS = 10_000;

/**
 * A gateway's copy of the controller's routing table, kept current over a WatchRoutes stream and
 * re-subscribed within a second after the controller restarts. The last table stays in use while the
 * controller is away, so inference continues without it.
 *
 * Which table wins: within one controller epoch, only a newer version; a table from another epoch (a
 * restarted controller) only once that controller says it is synced, so a populated table is never
 * replaced by the empty one of a controller that has not heard from its workers yet.
 *
 * Make-before-break across a controller restart: a worker that re-joins after the new controller finished
 * its sync is missing from that controller's first tables although it still serves. For `carryOverMs` after
 * an epoch change, a node the new table names no address for keeps the previous epoch's addresses; a node
 * the new table routes uses only the new addresses. A carried address of a worker that is really gone fails
 * fast (connection refused), which is no worse than having no route.
 */
export class RoutingTableWatcher {
  private table = new Map<string, readonly string[]>();
  private version = -1;
  private epoch = '';
  private carried = new Map<string, readonly string[]>();
  private carriedUntilMs = 0;
  private subscription: { stop(): void } | undefined;
  private readonly retryMs: number;
  private readonly security: ControlClientSecurity;
  private readonly onRefused: (details: string) => void;
  private readonly carryOverMs: number;
  private readonly listeners: TableListener[] = [];

  constructor(
    private readonly controller: string,
    private readonly gatewayId: string,
    options: RoutingTableWatcherOptions = {},
    private readonly now: () => number = Date.now,
  ) {
    this.retryMs = options.retryMs ?? 200;
    this.security = options.security ?? OPEN_CONTROL_CLIENT;
    this.onRefused = options.onRefused ?? (() => undefined);
    this.carryOverMs = options.carryOverMs ?? ROUTE_CARRY_OVER_MS;
  }

  start(): void {
    this.subscribe();
  }

  addressesFor(key: string): readonly string[] {
    const current = this.table.get(key);
    if (current !== undefined && current.length > 0) return current;
    if (this.carried.size === 0) return current ?? [];
    if (this.now() >= this.carriedUntilMs) {
      this.carried = new Map();
      return current ?? [];
    }
    return this.carried.get(key) ?? current ?? [];
  }

  /** Every worker address a node may be called at now: the table's, and those carried over from the previous epoch. */
  routedAddresses(): ReadonlySet<string> {
    const all = new Set<string>();
    for (const addresses of this.table.values()) for (const a of addresses) all.add(a);
    if (this.now() < this.carriedUntilMs) for (const addresses of this.carried.values()) for (const a of addresses) all.add(a);
    return all;
  }

  /** Calls `listener` after each table applied, in the order the listeners were added. */
  onChange(listener: TableListener): void {
    this.listeners.push(listener);
  }

  get currentVersion(): number {
    return this.version;
  }

  get currentEpoch(): string {
    return this.epoch;
  }

  stop(): void {
    this.subscription?.stop();
  }

  /** Applies a table if it should replace the current one (see the class comment); true if it did. */
  apply(t: RoutingTableMessage): boolean {
    const version = Number(t.version);
    const sameEpoch = t.epoch === this.epoch;
    if (sameEpoch && version <= this.version) return false;
    if (!sameEpoch && t.synced === false && this.table.size > 0) return false;
    if (!sameEpoch && (this.table.size > 0 || this.carried.size > 0)) this.carryOver();
    this.epoch = t.epoch;
    this.version = version;
    this.table = new Map(t.routes.map((r) => [r.key, [...r.addresses]]));
    for (const listener of this.listeners) listener(this.version, t.routes.length, this.epoch);
    return true;
  }

  /** Keeps the outgoing epoch's routes (merged with any still carried) usable for `carryOverMs`. */
  private carryOver(): void {
    const now = this.now();
    const carried = now < this.carriedUntilMs ? new Map(this.carried) : new Map<string, readonly string[]>();
    for (const [key, addresses] of this.table) if (addresses.length > 0) carried.set(key, addresses);
    this.carried = carried;
    this.carriedUntilMs = now + this.carryOverMs;
  }

  private subscribe(): void {
    this.subscription = followControlStream(
      this.controller,
      this.security,
      (client) => client.watchRoutes(this.gatewayId),
      (t) => this.apply(t),
      this.retryMs,
      this.onRefused,
    );
  }
}

/** A gateway's copy of the controller's graph catalogue, re-subscribed after the controller restarts. */
export class CatalogueWatcher {
  private subscription: { stop(): void } | undefined;

  constructor(
    private readonly controller: string,
    private readonly gatewayId: string,
    private readonly onCatalogue: (catalogue: CatalogueMessage) => void,
    private readonly retryMs = 200,
    private readonly security: ControlClientSecurity = OPEN_CONTROL_CLIENT,
    private readonly onRefused: (details: string) => void = () => undefined,
  ) {}

  start(): void {
    this.subscription = followControlStream(this.controller, this.security, (client) => client.watchCatalogue(this.gatewayId), this.onCatalogue, this.retryMs, this.onRefused);
  }

  stop(): void {
    this.subscription?.stop();
  }
}

/**
 * Keeps one server stream of the control plane open: on data, `onData`; when it breaks or ends, a fresh
 * client re-opens it after `retryMs` (the client's channel reconnects fast, see ControlClient), at the next
 * controller when `controller` lists several (ControllerAddresses).
 */
function followControlStream<T>(
  controller: string,
  security: ControlClientSecurity,
  open: (client: ControlClient) => ClientReadableStream<T>,
  onData: (message: T) => void,
  retryMs: number,
  onRefused: (details: string) => void,
): { stop(): void } {
  // A refused credential is said once per distinct reason, not on every retry.
  let lastRefusal = '';
  let client: ControlClient | undefined;
  let retry: NodeJS.Timeout | undefined;
  let stopped = false;
  const addresses = new ControllerAddresses(controller);
  let first = true;
  const subscribe = (): void => {
    if (stopped) return;
    client?.close();
    const current = new ControlClient(first ? addresses.current : addresses.advance(), security);
    first = false;
    client = current;
    const stream = open(current);
    stream.on('data', onData);
    let again = false;
    const reopen = (): void => {
      // 'error' and 'end' may both come for one loss: re-open once.
      if (stopped || again || client !== current) return;
      again = true;
      clearTimeout(retry);
      retry = setTimeout(subscribe, retryMs);
      retry.unref();
    };
    stream.on('error', (err: Error & { code?: number; details?: string }) => {
      if (err.code === status.UNAUTHENTICATED || err.code === status.PERMISSION_DENIED) {
        const details = err.details ?? err.message;
        if (details !== lastRefusal) onRefused(details);
        lastRefusal = details;
      }
      reopen();
    });
    stream.on('end', reopen);
  };
  subscribe();
  return {
    stop: () => {
      stopped = true;
      clearTimeout(retry);
      client?.close();
    },
  };
}
