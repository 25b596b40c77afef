import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { RequestLifetime, type NodeResult } from '@infergraph/executor';
import { GraphRegistry, NodeInferenceService } from '@infergraph/engine';
import type { InferRequest } from '@infergraph/protocol';
import { OnnxModelLoader } from '@infergraph/runtime-onnx';
import { repoPath } from '../support/repo';

// Integration: the worker's side of node calls (NodeInferenceService) on a real GraphRegistry that loads
// test/fixtures/graphs-joins from disk with its real custom modules. A call the caller ends first (the
// gateway's cancel of a branch a join no longer needs) is counted "cancelled", not as a node error.

const quiet = { log: () => undefined, warn: () => undefined, error: () => undefined };

const request = (id: string): InferRequest => ({
  id,
  parameters: {},
  inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 1], data: new Float32Array([1]) }],
  outputs: undefined,
  binaryOutput: false,
});

describe('node calls served for a gateway', () => {
  let registry: GraphRegistry;
  let nodes: NodeInferenceService;
  const events: NodeResult[] = [];

  before(async () => {
    registry = new GraphRegistry(new OnnxModelLoader(), quiet);
    await registry.loadDirectories([repoPath('test', 'fixtures', 'graphs-joins')]);
    registry.events.on('node', (r) => events.push(r));
    nodes = new NodeInferenceService(registry, undefined);
  });
  after(async () => {
    await registry?.close();
  });

  const statusOf = (requestId: string): string[] => events.filter((e) => e.requestId === requestId).map((e) => `${e.node}:${e.status}`);

  it('counts a call its caller cancelled before it failed as cancelled', async () => {
    const lifetime = new RequestLifetime();
    const call = nodes.infer('join-slow-any.slow', request('r-cancelled'), {}, performance.now() + 60_000, lifetime);
    lifetime.end();
    await assert.rejects(call, /slow branch stopped: the request ended/);
    assert.deepEqual(statusOf('r-cancelled'), ['slow:cancelled']);
  });

  it('still counts a call that fails on its own as an error, and one that answers as ok', async () => {
    await assert.rejects(nodes.infer('join-slow-any.broken', request('r-broken'), {}, performance.now() + 60_000, new RequestLifetime()), /broken branch failed on purpose/);
    assert.deepEqual(statusOf('r-broken'), ['broken:error']);
    const answer = await nodes.infer('join-slow-any.fast', request('r-fast'), {}, performance.now() + 60_000, new RequestLifetime());
    assert.deepEqual(Array.from(answer.outputs[0]?.data as Float32Array), [2]);
    assert.deepEqual(statusOf('r-fast'), ['fast:ok']);
  });
});
