import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { GraphRegistry } from '@infergraph/engine';
import { OnnxModelLoader } from '@infergraph/runtime-onnx';
import { GrpcNodeBus } from '@infergraph/transport-grpc';
import { pairVersionYaml } from '../support/graph-yaml';

// Real parts: the engine's GraphRegistry with the real ONNX loader and a real gRPC node bus (its workers
// are never called: loading alone decides), on graph files in a temporary directory.

const quiet = { log: () => undefined, warn: () => undefined, error: () => undefined };

describe('graph versions and node transports', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'infergraph-pair-'));
    writeFileSync(path.join(dir, 'pair-1.yaml'), pairVersionYaml('1'));
    writeFileSync(path.join(dir, 'pair-2.yaml'), pairVersionYaml('2'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('serves two versions side by side with in-process nodes', async () => {
    const registry = new GraphRegistry(new OnnxModelLoader(), quiet);
    await registry.loadDirectories([dir]);
    assert.deepEqual(
      registry.list().map((e) => [e.name, e.version, e.state]),
      [
        ['pair', '1', 'ready'],
        ['pair', '2', 'ready'],
      ],
    );
    assert.equal(registry.defaultVersion('pair'), '2');
    await registry.close();
  });

  it('serves a second version beside the first when node calls go to workers over gRPC (each version keyed with its own)', async () => {
    const bus = GrpcNodeBus.toWorkers(['127.0.0.1:9'], {});
    const registry = new GraphRegistry(new OnnxModelLoader(), quiet, { bus });
    await registry.loadFile(path.join(dir, 'pair-1.yaml'));
    const second = await registry.loadFile(path.join(dir, 'pair-2.yaml'));
    assert.equal(second.state, 'ready', second.error);
    assert.deepEqual(registry.versionsOf('pair').map((e) => e.version), ['1', '2']);
    await registry.close();
    await bus.close();
  });

});
