import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hashUnit, pickSticky, pickWeighted, type WeightedRoute } from './route-picker';

// Pure-logic unit test of weighted and sticky (rendezvous) route picking.

const ABC: WeightedRoute[] = [
  { name: 'a', weight: 1 },
  { name: 'b', weight: 2 },
  { name: 'c', weight: 1 },
];

/** Shares of `keys` per route, in percent. */
function shares(routes: readonly WeightedRoute[], keys: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const k of keys) {
    const r = pickSticky(routes, k);
    counts[r] = (counts[r] ?? 0) + 1;
  }
  return Object.fromEntries(Object.entries(counts).map(([r, n]) => [r, (100 * n) / keys.length]));
}

const KEYS = Array.from({ length: 20_000 }, (_, i) => `user-${i}`);

describe('weighted route picking', () => {
  // Weights 1, 2, 1: cumulative boundaries at 0.25 and 0.75.
  const BOUNDARIES: [u: number, route: string][] = [
    [0, 'a'],
    [0.25 - 1e-12, 'a'],
    [0.25, 'b'],
    [0.5, 'b'],
    [0.75 - 1e-12, 'b'],
    [0.75, 'c'],
    [1 - 2 ** -53, 'c'],
  ];
  for (const [u, route] of BOUNDARIES) {
    it(`picks "${route}" for u = ${u} with weights 1, 2, 1`, () => {
      assert.equal(pickWeighted(ABC, u), route);
    });
  }

  it('normalises arbitrary positive weights: 3, 6, 3 and 0.001, 0.002, 0.001 pick like 1, 2, 1', () => {
    const scaled = (f: number): WeightedRoute[] => ABC.map((r) => ({ ...r, weight: r.weight * f }));
    for (let i = 0; i < 1000; i++) {
      const u = i / 1000;
      assert.equal(pickWeighted(scaled(3), u), pickWeighted(ABC, u), `u = ${u}`);
      assert.equal(pickWeighted(scaled(0.001), u), pickWeighted(ABC, u), `u = ${u}`);
    }
  });

  it('always picks the only route, and refuses an empty route list', () => {
    assert.equal(pickWeighted([{ name: 'only', weight: 7 }], 0.999), 'only');
    assert.throws(() => pickWeighted([], 0.5), /no routes/);
  });
});

describe('sticky route picking (weighted rendezvous hashing)', () => {
  const CANARY: WeightedRoute[] = [
    { name: 'stable', weight: 90 },
    { name: 'canary', weight: 10 },
  ];

  it('hashes fixed strings to the same values in every process (SHA-256, first 52 bits)', () => {
    assert.equal(hashUnit(''), 0.8894159948913373);
    assert.equal(hashUnit('a'), 0.7913742705223815);
    assert.equal(hashUnit('stable\u0000user-42'), 0.6973576840801862);
    assert.equal(hashUnit('canary\u0000user-42'), 0.332759976159147);
  });

  it('maps every hash into the open interval (0, 1)', () => {
    for (const k of KEYS.slice(0, 2000)) {
      const h = hashUnit(k);
      assert.ok(h > 0 && h < 1, `${k}: ${h}`);
    }
  });

  it('sends the same key to the same route every time, from a fresh route list too', () => {
    assert.equal(pickSticky(CANARY, 'user-42'), 'stable');
    for (const k of KEYS.slice(0, 200)) {
      const first = pickSticky(CANARY, k);
      for (let i = 0; i < 5; i++) assert.equal(pickSticky(CANARY.map((r) => ({ ...r })), k), first, k);
    }
  });

  it('gives each route a share of 20,000 keys within 1.5 points of its weight (90/10)', () => {
    const got = shares(CANARY, KEYS);
    assert.ok(Math.abs((got['stable'] ?? 0) - 90) <= 1.5, JSON.stringify(got));
    assert.ok(Math.abs((got['canary'] ?? 0) - 10) <= 1.5, JSON.stringify(got));
  });

  it('gives three routes shares within 1.5 points of their weights (5/3/2)', () => {
    const got = shares(
      [
        { name: 'a', weight: 5 },
        { name: 'b', weight: 3 },
        { name: 'c', weight: 2 },
      ],
      KEYS,
    );
    for (const [route, percent] of [['a', 50], ['b', 30], ['c', 20]] as const) {
      assert.ok(Math.abs((got[route] ?? 0) - percent) <= 1.5, JSON.stringify(got));
    }
  });

  it('moves only the keys of a removed route; every other key keeps its route', () => {
    const before: WeightedRoute[] = [
      { name: 'a', weight: 5 },
      { name: 'b', weight: 3 },
      { name: 'c', weight: 2 },
    ];
    const after = before.filter((r) => r.name !== 'b');
    let moved = 0;
    for (const k of KEYS) {
      const was = pickSticky(before, k);
      const now = pickSticky(after, k);
      if (was === 'b') moved++;
      else assert.equal(now, was, `${k} moved from ${was} to ${now}`);
    }
    assert.ok(moved > 0.25 * KEYS.length, `expected about 30% of keys on b, got ${moved}`);
  });

  it('refuses an empty route list', () => {
    assert.throws(() => pickSticky([], 'k'), /no routes/);
  });
});
