import type { RoutingTableMessage } from '@infergraph/protocol';
import { ControlClient } from './control-channel';

/**
 * A gateway's copy of the controller's routing table, kept current over a WatchRoutes stream and
 * re-subscribed after the controller restarts. The last table stays in use while the controller is
 * away, so inference continues without it.
 */
export class RoutingTableWatcher {
  private table = new Map<string, readonly string[]>();
  private version = -1;
  private client: ControlClient | undefined;
  private stopped = false;
  private retry: NodeJS.Timeout | undefined;

  constructor(
    private readonly controller: string,
    private readonly gatewayId: string,
    private readonly onChange: (version: number, routes: number) => void = () => undefined,
    private readonly retryMs = 500,
  ) {}

  start(): void {
    this.subscribe();
  }

  addressesFor(key: string): readonly string[] {
    return this.table.get(key) ?? [];
  }

  get currentVersion(): number {
    return this.version;
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.retry);
    this.client?.close();
  }

  private subscribe(): void {
    if (this.stopped) return;
    this.client?.close();
    this.client = new ControlClient(this.controller);
    const stream = this.client.watchRoutes(this.gatewayId);
    stream.on('data', (t: RoutingTableMessage) => {
      this.version = Number(t.version);
      this.table = new Map(t.routes.map((r) => [r.key, [...r.addresses]]));
      this.onChange(this.version, t.routes.length);
    });
    const again = (): void => {
      if (this.stopped) return;
      clearTimeout(this.retry);
      this.retry = setTimeout(() => this.subscribe(), this.retryMs);
      this.retry.unref();
    };
    stream.on('error', again);
    stream.on('end', again);
  }
}
