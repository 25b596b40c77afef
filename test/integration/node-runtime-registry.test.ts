import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { createRequestContext } from '@infergraph/executor';
import {
  NodeRuntimeRegistry,
  loadNodeRuntimes,
  type AssignedGraph,
  type GraphNodeRuntimes,
  type LoadedNodeRuntime,
  type ReplicaState,
} from '@infergraph/engine';
import type { ModelLoadOptions, ModelLoader, ModelSession } from '@infergraph/nodes';
import type { Tensor } from '@infergraph/protocol';
import { OnnxModelLoader } from '@infergraph/runtime-onnx';
import { repoPath } from '../support/repo';
import { tempDir } from '../support/temp-dir';

// Integration: real graph files and user modules on disk (rewritten between assignments), real
// onnxruntime-node sessions on the committed models, a real TypeScript module transpiled in the engine's
// worker thread. One model load is held back on purpose by a wrapper around the real loader.

const LOGREG = repoPath('models', 'iris-logreg', '1', 'model.onnx');
const MLP = repoPath('models', 'iris-mlp', '1', 'model.onnx');
const MLP_SHA = 'f2a52fc98fee4f4f003b53ba09ad3d0012cfd8fb3d30c0db70bd7e8d73566897';
const SLOW_MODEL_MS = 1500;

const dir = tempDir('infergraph-node-registry-');
copyFileSync(repoPath('graphs', 'modules', 'confidence.ts'), path.join(dir, 'confidence.ts'));
// A module transformer that answers its version, after `globalThis.holdCalls` (when a test sets it).
for (const version of [1, 2]) {
  writeFileSync(
    path.join(dir, `v${version}.js`),
    `exports.version = async () => {
  await globalThis.holdCalls;
  return [{ name: 'version', datatype: 'INT32', shape: [1], data: [${version}] }];
};
`,
  );
}
const FILE = path.join(dir, 'served.yaml');

function writeGraph(version: 1 | 2): AssignedGraph {
  writeFileSync(
    FILE,
    `apiVersion: infergraph.dev/v1alpha1
kind: InferenceGraph
metadata: {name: served}
spec:
  inputs: [{name: features, datatype: FP32, shape: [-1, 4]}]
  nodes:
    - {name: fast, type: model, inputs: [graph.inputs], tensorMap: {features: input}, model: {uri: ${LOGREG}}}
    - {name: slow, type: model, inputs: [graph.inputs], tensorMap: {features: input}, model: {uri: ${MLP}}}
    - name: custom
      type: transformer
      inputs: [slow.outputs.probabilities]
      transformer:
        module: ./confidence.ts
        export: confidence
        outputs: [{name: confidence, datatype: FP32, shape: [-1]}, {name: uncertain, datatype: BOOL, shape: [-1]}]
    - name: versioned
      type: transformer
      inputs: [graph.inputs]
      transformer: {module: ./v${version}.js, export: version, outputs: [{name: version, datatype: INT32, shape: [1]}]}
    - {name: broken, type: model, inputs: [graph.inputs], tensorMap: {features: input}, model: {uri: ./not-here.onnx}}
  outputs: [fast.outputs.label, custom.outputs.confidence, versioned.outputs.version, {name: broken_label, source: broken.outputs.label}]
`,
  );
  return { name: 'served', file: FILE, contentHash: createHash('sha256').update(readFileSync(FILE)).digest('hex') };
}

/** The real loader, holding back the loads of one model and counting sessions given back. */
class HoldingLoader implements ModelLoader {
  /**
   * Its slowness is a wait, not work on the event loop: its loads need not queue behind each other's (a
   * queued fast model would wait out the slow one's hold, and the test would measure the queue).
   */
  readonly opensOffLoop = true;
  released = 0;
  readonly loads: string[] = [];

  constructor(private readonly inner: OnnxModelLoader) {}

  async load(key: string, bytes: Uint8Array, options: ModelLoadOptions): Promise<ModelSession> {
    this.loads.push(key);
    if (key === MLP_SHA) await new Promise((resolve) => setTimeout(resolve, SLOW_MODEL_MS));
    return this.inner.load(key, bytes, options);
  }

