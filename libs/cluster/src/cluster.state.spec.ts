import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseBytes, parseCpu, type ReplicaDemand } from '@infergraph/placement';
import { ClusterState } from './cluster.state';
import type { WorkerHello } from './cluster.types';

// Pure-logic scenario tests: a ClusterState driven call by call, time passed in as numbers; nothing runs.

function worker(id: string, options: { pool?: string; cpu?: number; memory?: string; gpuCount?: number; gpuMemory?: string } = {}): WorkerHello {
  const { pool = 'cpu', cpu = 4, memory = '8Gi', gpuCount = 0, gpuMemory = '0' } = options;
  return { id, pool, address: `${id}:7000`, capacity: { cpu, memory: parseBytes(memory), gpuCount, gpuMemory: parseBytes(gpuMemory) } };
}

function node(key: string, replicas: number, resources: { pool?: string; cpu?: string | number; memory?: string; gpuMemory?: string } = {}): ReplicaDemand {
  const { pool = 'cpu', cpu = 1, memory = '1Gi', gpuMemory = '0' } = resources;
  return { key, pool, cpu: parseCpu(cpu), memory: parseBytes(memory), gpuMemory: parseBytes(gpuMemory), replicas };
}

const cluster = (): ClusterState => new ClusterState({ heartbeatTimeoutMs: 10_000 });

