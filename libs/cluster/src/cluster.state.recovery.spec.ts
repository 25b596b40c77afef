import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseBytes, parseCpu, type ReplicaDemand } from '@infergraph/placement';
import { ClusterState } from './cluster.state';
import type { HeldReplica, WorkerHello } from './cluster.types';

// Pure-logic scenario tests of the controller's fault handling: restarts (adoption from hellos), drains and
// moves (make-before-break). A ClusterState is driven call by call; nothing runs.

const HASH = 'sha-g-1';

function worker(id: string, extra: Partial<WorkerHello> = {}): WorkerHello {
  return { id, pool: 'cpu', address: `${id}:7000`, capacity: { cpu: 4, memory: parseBytes('8Gi'), gpuCount: 0, gpuMemory: 0 }, ...extra };
}

function node(key: string, replicas: number, cpu = 1): ReplicaDemand {
  return { key, pool: 'cpu', cpu: parseCpu(cpu), memory: parseBytes('1Gi'), gpuMemory: 0, replicas };
}

const ready = (key: string, replica: number): HeldReplica => ({ key, replica, state: 'READY', reason: '', provider: 'cpu' });

const routes = (state: ClusterState): string[] => state.routes().routes.map((r) => [r.key, ...r.addresses].join(' '));

/** A cluster whose one node g.a has its one replica READY on w1. */
function oneReadyReplicaOnW1(): ClusterState {
  const state = new ClusterState({ heartbeatTimeoutMs: 10_000 });
  state.setGraph('g', 'g.yaml', [node('g.a', 1)], HASH);
  state.upsertWorker(worker('w1'), 0);
  state.replan();
  state.reportReplica('w1', 'g.a', 0, 'READY', '', 'cpu');
  return state;
}