  release(session: ModelSession): Promise<void> {
    this.released++;
    return this.inner.release(session);
  }
}

interface Report {
  readonly key: string;
  readonly state: ReplicaState;
  readonly reason: string;
  readonly provider: string;
  readonly ms: number;
}

const onnx = new OnnxModelLoader();
const loader = new HoldingLoader(onnx);
/** Every node close, as "<node>@<first 8 hex of the graph version>". */
const closed: string[] = [];

/** Loads as a worker does, recording when each loaded node version is closed. */
async function open(assigned: AssignedGraph, nodes: ReadonlySet<string>): Promise<GraphNodeRuntimes> {
  const graph = await loadNodeRuntimes(assigned.file, nodes, loader);
  const recording = (loading: Promise<LoadedNodeRuntime>): Promise<LoadedNodeRuntime> => {
    const wrapped = loading.then((n) => ({
      ...n,
      close: async () => {
        closed.push(`${n.node}@${graph.contentHash.slice(0, 8)}`);
        await n.close();
      },
    }));
    wrapped.catch(() => undefined);
    return wrapped;
  };
  return { ...graph, nodes: new Map([...graph.nodes].map(([k, p]) => [k, recording(p)])), load: (n) => recording(graph.load(n)) };
}

const logs: string[] = [];
const registry = new NodeRuntimeRegistry(open, { log: (m) => logs.push(m), warn: (m) => logs.push(m), error: (m) => logs.push(m) }, { dropGraceMs: 100 });
const reports: Report[] = [];
let assignedAt = 0;
const report = (key: string, state: ReplicaState, reason: string, provider: string): void => {
  reports.push({ key, state, reason, provider, ms: performance.now() - assignedAt });
};

function assign(graph: AssignedGraph, nodes: readonly string[]): void {
  reports.length = 0;
  assignedAt = performance.now();
  registry.assign([graph], nodes.map((n) => `served.${n}`), report);
}

async function versionOf(): Promise<number> {
  const ctx = createRequestContext({ graph: 'served', timeoutMs: 5000, signal: new AbortController().signal });
  const answer = registry.call('served.versioned', (n) => n.runtime.infer(new Map<string, Tensor>(), ctx));
  assert.ok(answer !== undefined, 'served.versioned has a runtime');
  return Number((await answer).get('version')?.data[0]);
}

