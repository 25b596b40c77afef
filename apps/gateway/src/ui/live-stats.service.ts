import { Injectable, type BeforeApplicationShutdown } from '@nestjs/common';
import type { ServerResponse } from 'node:http';
import { GraphRegistry } from '@infergraph/engine';
import { LiveStatsAggregator } from './live-stats.aggregator';

/** How often a stream gets a snapshot: the dashboard promises figures at most 2 s old. */
export const LIVE_PERIOD_MS = 1000;

/**
 * The dashboard's live feed: one aggregator over the engine's events, and the open Server-Sent Events
 * streams it writes to (a snapshot every LIVE_PERIOD_MS, each finished drift window as it comes). Streams
 * end before the HTTP server closes, which would otherwise wait for them.
 */
@Injectable()
export class LiveStatsService implements BeforeApplicationShutdown {
  private readonly aggregator: LiveStatsAggregator;
  private readonly streams = new Set<ServerResponse>();
  private timer: NodeJS.Timeout | undefined;
  /** Set when the gateway begins to stop: the streams have ended and no new one opens here. */
  private stopping = false;

  constructor(private readonly registry: GraphRegistry) {
    this.aggregator = new LiveStatsAggregator(registry.events);
    registry.events.on('drift', (r) => this.broadcast('drift', { graph: r.graph, node: r.node, is_drift: r.is_drift, window: r.window }));
  }

  /**
   * Takes over `res` as an event stream until the client goes away. Once the streams have been ended for a
   * stop it answers 503 instead: a stream opened while the other shutdown steps finish (a Kafka drain) would
   * hold the closing server open until the process is killed.
   */
  open(res: ServerResponse): void {
    if (this.stopping) {
      res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', 'retry-after': '2' });
      res.end('this gateway is stopping; the live feed goes on at another replica\n');
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', 'x-accel-buffering': 'no', connection: 'keep-alive' });
    res.write(`retry: ${2 * LIVE_PERIOD_MS}\n\n`);
    this.streams.add(res);
    this.write(res, 'stats', this.snapshot());
    res.on('close', () => {
      this.streams.delete(res);
      if (this.streams.size === 0) this.stopTimer();
    });
    this.timer ??= setInterval(() => this.broadcast('stats', this.snapshot()), LIVE_PERIOD_MS);
  }

  snapshot(): unknown {
    const graphs = this.registry.list().map((e) => ({ name: e.name, state: e.state, shadow: { ok: e.shadow.ok, failed: e.shadow.failed, lastError: e.shadow.lastError } }));
    return { ...this.aggregator.snapshot(), graphs };
  }

  beforeApplicationShutdown(): void {
    this.stopping = true;
    this.stopTimer();
    // Each stream's connection ends with it: a dashboard reconnects on a connection of its own.
    for (const res of this.streams) {
      const socket = res.socket;
      res.end(() => socket?.end());
    }
    this.streams.clear();
    this.aggregator.close();
  }

  private broadcast(event: string, data: unknown): void {
    if (this.streams.size === 0) return;
    // One frame for every open stream: serialised once, not per stream.
    const frame = frameOf(event, data);
    for (const res of this.streams) res.write(frame);
  }

  private write(res: ServerResponse, event: string, data: unknown): void {
    res.write(frameOf(event, data));
  }

  private stopTimer(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }
}

/** One Server-Sent Events frame. */
function frameOf(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}
