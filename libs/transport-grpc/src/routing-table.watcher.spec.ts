import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RoutingTableMessage } from '@infergraph/protocol';
import { RoutingTableWatcher } from './routing-table.watcher';

// Pure logic of which routing table a gateway keeps; the watcher is never started (no stream opens).

const table = (epoch: string, version: number, synced: boolean, routes: Record<string, string[]>): RoutingTableMessage => ({
  epoch,
  version: String(version),
  synced,
  routes: Object.entries(routes).map(([key, addresses]) => ({ key, addresses })),
});

describe('RoutingTableWatcher', () => {
  const cases: { name: string; tables: RoutingTableMessage[]; applied: boolean[]; addresses: string[] }[] = [
    {
      name: 'takes newer versions of one epoch and ignores older ones',
      tables: [table('e1', 1, true, { 'g.a': ['w1:1'] }), table('e1', 3, true, { 'g.a': ['w2:1'] }), table('e1', 2, true, {})],
      applied: [true, true, false],
      addresses: ['w2:1'],
    },
    {
      name: 'keeps a populated table when a restarted controller sends an unsynced one',
      tables: [table('e1', 7, true, { 'g.a': ['w1:1'] }), table('e2', 1, false, {})],
      applied: [true, false],
      addresses: ['w1:1'],
    },
    {
      name: 'takes the synced table of a restarted controller, whatever its version',
      tables: [table('e1', 7, true, { 'g.a': ['w1:1'] }), table('e2', 1, true, { 'g.a': ['w1:1', 'w2:1'] })],
      applied: [true, true],
      addresses: ['w1:1', 'w2:1'],
    },
    {
      name: 'takes an unsynced table while it has nothing better',
      tables: [table('e2', 1, false, { 'g.a': ['w3:1'] })],
      applied: [true],
      addresses: ['w3:1'],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const watcher = new RoutingTableWatcher('127.0.0.1:1', 'test');
      assert.deepEqual(
        c.tables.map((t) => watcher.apply(t)),
        c.applied,
      );
      assert.deepEqual(watcher.addressesFor('g.a'), c.addresses);
    });
  }

  describe('carry-over across a controller restart', () => {
    const clock = (): { now: () => number; advance: (ms: number) => void } => {
      let t = 1_000;
      return { now: () => t, advance: (ms) => (t += ms) };
    };

    it('keeps the old epoch\'s addresses for a node the new synced table does not route yet, until the carry-over ends', () => {
      const c = clock();
      const watcher = new RoutingTableWatcher('127.0.0.1:1', 'test', { carryOverMs: 5000 }, c.now);
      watcher.apply(table('e1', 4, true, { 'g.a': ['w1:1'], 'g.b': ['w1:1'] }));
      watcher.apply(table('e2', 1, true, { 'g.b': ['w2:1'] }));
      assert.deepEqual(watcher.addressesFor('g.a'), ['w1:1'], 'w1 has not re-joined: its address is carried');
      assert.deepEqual(watcher.addressesFor('g.b'), ['w2:1'], 'a node the new table routes uses only the new addresses');
      c.advance(4999);
      assert.deepEqual(watcher.addressesFor('g.a'), ['w1:1']);
      c.advance(1);
      assert.deepEqual(watcher.addressesFor('g.a'), [], 'after the carry-over only the new table counts');
    });

    it('stops carrying a node as soon as the new epoch routes it', () => {
      const c = clock();
      const watcher = new RoutingTableWatcher('127.0.0.1:1', 'test', { carryOverMs: 5000 }, c.now);
      watcher.apply(table('e1', 4, true, { 'g.a': ['w1:1'] }));
      watcher.apply(table('e2', 1, true, {}));
      watcher.apply(table('e2', 2, true, { 'g.a': ['w1:2'] }));
      assert.deepEqual(watcher.addressesFor('g.a'), ['w1:2']);
    });

    it('carries nothing within one epoch: a route the controller withdrew is gone at once', () => {
      const c = clock();
      const watcher = new RoutingTableWatcher('127.0.0.1:1', 'test', { carryOverMs: 5000 }, c.now);
      watcher.apply(table('e1', 1, true, { 'g.a': ['w1:1'] }));
      watcher.apply(table('e1', 2, true, {}));
      assert.deepEqual(watcher.addressesFor('g.a'), []);
    });

    it('keeps carrying through two restarts in a row', () => {
      const c = clock();
      const watcher = new RoutingTableWatcher('127.0.0.1:1', 'test', { carryOverMs: 5000 }, c.now);
      watcher.apply(table('e1', 1, true, { 'g.a': ['w1:1'] }));
      watcher.apply(table('e2', 1, true, {}));
      c.advance(1000);
      watcher.apply(table('e3', 1, true, {}));
      c.advance(4500);
      assert.deepEqual(watcher.addressesFor('g.a'), ['w1:1'], 'the third epoch restarted the carry-over of what the first named');
    });
  });

  it('names every routed address, carried-over ones while the carry-over lasts, and tells listeners of each table applied', () => {
    let t = 1_000;
    const watcher = new RoutingTableWatcher('127.0.0.1:1', 'test', { carryOverMs: 500 }, () => t);
    const applied: number[] = [];
    watcher.onChange((version) => applied.push(version));
    watcher.apply(table('e1', 1, true, { 'g.a': ['w1:1', 'w2:1'], 'g.b': ['w2:1'] }));
    assert.deepEqual([...watcher.routedAddresses()].sort(), ['w1:1', 'w2:1']);
    // A restarted controller whose first synced table lacks w1 (not re-joined yet): still routed while carried.
    watcher.apply(table('e2', 1, true, { 'g.a': ['w2:1'] }));
    assert.deepEqual([...watcher.routedAddresses()].sort(), ['w1:1', 'w2:1']);
    t += 500;
    assert.deepEqual([...watcher.routedAddresses()], ['w2:1']);
    // Refused tables are not announced.
    watcher.apply(table('e2', 1, true, {}));
    assert.deepEqual(applied, [1, 1]);
  });
});