describe('serving assigned nodes (NodeRuntimeRegistry)', () => {
  after(async () => {
    await registry.close();
    await onnx.close();
  });

  it('reports LOADING for every new node at once and each READY as soon as its own node is loaded', async () => {
    const v1 = writeGraph(1);
    assign(v1, ['fast', 'slow', 'custom', 'versioned', 'broken']);
    assert.deepEqual(
      reports.map((r) => `${r.key} ${r.state}`),
      ['served.fast LOADING', 'served.slow LOADING', 'served.custom LOADING', 'served.versioned LOADING', 'served.broken LOADING'],
      'LOADING is reported for each node before assign returns',
    );
    assert.equal(registry.ready, false);
    await registry.idle();
    const settled = reports.filter((r) => r.state !== 'LOADING');
    const at = (key: string): Report => settled.find((r) => r.key === key) as Report;
    assert.deepEqual(
      settled.map((r) => `${r.key} ${r.state}`).sort(),
      ['served.broken FAILED', 'served.custom READY', 'served.fast READY', 'served.slow READY', 'served.versioned READY'],
    );
    assert.ok(at('served.fast').ms < SLOW_MODEL_MS, `the fast model was READY after ${Math.round(at('served.fast').ms)} ms, before the slow model's load ended`);
    assert.ok(at('served.fast').ms < at('served.custom').ms, 'the fast model is READY before the TypeScript module');
    assert.ok(at('served.slow').ms >= SLOW_MODEL_MS, 'the slow model is READY only once its own load ended');
    assert.equal(at('served.fast').provider, 'cpu');
    assert.match(at('served.broken').reason, /graph "served" node "broken": model file not found: .*not-here\.onnx/);
    assert.equal(registry.stateOf('served.broken')?.state, 'FAILED');
    assert.equal(registry.ready, false, 'not ready while an assigned node FAILED');
    assert.equal(await versionOf(), 1);
  });

  it('loads nothing when the same assignment comes again, and re-reports each node as it is', async () => {
    const loadsBefore = loader.loads.length;
    // The same nodes (perhaps with a replica more of one of them: the report covers every replica).
    assign(writeGraph(1), ['fast', 'slow', 'custom', 'versioned', 'broken']);
    assert.deepEqual(
      reports.map((r) => `${r.key} ${r.state}`),
      ['served.fast READY', 'served.slow READY', 'served.custom READY', 'served.versioned READY', 'served.broken FAILED'],
      'each state is reported again at once',
    );
    await registry.idle();
    assert.equal(reports.length, 5, 'nothing else follows');
    assert.equal(loader.loads.length, loadsBefore, 'no model is opened again');
  });

  it('reloads a node whose graph changed, the previous version serving until the new one is READY', async () => {
    const v1Hash = createHash('sha256').update(readFileSync(FILE)).digest('hex').slice(0, 8);
    let releaseCalls = (): void => undefined;
    const held = globalThis as { holdCalls?: Promise<void> };
    held.holdCalls = new Promise<void>((resolve) => (releaseCalls = resolve));
    const inFlight = versionOf();
    await new Promise((resolve) => setImmediate(resolve)); // the call is now waiting inside the module
    delete held.holdCalls;
    const v2 = writeGraph(2);
    assign(v2, ['fast', 'slow', 'custom', 'versioned']);
    assert.equal(await versionOf(), 1, 'the previous version answers while the new one loads');
    await registry.idle();
    assert.ok(
      reports.every((r) => r.state === 'READY'),
      `a reload reports no LOADING for nodes that serve (reports: ${reports.map((r) => `${r.key} ${r.state}`).join(', ')})`,
    );
    // Once when assigned (still serving the previous version), once when the new version is READY.
    assert.deepEqual(reports.map((r) => r.key).sort(), ['served.custom', 'served.custom', 'served.fast', 'served.fast', 'served.slow', 'served.slow', 'served.versioned', 'served.versioned']);
    assert.equal(await versionOf(), 2, 'new calls go to the new version once it is READY');
    assert.ok(!closed.includes(`versioned@${v1Hash}`), 'the previous version is not closed while a call on it is in flight');
    releaseCalls();
    assert.equal(await inFlight, 1, 'the call in flight finished on the previous version');
    assert.ok(closed.includes(`versioned@${v1Hash}`), 'the previous version is closed once its call is done');
    assert.equal(registry.has('served.broken'), false);
    assert.equal(registry.ready, true, 'every assigned node is READY');
  });

  it('keeps answering for dropped nodes during their grace period, then stops and gives their sessions back', async () => {
    const releasedBefore = loader.released;
    assign(writeGraph(2), ['versioned']);
    assert.equal(registry.has('served.fast'), false, 'a dropped node is no longer assigned');
    assert.deepEqual(registry.keys(), ['served.versioned']);
    // Gateways may still route here for a moment: the dropped node answers meanwhile.
    assert.notEqual(registry.call('served.fast', () => Promise.resolve()), undefined, 'a dropped node answers during its grace period');
    await registry.call('served.fast', () => Promise.resolve());
    await new Promise((resolve) => setTimeout(resolve, 150));
    assert.equal(registry.call('served.fast', () => Promise.resolve()), undefined, 'after the grace period a dropped node has no runtime to call');
    await new Promise((resolve) => setImmediate(resolve));
    assert.ok(loader.released >= releasedBefore + 2, `the sessions of fast and slow were given back (${loader.released - releasedBefore})`);
    assert.deepEqual(
      reports.map((r) => `${r.key} ${r.state}`),
      ['served.versioned READY'],
      'only the node still assigned is reported',
    );
  });

  it('fails a node whose graph the assignment does not name, saying so', () => {
    reports.length = 0;
    registry.assign([], ['other.node'], report);
    assert.deepEqual(
      reports.map((r) => `${r.key} ${r.state} ${r.reason}`),
      ['other.node FAILED the assignment names no graph file for "other.node"'],
    );
  });
});
