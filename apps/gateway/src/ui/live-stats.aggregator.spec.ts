import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { describe, it } from 'node:test';
import type { EngineEvents } from '@infergraph/engine';
import { LiveStatsAggregator } from './live-stats.aggregator';

const node = (n: string, ms: number, status: 'ok' | 'error' | 'skipped' = 'ok', route?: string): EngineEvents['node'][0] => ({ graph: 'g', node: n, requestId: 'r', type: route === undefined ? 'model' : 'router', status, seconds: ms / 1000, ...(route === undefined ? {} : { route }) });

describe('LiveStatsAggregator', () => {
  it('gives rate and percentiles over the window, and errors, routes, batches and outliers since start', () => {
    let now = 0;
    const events = new EventEmitter<EngineEvents>();
    const live = new LiveStatsAggregator(events, 10_000, () => now);
    for (let i = 1; i <= 100; i++) events.emit('node', node('m', i, i % 10 === 0 ? 'error' : 'ok'));
    events.emit('node', node('m', 1, 'skipped'));
    for (const r of ['a', 'a', 'a', 'b']) events.emit('node', node('split', 1, 'ok', r));
    events.emit('batch', { graph: 'g', node: 'm', size: 4, requests: 2, queueSeconds: 0, computeSeconds: 0 });
    events.emit('batch', { graph: 'g', node: 'm', size: 8, requests: 3, queueSeconds: 0, computeSeconds: 0 });
    events.emit('outlier', { graph: 'g', node: 'o', rows: 10, outliers: 3 });
    const m = live.snapshot().nodes.find((n) => n.node === 'm');
    assert.deepEqual([m?.ratePerSecond, m?.p50Ms, m?.p99Ms, m?.calls, m?.errors, m?.skipped], [10, 50, 99, 100, 10, 1]);
    assert.deepEqual(m?.batches, { count: 2, meanSize: 6, lastSize: 8 });
    assert.deepEqual(live.snapshot().nodes.find((n) => n.node === 'split')?.routes, { a: 3, b: 1 });
    assert.deepEqual(live.snapshot().nodes.find((n) => n.node === 'o')?.outliers, { rows: 10, flagged: 3 });
    // Past the window the rate and percentiles empty; the counts stay.
    now = 10_001;
    const later = live.snapshot().nodes.find((n) => n.node === 'm');
    assert.deepEqual([later?.ratePerSecond, later?.p50Ms, later?.calls], [0, undefined, 100]);
  });

  it('keeps measuring the rate of a node busier than its sample ring holds', () => {
    let now = 0;
    const events = new EventEmitter<EngineEvents>();
    const live = new LiveStatsAggregator(events, 10_000, () => now);
    // 1000 calls a second for 10 s: 10 000 calls, more than the ring keeps.
    for (let i = 0; i < 10_000; i++) {
      now = i;
      events.emit('node', node('busy', 1));
    }
    const busy = live.snapshot().nodes.find((n) => n.node === 'busy');
    assert.ok(busy !== undefined && Math.abs(busy.ratePerSecond - 1000) < 5, `rate ${busy?.ratePerSecond}`);
    assert.equal(busy?.calls, 10_000);
  });

  it('starts a reloaded graph afresh and stops listening when closed', () => {
    const events = new EventEmitter<EngineEvents>();
    const live = new LiveStatsAggregator(events);
    events.emit('node', node('m', 1));
    events.emit('loaded', { graph: 'g', state: 'ready', seconds: 0, models: [] });
    assert.equal(live.snapshot().nodes.length, 0);
    live.close();
    events.emit('node', node('m', 1));
    assert.equal(live.snapshot().nodes.length, 0);
    assert.equal(events.listenerCount('node'), 0);
  });
});