function placement(state: ClusterState, ...workers: string[]): string[] {
  return workers.map((id) => `${id}: ${state.assignmentFor(id).replicas.map((r) => `${r.key}#${r.replica}`).join(' ')}`.trimEnd());
}

describe('ClusterState recovery', () => {
  it('adopts the replicas workers report in their hellos after a controller restart, and routes them at once', () => {
    const state = new ClusterState({ heartbeatTimeoutMs: 10_000 });
    state.setGraph('g', 'g.yaml', [node('g.a', 2), node('g.b', 1)], HASH);
    state.upsertWorker(worker('w1', { held: [ready('g.a', 0), ready('g.b', 0)], loadedGraphs: { g: HASH } }), 0);
    state.upsertWorker(worker('w2', { held: [ready('g.a', 1)], loadedGraphs: { g: HASH } }), 0);
    assert.deepEqual(routes(state), ['g.a w1:7000 w2:7000', 'g.b w1:7000'], 'routed before any replan');
    const result = state.replan();
    assert.deepEqual(placement(state, 'w1', 'w2'), ['w1: g.a#0 g.b#0', 'w2: g.a#1'], 'the plan keeps what the workers hold');
    assert.equal(result.routingChanged, true);
    assert.deepEqual(routes(state), ['g.a w1:7000 w2:7000', 'g.b w1:7000']);
  });

  it('does not adopt a replica a worker loaded from other content, and places it anew', () => {
    const state = new ClusterState({ heartbeatTimeoutMs: 10_000 });
    state.setGraph('g', 'g.yaml', [node('g.a', 1)], HASH);
    state.upsertWorker(worker('w1', { held: [ready('g.a', 0)], loadedGraphs: { g: 'sha-of-an-older-file' } }), 0);
    assert.deepEqual(routes(state), []);
    state.replan();
    assert.deepEqual(state.assignmentFor('w1').graphs, [{ name: 'g', file: 'g.yaml', contentHash: HASH }]);
    assert.deepEqual(
      state.status(0).graphs[0]?.nodes[0]?.replicas.map((r) => r.state),
      ['LOADING'],
    );
  });

  it('renumbers an adopted replica whose slot another worker already holds', () => {
    const state = new ClusterState({ heartbeatTimeoutMs: 10_000 });
    state.setGraph('g', 'g.yaml', [node('g.a', 2)], HASH);
    state.upsertWorker(worker('w1', { held: [ready('g.a', 0)], loadedGraphs: { g: HASH } }), 0);
    state.upsertWorker(worker('w2', { held: [ready('g.a', 0)], loadedGraphs: { g: HASH } }), 0);
    assert.deepEqual(placement(state, 'w1', 'w2'), ['w1: g.a#0', 'w2: g.a#1']);
    assert.deepEqual(routes(state), ['g.a w1:7000 w2:7000']);
  });

  it('keeps a reconnecting worker\'s READY replicas routed when its hello lists them', () => {
    const state = oneReadyReplicaOnW1();
    state.upsertWorker(worker('w1', { held: [ready('g.a', 0)], loadedGraphs: { g: HASH } }), 100);
    assert.deepEqual(routes(state), ['g.a w1:7000']);
  });

  it('moves a draining worker\'s replicas make-before-break and then reports it drained', () => {
    const state = oneReadyReplicaOnW1();
    state.upsertWorker(worker('w2'), 0);
    state.replan();

    assert.equal(state.drainWorker('w1'), true);
    const moved = state.replan();
    assert.deepEqual(moved.changedWorkers, ['w2'], 'the replacement is assigned; w1 keeps its copy');
    assert.deepEqual(placement(state, 'w1', 'w2'), ['w1: g.a#0', 'w2: g.a#0']);
    assert.deepEqual(routes(state), ['g.a w1:7000'], 'the old copy serves while the new one loads');
    assert.deepEqual(state.drainedWorkers(), []);

    const report = state.reportReplica('w2', 'g.a', 0, 'READY', '', 'cpu');
    assert.deepEqual(report, { routingChanged: true, changedWorkers: ['w1'] }, 'the old copy is released once the new one is READY');
    assert.deepEqual(routes(state), ['g.a w2:7000']);
    assert.deepEqual(placement(state, 'w1', 'w2'), ['w1:', 'w2: g.a#0']);
    assert.deepEqual(state.drainedWorkers(), ['w1']);
  });

  it('keeps a draining worker\'s replica serving when no other worker can take it', () => {
    const state = oneReadyReplicaOnW1();
    state.drainWorker('w1');
    state.replan();
    assert.deepEqual(routes(state), ['g.a w1:7000']);
    assert.deepEqual(state.drainedWorkers(), []);
    assert.match(state.status(0).pending[0]?.reason ?? '', /no worker/);
  });

  it('drops the old copy of a moved replica when its worker is lost before the new one is READY', () => {
    const state = oneReadyReplicaOnW1();
    state.upsertWorker(worker('w2'), 0);
    state.drainWorker('w1');
    state.replan();
    state.removeWorker('w1', 'killed');
    assert.deepEqual(routes(state), []);
    assert.deepEqual(placement(state, 'w2'), ['w2: g.a#0']);
  });

  it('gives each replica on one worker its own routing entry', () => {
    const state = new ClusterState({ heartbeatTimeoutMs: 10_000 });
    state.setGraph('g', 'g.yaml', [node('g.a', 2)], HASH);
    state.upsertWorker(worker('w1'), 0);
    state.replan();
    state.reportReplica('w1', 'g.a', 0, 'READY', '', 'cpu');
    state.reportReplica('w1', 'g.a', 1, 'READY', '', 'cpu');
    assert.deepEqual(routes(state), ['g.a w1:7000 w1:7000']);
  });

  it('gives a node without a declared replica count the default, up to the eligible workers of its pool', () => {
    const state = new ClusterState({ heartbeatTimeoutMs: 10_000, defaultReplicas: 2 });
    state.setGraph('g', 'g.yaml', [{ ...node('g.a', 1), declaredReplicas: false }, { ...node('g.b', 1), declaredReplicas: true }], HASH);
    state.upsertWorker(worker('w1'), 0);
    state.replan();
    assert.deepEqual(placement(state, 'w1'), ['w1: g.a#0 g.b#0'], 'one eligible worker: one replica, never doubled up by default');
    state.upsertWorker(worker('w2'), 0);
    state.replan();
    assert.deepEqual(placement(state, 'w1', 'w2'), ['w1: g.a#0 g.b#0', 'w2: g.a#1'], 'two eligible workers: the default 2 for g.a; g.b keeps its declared 1');
    assert.equal(state.wantedReplicas('g.a'), 2);
  });
});
