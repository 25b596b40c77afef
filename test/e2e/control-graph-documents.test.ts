import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ControllerMessage, GraphRefMessage, ReplicaStateMessage } from '@infergraph/protocol';
import { ControlServer, type WorkerSession } from '@infergraph/transport-grpc';
import { freePort } from '../support/gateway.process';
import { oneModelGraphYaml } from '../support/graph-yaml';
import { V2GrpcClient } from '../support/grpc-client';
import { repoPath } from '../support/repo';
import { startWorker, type RunningWorker } from '../support/worker.process';
import { tempDir } from '../support/temp-dir';

// End to end: a real worker process joined to a stand-in controller (the real ControlServer over loopback
// gRPC, driven by the test) that sends graphs as documents in its assignment, as the controller does. The
// files the assignment names do not exist: the worker builds its nodes from the documents, checks each one
// (hash, fields), and opens models only inside its own roots.

const sha = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');

describe('a worker given graph documents by its controller', () => {
  let server: ControlServer;
  let worker: RunningWorker;
  let outside: string;
  const states = new Map<string, ReplicaStateMessage>();
  let session: WorkerSession | undefined;

  before(async () => {
    // A directory outside the worker's roots, holding a real model beside the file one graph claims to be.
    outside = mkdtempSync(path.join(tmpdir(), 'infergraph-sent-graphs-'));
    copyFileSync(repoPath('models', 'iris-logreg', '1', 'model.onnx'), path.join(outside, 'model.onnx'));
    server = new ControlServer({
      join: (s) => {
        session = s;
        s.onMessage((m) => {
          if (m.replica) states.set(m.replica.key, m.replica);
        });
      },
      watchRoutes: () => undefined,
      watchCatalogue: () => undefined,
    });
    const port = await freePort();
    await server.listen(`127.0.0.1:${port}`);
    worker = await startWorker({ CONTROLLER: `127.0.0.1:${port}`, WORKER_ID: 'cpu-docs', GRAPHS_DIR: tempDir('infergraph-empty-'), MODEL_ROOTS: repoPath('models'), HEARTBEAT_MS: '200' });
  });
  after(async () => {
    await worker?.kill();
    server?.forceClose();
    if (outside !== undefined) rmSync(outside, { recursive: true, force: true });
  });

  it('serves a graph from its document, and fails one outside its roots or not matching its hash, naming why', async () => {
    for (const deadline = performance.now() + 10_000; session === undefined; ) {
      assert.ok(performance.now() < deadline, 'the worker joined');
      await new Promise((r) => setTimeout(r, 50));
    }
    const good = oneModelGraphYaml('good', 'iris-logreg/1/model.onnx');
    const beside = oneModelGraphYaml('beside', 'model.onnx');
    const tampered = oneModelGraphYaml('tampered', 'iris-logreg/1/model.onnx');
    const graphs: GraphRefMessage[] = [
      // Relative paths resolve beside the named file, here inside the worker's MODEL_ROOTS; the file itself is absent.
      { name: 'good', file: repoPath('models', 'good.yaml'), content_hash: sha(good), source: good },
      // Beside the named file there is a model, but that directory is not one of the worker's roots.
      { name: 'beside', file: path.join(outside, 'beside.yaml'), content_hash: sha(beside), source: beside },
      { name: 'tampered', file: repoPath('models', 'tampered.yaml'), content_hash: sha(good), source: tampered },
    ];
    assert.equal(existsSync(repoPath('models', 'good.yaml')), false);
    const assignment: ControllerMessage = { assignment: { graphs, replicas: ['good', 'beside', 'tampered'].map((g) => ({ key: `${g}.clf`, replica: 0 })), epoch: 'test' } };
    session.send(assignment);
    for (const deadline = performance.now() + 20_000; ['good.clf', 'beside.clf', 'tampered.clf'].some((k) => !['READY', 'FAILED'].includes(states.get(k)?.state ?? '')); ) {
      assert.ok(performance.now() < deadline, `replica states: ${JSON.stringify([...states.values()])}\n${worker.output()}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(states.get('good.clf')?.state, 'READY', JSON.stringify(states.get('good.clf')));
    assert.equal(states.get('beside.clf')?.state, 'FAILED');
    assert.match(states.get('beside.clf')?.reason ?? '', /model\.uri "model\.onnx" is outside the allowed roots/);
    assert.equal(states.get('tampered.clf')?.state, 'FAILED');
    assert.match(states.get('tampered.clf')?.reason ?? '', /graph "tampered" from the controller refused: graphs\[2\]\.source has sha256 [0-9a-f]{64}, not the content_hash/);
    // The node built from the document answers V2 calls.
    const client = new V2GrpcClient(worker.address);
    try {
      const answer = await client.call<{ outputs: { name: string }[] }>('ModelInfer', {
        model_name: 'good.clf',
        inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 4], contents: { fp32_contents: [5.1, 3.5, 1.4, 0.2] } }],
      });
      assert.ok(answer.outputs.some((o) => o.name === 'label'), JSON.stringify(answer));
    } finally {
      client.close();
    }
  });
});
