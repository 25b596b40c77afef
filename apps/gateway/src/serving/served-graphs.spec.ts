import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { GraphEntry } from '@infergraph/engine';
import { keptByGateway, servedGraphs } from './served-graphs';

// Pure-logic unit test: graph entries are plain objects carrying only the fields the code reads; no graph
// files, no models, no registry.

const HASH_1 = '1'.repeat(64);
const HASH_2 = '2'.repeat(64);

interface FakeNode {
  readonly name: string;
  readonly type: string;
  readonly router?: { readonly shadow?: readonly unknown[] };
}

interface FakeVersion {
  readonly version?: string;
  readonly state?: 'ready' | 'loading' | 'failed';
  readonly nodes?: readonly FakeNode[];
  readonly rollout?: unknown;
  readonly contentHash?: string;
  /** false: no graph object, as a failed or loading entry has. */
  readonly loaded?: boolean;
}

const MODEL: FakeNode = { name: 'm', type: 'model' };

function entry(name: string, v: FakeVersion = {}): GraphEntry {
  const version = 'version' in v ? v.version : '1';
  const spec = { nodes: v.nodes ?? [MODEL], ...(v.rollout === undefined ? {} : { rollout: v.rollout }) };
  return {
    name,
    version,
    file: `/graphs/${name}-${version ?? 'broken'}.yaml`,
    state: v.state ?? 'ready',
    graph: v.loaded === false ? undefined : { spec: { spec } },
    contentHash: v.contentHash ?? HASH_1,
  } as unknown as GraphEntry;
}

function registryOf(entries: readonly GraphEntry[], defaults: Readonly<Record<string, string | undefined>>) {
  return { list: () => [...entries], defaultVersion: (name: string) => defaults[name] };
}

describe('keptByGateway', () => {
  it('lets serving processes answer a graph of models, transformers and a router without shadows', () => {
    const nodes = [MODEL, { name: 't', type: 'transformer' }, { name: 'r', type: 'router', router: {} }];
    assert.equal(keptByGateway([entry('plain', { nodes }), entry('plain', { version: '2', nodes })]), undefined);
  });

  const kept: { name: string; versions: GraphEntry[]; expected: string | RegExp }[] = [
    { name: 'keeps a graph with a drift detector, naming the node', versions: [entry('g', { nodes: [MODEL, { name: 'watch', type: 'drift' }] })], expected: 'a drift detector (watch)' },
    { name: 'keeps a graph with an outlier detector, naming the node', versions: [entry('g', { nodes: [MODEL, { name: 'odd', type: 'outlier' }] })], expected: /outlier detector \(odd\)$/ },
    {
      name: 'keeps a graph whose router mirrors to a shadow, naming the router',
      versions: [entry('g', { nodes: [MODEL, { name: 'split', type: 'router', router: { shadow: [{ name: 's', percent: 100, to: ['m'] }] } }] })],
      expected: 'a shadow route (split)',
    },
    { name: 'keeps a graph with a version in a canary rollout', versions: [entry('g'), entry('g', { version: '2', rollout: { steps: [10, 50] } })], expected: 'a canary rollout' },
    {
      name: 'keeps a graph when only its second version has a detector',
      versions: [entry('g'), entry('g', { version: '2', nodes: [MODEL, { name: 'late', type: 'drift' }] })],
      expected: 'a drift detector (late)',
    },
  ];
  for (const c of kept) {
    it(c.name, () => {
      const why = keptByGateway(c.versions);
      if (typeof c.expected === 'string') assert.equal(why, c.expected);
      else assert.match(why ?? '', c.expected);
    });
  }

  it('looks past versions that have no graph (failed or loading)', () => {
    assert.equal(keptByGateway([entry('g', { state: 'failed', loaded: false }), entry('g', { version: '2' })]), undefined);
    assert.equal(keptByGateway([entry('g', { state: 'failed', loaded: false }), entry('g', { version: '2', nodes: [{ name: 'd', type: 'drift' }] })]), 'a drift detector (d)');
  });
});

describe('servedGraphs', () => {
  it('serves a plain graph with every ready version and its default', () => {
    const registry = registryOf([entry('iris', { version: '1', contentHash: HASH_1 }), entry('iris', { version: '2', contentHash: HASH_2 })], { iris: '2' });
    assert.deepEqual(servedGraphs(registry), [
      {
        name: 'iris',
        defaultVersion: '2',
        versions: [
          { version: '1', hash: HASH_1, file: '/graphs/iris-1.yaml' },
          { version: '2', hash: HASH_2, file: '/graphs/iris-2.yaml' },
        ],
      },
    ]);
  });

  it('serves each plain graph of several, keeping the others with the gateway', () => {
    const registry = registryOf(
      [
        entry('a'),
        entry('drifty', { nodes: [MODEL, { name: 'd', type: 'drift' }] }),
        entry('odd', { nodes: [MODEL, { name: 'o', type: 'outlier' }] }),
        entry('mirror', { nodes: [MODEL, { name: 'r', type: 'router', router: { shadow: [{ name: 's', to: ['m'] }] } }] }),
        entry('canary'),
        entry('canary', { version: '2', rollout: { steps: [25] } }),
        entry('b'),
      ],
      { a: '1', drifty: '1', odd: '1', mirror: '1', canary: '1', b: '1' },
    );
    assert.deepEqual(
      servedGraphs(registry).map((g) => g.name),
      ['a', 'b'],
    );
  });

  it('leaves failed and loading versions, and versions whose file could not be hashed, out of the versions', () => {
    const registry = registryOf(
      [
        entry('g', { version: '1' }),
        entry('g', { version: '2', state: 'failed', loaded: false }),
        // A loading entry is left out on its state alone, even with a graph object.
        entry('g', { version: '3', state: 'loading' }),
        entry('g', { version: '4', contentHash: '' }),
        entry('g', { version: undefined, state: 'failed', loaded: false }),
      ],
      { g: '1' },
    );
    assert.deepEqual(servedGraphs(registry), [{ name: 'g', defaultVersion: '1', versions: [{ version: '1', hash: HASH_1, file: '/graphs/g-1.yaml' }] }]);
  });

  it('does not serve a graph whose default version is not among its ready versions', () => {
    assert.deepEqual(servedGraphs(registryOf([entry('g', { version: '1' }), entry('g', { version: '2', state: 'loading' })], { g: '2' })), []);
    assert.deepEqual(servedGraphs(registryOf([entry('g', { version: '1' }), entry('g', { version: '2', contentHash: '' })], { g: '2' })), []);
    assert.deepEqual(servedGraphs(registryOf([entry('g', { version: '1' })], { g: '9' })), []);
  });

  it('does not serve a graph without a default version', () => {
    assert.deepEqual(servedGraphs(registryOf([entry('g', { version: '1' })], { g: undefined })), []);
    assert.deepEqual(servedGraphs(registryOf([entry('g', { state: 'failed', loaded: false })], {})), []);
  });

  it('serves nothing from an empty registry', () => {
    assert.deepEqual(servedGraphs(registryOf([], {})), []);
  });
});
