import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ClusterStatus } from '@infergraph/cluster';
import { graphStatusOf, type GraphStatusInput } from './graph-status';

type Placed = ClusterStatus['graphs'][number];
const replica = (r: number, state: string, extra: object = {}): Placed['nodes'][number]['replicas'][number] =>
  ({ replica: r, worker: `w${r}`, state, reason: state === 'FAILED' ? 'model file missing' : '', provider: 'cpu', ...extra }) as Placed['nodes'][number]['replicas'][number];
const placed = (nodes: [string, number, Placed['nodes'][number]['replicas']][]): Placed => ({
  name: 'iris',
  file: '/state/iris.yaml',
  nodes: nodes.map(([node, wanted, replicas]) => ({ key: `iris.${node}`, wanted, replicas })),
});
const base: GraphStatusInput = {
  name: 'iris',
  generation: 3,
  invalid: undefined,
  placed: undefined,
  pending: [],
  endpoints: { rest: 'http://gw:8080/', grpc: 'gw:8081' },
  previous: undefined,
  now: new Date('2026-12-04T17:00:00.123Z'),
};
const condition = (s: ReturnType<typeof graphStatusOf>, type: string): { status: string; reason: string; message: string; lastTransitionTime: string } | undefined =>
  s.conditions?.find((c) => c.type === type);

describe('graphStatusOf', () => {
  const table: { name: string; input: Partial<GraphStatusInput>; ready: string; progressing: string; degraded: string; reason: string }[] = [
    { name: 'all replicas READY', input: { placed: placed([['classifier', 2, [replica(0, 'READY'), replica(1, 'READY')]]]) }, ready: 'True', progressing: 'False', degraded: 'False', reason: 'AllReplicasReady' },
    { name: 'a replica loading', input: { placed: placed([['classifier', 2, [replica(0, 'READY'), replica(1, 'LOADING')]]]) }, ready: 'False', progressing: 'True', degraded: 'False', reason: 'Placing' },
    { name: 'a leaving copy does not count as ready', input: { placed: placed([['classifier', 1, [replica(0, 'READY', { leaving: true }), replica(0, 'LOADING')]]]) }, ready: 'False', progressing: 'True', degraded: 'False', reason: 'Placing' },
    {
      name: 'a replica placement cannot place',
      input: { placed: placed([['classifier', 1, []]]), pending: [{ key: 'iris.classifier', replica: 0, reason: 'needs cpu 64, largest free is 2 on worker w0' }] },
      ready: 'False',
      progressing: 'False',
      degraded: 'True',
      reason: 'Unplaceable',
    },
    { name: 'a failed replica', input: { placed: placed([['classifier', 1, [replica(0, 'FAILED')]]]) }, ready: 'False', progressing: 'False', degraded: 'True', reason: 'ReplicaFailed' },
    { name: 'an invalid spec never placed', input: { invalid: 'spec.nodes[0].type: expected one of model, transformer' }, ready: 'False', progressing: 'False', degraded: 'True', reason: 'InvalidSpec' },
    { name: 'not placed yet', input: {}, ready: 'False', progressing: 'True', degraded: 'False', reason: 'Placing' },
  ];
  for (const c of table) {
    it(`says Ready=${c.ready}, Progressing=${c.progressing}, Degraded=${c.degraded} (${c.reason}) for ${c.name}`, () => {
      const s = graphStatusOf({ ...base, ...c.input });
      assert.deepEqual(
        ['Ready', 'Progressing', 'Degraded'].map((t) => [condition(s, t)?.status, condition(s, t)?.reason]),
        [
          [c.ready, c.reason],
          [c.progressing, c.reason],
          [c.degraded, c.reason],
        ],
      );
      assert.equal(s.observedGeneration, 3);
    });
  }

  it('puts placement’s reason in Degraded and on the node', () => {
    const s = graphStatusOf({ ...base, placed: placed([['classifier', 1, []]]), pending: [{ key: 'iris.classifier', replica: 0, reason: 'needs cpu 64, largest free is 2 on worker w0' }, { key: 'other.x', replica: 0, reason: 'not ours' }] });
    assert.match(condition(s, 'Degraded')?.message ?? '', /iris\.classifier replica 0: needs cpu 64/);
    assert.doesNotMatch(condition(s, 'Degraded')?.message ?? '', /not ours/);
    assert.deepEqual(s.nodes, [{ name: 'classifier', wantedReplicas: 1, readyReplicas: 0, pending: 'replica 0: needs cpu 64, largest free is 2 on worker w0' }]);
    assert.equal(s.nodesReady, '0/1');
  });

  it('names the invalid field and says a previous version keeps serving', () => {
    const s = graphStatusOf({ ...base, invalid: 'spec.nodes[0].model.uri: file not found', placed: placed([['classifier', 1, [replica(0, 'READY')]]]) });
    assert.match(condition(s, 'Degraded')?.message ?? '', /spec\.nodes\[0\]\.model\.uri/);
    assert.match(condition(s, 'Ready')?.message ?? '', /previous valid version keeps serving/);
    assert.equal(condition(s, 'Ready')?.status, 'True');
  });

  it('keeps lastTransitionTime while a condition’s status stays, and moves it when it changes', () => {
    const first = graphStatusOf({ ...base, placed: placed([['classifier', 1, [replica(0, 'LOADING')]]]) });
    const later = graphStatusOf({ ...base, placed: placed([['classifier', 1, [replica(0, 'READY')]]]), previous: first.conditions, now: new Date('2026-12-04T17:00:05Z') });
    assert.equal(condition(first, 'Ready')?.lastTransitionTime, '2026-12-04T17:00:00Z');
    assert.equal(condition(later, 'Ready')?.lastTransitionTime, '2026-12-04T17:00:05Z');
    assert.equal(condition(later, 'Degraded')?.lastTransitionTime, '2026-12-04T17:00:00Z');
  });

  it('writes the gateway endpoints of the graph', () => {
    assert.deepEqual(graphStatusOf(base).endpoints, { rest: 'http://gw:8080/v2/models/iris', grpc: 'gw:8081' });
    assert.deepEqual(graphStatusOf({ ...base, endpoints: { rest: '', grpc: '' } }).endpoints, {});
    assert.deepEqual(graphStatusOf({ ...base, name: 'iris@2' }).endpoints, { rest: 'http://gw:8080/v2/models/iris/versions/2', grpc: 'gw:8081' });
  });

  it('counts only its own version: another version of the graph waiting for capacity leaves it Ready', () => {
    const ready = placed([['classifier', 1, [replica(0, 'READY')]]]);
    const otherVersion = [{ key: 'iris@2.classifier', replica: 0, reason: 'needs cpu 64, largest free is 2 on worker w0' }];
    assert.equal(condition(graphStatusOf({ ...base, placed: ready, pending: otherVersion }), 'Ready')?.status, 'True');
    const v2 = { ...ready, version: '2', nodes: [{ key: 'iris@2.classifier', wanted: 1, replicas: [] }] };
    assert.equal(condition(graphStatusOf({ ...base, name: 'iris@2', placed: v2, pending: otherVersion }), 'Degraded')?.reason, 'Unplaceable');
  });
});