/** "w1: g.a#0 g.b#0" per known worker. */
function placement(state: ClusterState, ...workers: string[]): string[] {
  return workers.map((id) => `${id}: ${state.assignmentFor(id).replicas.map((r) => `${r.key}#${r.replica}`).join(' ')}`.trimEnd());
}

/** "g.a w1:7000 w2:7000" per routed node. */
const routes = (state: ClusterState): string[] => state.routes().routes.map((r) => [r.key, ...r.addresses].join(' '));

const pending = (state: ClusterState, now = 0): string[] => state.status(now).pending.map((p) => `${p.key}#${p.replica}: ${p.reason}`);

/** "g.a#1 w1 LOADING" for every replica of every graph. */
const replicaStates = (state: ClusterState): string[] =>
  state
    .status(0)
    .graphs.flatMap((g) => g.nodes.flatMap((n) => n.replicas.map((r) => `${n.key}#${r.replica} ${r.worker} ${r.state}`)));

describe('ClusterState', () => {
  it('places replicas on a worker that joins and tells it its assignment', () => {
    const state = cluster();
    state.setGraph('g', 'graphs/g.yaml', [node('g.a', 1), node('g.b', 1)]);
    assert.deepEqual(state.replan(), { changedWorkers: [], routingChanged: false });
    assert.deepEqual(pending(state), [
      'g.a#0: graph "g" waits as a unit: node "g.a" has no worker in pool "cpu" (there are no workers)',
      'g.b#0: graph "g" waits as a unit: node "g.a" has no worker in pool "cpu" (there are no workers)',
    ]);

    state.upsertWorker(worker('w1'), 0);
    assert.deepEqual(state.replan(), { changedWorkers: ['w1'], routingChanged: false });
    assert.deepEqual(state.assignmentFor('w1'), {
      graphs: [{ name: 'g', file: 'graphs/g.yaml', contentHash: '' }],
      replicas: [
        { key: 'g.a', replica: 0 },
        { key: 'g.b', replica: 0 },
      ],
    });
    assert.deepEqual(pending(state), []);
    assert.deepEqual(replicaStates(state), ['g.a#0 w1 LOADING', 'g.b#0 w1 LOADING']);
    assert.deepEqual(state.replan(), { changedWorkers: [], routingChanged: false }, 'a second replan changes nothing');
  });

  it('spreads 2 replicas over 2 workers', () => {
    const state = cluster();
    state.upsertWorker(worker('w2'), 0);
    state.upsertWorker(worker('w1'), 0);
    state.setGraph('g', 'g.yaml', [node('g.a', 2)]);
    assert.deepEqual(state.replan().changedWorkers, ['w1', 'w2']);
    assert.deepEqual(placement(state, 'w1', 'w2'), ['w1: g.a#0', 'w2: g.a#1']);
  });

  it('re-places the replicas of a removed worker on the survivor and routes to them only once READY', () => {
    const state = cluster();
    state.upsertWorker(worker('w1'), 0);
    state.upsertWorker(worker('w2'), 0);
    state.setGraph('g', 'g.yaml', [node('g.a', 2)]);
    state.replan();
    assert.deepEqual(state.reportReplica('w1', 'g.a', 0, 'READY', '', 'cpu'), { routingChanged: true, changedWorkers: [] });
    assert.deepEqual(state.reportReplica('w2', 'g.a', 1, 'READY', '', 'cpu'), { routingChanged: true, changedWorkers: [] });
    assert.deepEqual(routes(state), ['g.a w1:7000 w2:7000']);

    assert.equal(state.removeWorker('w2', 'control stream closed'), true);
    assert.deepEqual(routes(state), ['g.a w1:7000'], 'the removed worker is no longer routed');
    assert.deepEqual(state.replan(), { changedWorkers: ['w1'], routingChanged: true });
    assert.deepEqual(placement(state, 'w1'), ['w1: g.a#0 g.a#1']);
    assert.deepEqual(replicaStates(state), ['g.a#0 w1 READY', 'g.a#1 w1 LOADING']);

    assert.deepEqual(
      state.reportReplica('w1', 'g.a', 1, 'READY', '', 'cpu'),
      { routingChanged: true, changedWorkers: [] },
      'each replica on w1 has its own routing entry',
    );
    assert.deepEqual(routes(state), ['g.a w1:7000 w1:7000']);
    assert.deepEqual(state.status(0).removedWorkers, [{ id: 'w2', reason: 'control stream closed' }]);
    assert.equal(state.removeWorker('w2', 'again'), false);

    state.upsertWorker(worker('w2'), 0);
    assert.deepEqual(state.replan(), { changedWorkers: ['w2'], routingChanged: false }, 'the doubled-up replica spreads out again');
    assert.deepEqual(placement(state, 'w1', 'w2'), ['w1: g.a#0 g.a#1', 'w2: g.a#1'], 'make-before-break: w1 keeps its copy meanwhile');
    assert.deepEqual(replicaStates(state), ['g.a#0 w1 READY', 'g.a#1 w1 READY', 'g.a#1 w2 LOADING']);
    assert.deepEqual(state.reportReplica('w2', 'g.a', 1, 'READY', '', 'cpu'), { routingChanged: true, changedWorkers: ['w1'] });
    assert.deepEqual(placement(state, 'w1', 'w2'), ['w1: g.a#0', 'w2: g.a#1']);
    assert.deepEqual(routes(state), ['g.a w1:7000 w2:7000']);
    assert.deepEqual(state.assignmentFor('w1').graphs.map((g) => g.name), ['g']);
  });

  it('expires workers whose last heartbeat is older than the timeout', () => {
    const state = cluster();
    state.upsertWorker(worker('w1'), 0);
    state.upsertWorker(worker('w2'), 0);
    state.setGraph('g', 'g.yaml', [node('g.a', 1)]);
    state.replan();
    assert.equal(state.heartbeat('w1', 8_000), true);
    assert.deepEqual(state.expire(10_000), [], 'exactly the timeout is not older than it');
    assert.deepEqual(state.expire(10_001), ['w2']);
    assert.equal(state.heartbeat('w2', 10_002), false, 'an expired worker must say hello again');
    assert.deepEqual(state.status(10_001).removedWorkers, [{ id: 'w2', reason: 'no heartbeat for 10001ms (timeout 10000ms)' }]);
    assert.deepEqual(state.expire(18_001), ['w1']);
    assert.deepEqual(state.replan(), { changedWorkers: [], routingChanged: false });
    assert.deepEqual(pending(state), ['g.a#0: graph "g" waits as a unit: node "g.a" has no worker in pool "cpu" (there are no workers)']);
  });

  it('does not route a FAILED replica and keeps its reason and provider', () => {
    const state = cluster();
    state.upsertWorker(worker('w1'), 0);
    state.setGraph('g', 'g.yaml', [node('g.a', 1)]);
    state.replan();
    assert.deepEqual(state.reportReplica('w1', 'g.a', 0, 'FAILED', 'model.onnx: invalid protobuf', 'cpu'), { routingChanged: false, changedWorkers: [] });
    assert.deepEqual(routes(state), []);
    const [replica] = state.status(0).graphs[0]?.nodes[0]?.replicas ?? [];
    assert.deepEqual(replica, { replica: 0, worker: 'w1', state: 'FAILED', reason: 'model.onnx: invalid protobuf', provider: 'cpu' });

    state.reportReplica('w1', 'g.a', 0, 'READY', '', 'cpu');
    assert.deepEqual(routes(state), ['g.a w1:7000']);
    assert.deepEqual(state.reportReplica('w1', 'g.a', 0, 'FAILED', 'out of memory', 'cpu'), { routingChanged: true, changedWorkers: [] });
    assert.deepEqual(routes(state), []);
  });

  it('ignores a report on a replica the worker is not assigned', () => {
    const state = cluster();
    state.upsertWorker(worker('w1'), 0);
    state.upsertWorker(worker('w2'), 0);
    state.setGraph('g', 'g.yaml', [node('g.a', 1)]);
    state.replan();
    assert.deepEqual(state.reportReplica('w2', 'g.a', 0, 'READY', '', 'cpu'), { routingChanged: false, changedWorkers: [] });
    assert.deepEqual(state.reportReplica('w1', 'g.zzz', 0, 'READY', '', 'cpu'), { routingChanged: false, changedWorkers: [] });
    assert.deepEqual(routes(state), []);
  });

  it('frees the capacity of a removed graph for the pending replicas of another', () => {
    const state = cluster();
    state.upsertWorker(worker('w1', { cpu: 1 }), 0);
    state.setGraph('g1', 'g1.yaml', [node('g1.a', 1, { cpu: 1 })]);
    state.setGraph('g2', 'g2.yaml', [node('g2.b', 1, { cpu: 1 })]);
    state.replan();
    assert.deepEqual(placement(state, 'w1'), ['w1: g1.a#0']);
    assert.deepEqual(pending(state), ['g2.b#0: graph "g2" waits as a unit: node "g2.b" needs cpu 1, largest free is 0 on worker w1']);

    state.reportReplica('w1', 'g1.a', 0, 'READY', '', 'cpu');
    assert.equal(state.removeGraph('g1'), true);
    assert.deepEqual(routes(state), []);
    assert.deepEqual(state.replan(), { changedWorkers: ['w1'], routingChanged: true });
    assert.deepEqual(state.assignmentFor('w1'), { graphs: [{ name: 'g2', file: 'g2.yaml', contentHash: '' }], replicas: [{ key: 'g2.b', replica: 0 }] });
    assert.deepEqual(pending(state), []);
    assert.equal(state.removeGraph('g1'), false);
  });

  it('keeps a GPU demand pending with the planner reason until a GPU worker joins', () => {
    const state = cluster();
    state.upsertWorker(worker('cpu-1', { pool: 'gpu' }), 0);
    state.setGraph('g', 'g.yaml', [node('g.big', 1, { pool: 'gpu', gpuMemory: '4Gi' })]);
    assert.deepEqual(state.replan(), { changedWorkers: ['cpu-1'], routingChanged: false });
    assert.deepEqual(pending(state), ['g.big#0: graph "g" waits as a unit: node "g.big" needs gpuMemory 4Gi, but no worker in pool "gpu" has a GPU']);

    state.upsertWorker(worker('gpu-1', { pool: 'gpu', gpuCount: 1, gpuMemory: '16Gi' }), 5);
    assert.deepEqual(state.replan().changedWorkers, ['gpu-1']);
    assert.deepEqual(placement(state, 'cpu-1', 'gpu-1'), ['cpu-1:', 'gpu-1: g.big#0']);
    assert.deepEqual(pending(state), []);
  });

  it('re-sends the assignment of a reconnecting worker and waits for its replicas to be READY again', () => {
    const state = cluster();
    state.upsertWorker(worker('w1'), 0);
    state.setGraph('g', 'g.yaml', [node('g.a', 1)]);
    state.replan();
    state.reportReplica('w1', 'g.a', 0, 'READY', '', 'cuda');
    state.upsertWorker(worker('w1'), 100);
    assert.deepEqual(routes(state), []);
    assert.deepEqual(state.replan(), { changedWorkers: ['w1'], routingChanged: true });
    assert.deepEqual(replicaStates(state), ['g.a#0 w1 LOADING']);
  });

  it('drops replicas beyond a lowered replica count', () => {
    const state = cluster();
    state.upsertWorker(worker('w1'), 0);
    state.upsertWorker(worker('w2'), 0);
    state.setGraph('g', 'g.yaml', [node('g.a', 2)]);
    state.replan();
    state.setGraph('g', 'g.yaml', [node('g.a', 1)]);
    assert.deepEqual(state.replan().changedWorkers, ['w2']);
    assert.deepEqual(placement(state, 'w1', 'w2'), ['w1: g.a#0', 'w2:']);
  });

  it('bumps the routing version only when the table content changes', () => {
    const state = cluster();
    assert.deepEqual(state.routes(), { version: 0, routes: [] });
    state.upsertWorker(worker('w1', { cpu: 8 }), 0);
    state.setGraph('g', 'g.yaml', [node('g.a', 2), node('g.b', 1)]);
    state.replan();
    assert.equal(state.routes().version, 0, 'LOADING replicas are not routed');

    const steps: { report: [string, number, 'LOADING' | 'READY' | 'FAILED']; version: number; changed: boolean }[] = [
      { report: ['g.a', 0, 'READY'], version: 1, changed: true },
      { report: ['g.a', 0, 'READY'], version: 1, changed: false },
      // Each replica has its own entry (a worker holding two takes twice the share).
      { report: ['g.a', 1, 'READY'], version: 2, changed: true },
      { report: ['g.b', 0, 'READY'], version: 3, changed: true },
      { report: ['g.a', 0, 'LOADING'], version: 4, changed: true },
      { report: ['g.a', 1, 'FAILED'], version: 5, changed: true },
    ];
    for (const { report, version, changed } of steps) {
      const [key, replica, replicaState] = report;
      assert.deepEqual(state.reportReplica('w1', key, replica, replicaState, '', 'cpu'), { routingChanged: changed, changedWorkers: [] }, `${key}#${replica} ${replicaState}`);
      assert.equal(state.routes().version, version, `${key}#${replica} ${replicaState}`);
    }
    assert.deepEqual(state.routes(), { version: 5, routes: [{ key: 'g.b', addresses: ['w1:7000'] }] });
    assert.deepEqual(state.replan(), { changedWorkers: [], routingChanged: false });
  });

  it('describes workers, graphs, pending replicas and routes in its status', () => {
    const state = cluster();
    state.upsertWorker(worker('w1', { cpu: 2, memory: '4Gi' }), 1_000);
    state.heartbeat('w1', 3_000);
    state.setGraph('g', 'graphs/g.yaml', [node('g.a', 1, { cpu: '500m', memory: '1536Mi' })]);
    state.setGraph('h', 'graphs/h.yaml', [node('h.gpu', 1, { pool: 'gpu', gpuMemory: '2Gi' })]);
    state.replan();
    state.reportReplica('w1', 'g.a', 0, 'READY', '', 'cpu');
    assert.deepEqual(state.status(3_500), {
      workers: [
        {
          id: 'w1',
          pool: 'cpu',
          address: 'w1:7000',
          capacity: { cpu: 2, memory: '4Gi', gpuCount: 0, gpuMemory: '0' },
          free: { cpu: 1.5, memory: '2.5Gi', gpuMemory: '0' },
          lastHeartbeatAgeMs: 500,
          replicas: 1,
          draining: false,
        },
      ],
      graphs: [
        {
          name: 'g',
          file: 'graphs/g.yaml',
          nodes: [{ key: 'g.a', wanted: 1, replicas: [{ replica: 0, worker: 'w1', state: 'READY', reason: '', provider: 'cpu' }] }],
        },
        { name: 'h', file: 'graphs/h.yaml', nodes: [{ key: 'h.gpu', wanted: 1, replicas: [] }] },
      ],
      pending: [{ key: 'h.gpu', replica: 0, reason: 'graph "h" waits as a unit: node "h.gpu" has no worker in pool "gpu" (workers are in pools "cpu")' }],
      removedWorkers: [],
      routing: { version: 1, routes: [{ key: 'g.a', addresses: ['w1:7000'] }] },
    });
  });

  it('gives the same results for the same sequence of calls', () => {
    const run = (): unknown[] => {
      const state = cluster();
      const results: unknown[] = [];
      state.setGraph('g', 'g.yaml', [node('g.a', 3), node('g.b', 2, { memory: '3Gi' })]);
      for (const id of ['w3', 'w1', 'w2']) state.upsertWorker(worker(id), 0);
      results.push(state.replan());
      state.reportReplica('w2', 'g.a', 1, 'READY', '', 'cpu');
      state.removeWorker('w1', 'gone');
      results.push(state.replan(), state.routes(), state.status(50));
      return results;
    };
    assert.deepEqual(run(), run());
  });

  it('places two versions of one graph as separate replicas, and removing one leaves the other placed and routed', () => {
    const state = cluster();
    // Version "1" keeps the unversioned keys; version "2" is the graph id "g@2".
    state.setGraph('g', 'graphs/g.yaml', [node('g.a', 2)], 'hash-1');
    state.setGraph('g@2', 'graphs/g-v2.yaml', [node('g@2.a', 2)], 'hash-2');
    state.upsertWorker(worker('w1'), 0);
    state.upsertWorker(worker('w2'), 0);
    state.replan();
    // Each worker holds one replica of each version: never two of a node on one worker.
    assert.deepEqual(placement(state, 'w1', 'w2'), ['w1: g.a#0 g@2.a#1', 'w2: g.a#1 g@2.a#0']);
    assert.deepEqual(state.assignmentFor('w1').graphs, [
      { name: 'g', file: 'graphs/g.yaml', contentHash: 'hash-1' },
      { name: 'g@2', file: 'graphs/g-v2.yaml', contentHash: 'hash-2' },
    ]);
    for (const w of ['w1', 'w2']) for (const r of state.assignmentFor(w).replicas) state.reportReplica(w, r.key, r.replica, 'READY', '', 'cpu');
    assert.deepEqual(routes(state), ['g.a w1:7000 w2:7000', 'g@2.a w1:7000 w2:7000']);
    assert.deepEqual(
      state.status(0).graphs.map((g) => [g.name, g.version, g.nodes.map((n) => n.key)]),
      [
        ['g', undefined, ['g.a']],
        ['g', '2', ['g@2.a']],
      ],
    );

    assert.equal(state.removeGraph('g@2'), true);
    state.replan();
    assert.deepEqual(placement(state, 'w1', 'w2'), ['w1: g.a#0', 'w2: g.a#1']);
    assert.deepEqual(routes(state), ['g.a w1:7000 w2:7000']);
    assert.deepEqual(state.assignmentFor('w1').graphs.map((g) => g.name), ['g']);
  });

  it('adopts a re-joining worker\'s replicas of a version only when that version\'s content hash matches', () => {
    const state = cluster();
    state.setGraph('g', 'g.yaml', [node('g.a', 1)], 'hash-1');
    state.setGraph('g@2', 'g-v2.yaml', [node('g@2.a', 1)], 'hash-2');
    const held = [
      { key: 'g.a', replica: 0, state: 'READY' as const, reason: '', provider: 'cpu' },
      { key: 'g@2.a', replica: 0, state: 'READY' as const, reason: '', provider: 'cpu' },
    ];
    // The worker loaded version 2 from other content: only version 1 is adopted.
    state.upsertWorker({ ...worker('w1'), held, loadedGraphs: { g: 'hash-1', 'g@2': 'stale' } }, 0);
    assert.deepEqual(routes(state), ['g.a w1:7000']);
  });

  it('rejects a graph whose demands do not belong to it or cannot be planned', () => {
    const state = cluster();
    assert.throws(() => state.setGraph('g', 'g.yaml', [node('other.a', 1)]), /graph "g" \(g\.yaml\): demand key "other\.a" must start with "g\."/);
    assert.throws(() => state.setGraph('g', 'g.yaml', [node('g@2.a', 1)]), /graph "g" \(g\.yaml\): demand key "g@2\.a" must start with "g\."/);
    assert.throws(() => state.setGraph('g@1', 'g.yaml', [node('g.a', 1)]), /graph id "g@1" must be/);
    assert.throws(() => state.setGraph('g', 'g.yaml', [node('g.a', 1), node('g.a', 1)]), /graph "g" \(g\.yaml\): duplicate demand key "g\.a"/);
    assert.throws(() => state.upsertWorker({ ...worker('w1'), capacity: { cpu: -1, memory: 0, gpuCount: 0, gpuMemory: 0 } }, 0), /worker "w1" cpu must be/);
  });
});
