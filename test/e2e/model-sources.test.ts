import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { goldenRows } from '../support/examples';
import { assertSameOutputs } from '../support/same-outputs';
import { request, startGateway, type RunningGateway } from '../support/gateway.process';
import { oneModelGraphYaml } from '../support/graph-yaml';
import { startController, type RunningController } from '../support/controller.process';
import { repoPath } from '../support/repo';
import { startS3TestServer, type S3TestServer } from '../support/s3';
import { startWorker, type RunningWorker } from '../support/worker.process';

// End to end, all real OS processes on loopback: a gofakes3 S3-compatible server (scripts/s3/server.mjs),
// the gateway alone, then a controller, a worker and a gateway; each process that loads the model fetches
// it from S3 itself into its own MODEL_CACHE_DIR, configured only through the environment.

const IRIS = repoPath('models', 'iris-logreg', '1', 'model.onnx');
const IRIS_BYTES = readFileSync(IRIS);
const IRIS_SHA = createHash('sha256').update(IRIS_BYTES).digest('hex');
const rows = goldenRows('iris-logreg');
const body = { inputs: [{ name: 'input', shape: [rows.length, 4], datatype: 'FP32', data: rows }] };

/** The graph with sha256 pinned (oneModelGraphYaml writes the uri alone). */
const pinned = (name: string, uri: string, sha256: string): string => oneModelGraphYaml(name, `${JSON.stringify(uri)}, sha256: ${sha256}`);

describe('models from s3:// in real processes', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'infergraph-e2e-sources-'));
  const graphs = path.join(dir, 'graphs');
  let s3: S3TestServer;
  let env: Record<string, string>;

  before(async () => {
    s3 = await startS3TestServer(['models']);
    const credentials = { AWS_ACCESS_KEY_ID: 'infergraph-test', AWS_SECRET_ACCESS_KEY: 'infergraph-test-secret' };
    env = { ...credentials, S3_ENDPOINT: s3.endpoint, S3_FORCE_PATH_STYLE: 'true', S3_REGION: 'us-east-1' };
    const client = new S3Client({ endpoint: s3.endpoint, forcePathStyle: true, region: 'us-east-1', credentials: { accessKeyId: credentials.AWS_ACCESS_KEY_ID, secretAccessKey: credentials.AWS_SECRET_ACCESS_KEY } });
    await client.send(new PutObjectCommand({ Bucket: 'models', Key: 'iris/1/model.onnx', Body: IRIS_BYTES }));
    client.destroy();
    mkdirSync(graphs);
    writeFileSync(path.join(graphs, 'iris-s3.yaml'), pinned('iris-s3', 's3://models/iris/1/model.onnx', IRIS_SHA));
    writeFileSync(path.join(graphs, 'iris-file.yaml'), oneModelGraphYaml('iris-file', IRIS));
    writeFileSync(path.join(graphs, 'iris-wrong.yaml'), pinned('iris-wrong', 's3://models/iris/1/model.onnx', 'c'.repeat(64)));
  });
  after(async () => {
    await s3?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  describe('standalone gateway', () => {
    let gateway: RunningGateway;
    const cache = path.join(dir, 'cache-gateway');
    before(async () => {
      gateway = await startGateway({ ...env, GRAPHS_DIR: graphs, MODEL_CACHE_DIR: cache });
    });
    after(() => gateway?.stop());

    it('serves the s3:// model with the outputs of the same model from a file', async () => {
      const fromS3 = await request(gateway, 'POST', '/v2/models/iris-s3/infer', body);
      const fromFile = await request(gateway, 'POST', '/v2/models/iris-file/infer', body);
      assertSameOutputs(fromFile, fromS3, 'iris-s3');
      assert.ok(existsSync(path.join(cache, 'sha256', IRIS_SHA)), 'the model is in MODEL_CACHE_DIR under its sha256');
    });

    it('reports the graph whose sha256 does not match as failed, naming node, uri and digests, and keeps serving', async () => {
      const { graphs: listed } = (await request(gateway, 'GET', '/v1/graphs')).body as { graphs: { name: string; state: string; error?: string }[] };
      const wrong = listed.find((g) => g.name === 'iris-wrong');
      assert.equal(wrong?.state, 'failed');
      assert.ok(
        (wrong?.error ?? '').includes(`node "clf": cannot fetch s3://models/iris/1/model.onnx: sha256 mismatch: expected ${'c'.repeat(64)}, got ${IRIS_SHA}`),
        wrong?.error,
      );
      assert.equal((await request(gateway, 'POST', '/v2/models/iris-s3/infer', body)).status, 200);
    });
  });

  describe('distributed: the worker fetches its own copy', () => {
    let controller: RunningController;
    let worker: RunningWorker;
    let gateway: RunningGateway;
    const workerCache = path.join(dir, 'cache-worker');
    before(async () => {
      rmSync(path.join(graphs, 'iris-wrong.yaml'));
      controller = await startController(undefined, { GRAPHS_DIR: graphs });
      worker = await startWorker({ ...env, CONTROLLER: controller.control, WORKER_ID: 'cpu-s3', WORKER_POOL: 'cpu', HEARTBEAT_MS: '200', MODEL_CACHE_DIR: workerCache });
      gateway = await startGateway({ ...env, GRAPHS_DIR: graphs, CONTROLLER: controller.control, MODEL_CACHE_DIR: path.join(dir, 'cache-gateway-2') });
    });
    after(async () => {
      await Promise.all([gateway?.stop(), worker?.kill()]);
      controller?.process.kill('SIGKILL');
    });

    it('answers through the worker with the outputs of the file model', async () => {
      const deadline = performance.now() + 30_000;
      let fromS3 = await request(gateway, 'POST', '/v2/models/iris-s3/infer', body);
      while (fromS3.status !== 200 && performance.now() < deadline) {
        await new Promise((r) => setTimeout(r, 200));
        fromS3 = await request(gateway, 'POST', '/v2/models/iris-s3/infer', body);
      }
      const fromFile = await request(gateway, 'POST', '/v2/models/iris-file/infer', body);
      assertSameOutputs(fromFile, fromS3, 'iris-s3 distributed');
      assert.ok(existsSync(path.join(workerCache, 'sha256', IRIS_SHA)), `the worker's own cache holds the model:\n${worker.output()}`);
      assert.match(worker.output(), /model s3:\/\/models\/iris\/1\/model\.onnx for graph \\"iris-s3\\" node \\"clf\\": verified sha256/);
    });
  });
});
