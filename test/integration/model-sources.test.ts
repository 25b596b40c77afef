import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { createRequestContext } from '@infergraph/executor';
import { GraphRegistry, loadGraphFile, type LoadedGraph } from '@infergraph/engine';
import { ModelStore, type ModelStoreSettings } from '@infergraph/model-store';
import { OnnxModelLoader } from '@infergraph/runtime-onnx';
import { GraphValidationError } from '@infergraph/spec';
import { repoPath } from '../support/repo';
import { startS3TestServer, type S3TestServer } from '../support/s3';

// Integration: a real S3-compatible server (gofakes3, built and started by scripts/s3/server.mjs), a real
// HTTPS server on loopback with a CA made by scripts/certs.mjs, the real @aws-sdk/client-s3 and node:https
// clients of libs/model-store, and real onnxruntime-node sessions on the committed models.

const IRIS = repoPath('models', 'iris-logreg', '1', 'model.onnx');
const IRIS_BYTES = readFileSync(IRIS);
const IRIS_SHA = sha256(IRIS_BYTES);
const ADD_BYTES = readFileSync(repoPath('test', 'fixtures', 'models', 'add.onnx'));
const DTYPES_BYTES = readFileSync(repoPath('test', 'fixtures', 'models', 'identity-all-dtypes.onnx'));
const dir = mkdtempSync(path.join(tmpdir(), 'infergraph-sources-'));
const loader = new OnnxModelLoader();

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** A request as the HTTPS server saw it. */
interface Seen {
  readonly path: string;
  readonly range: string | undefined;
  readonly ifRange: string | undefined;
}

/** Serves fixed files over TLS; `cutNext` makes the next full answer stop halfway (the socket is destroyed). */
class ModelHttpsServer {
  readonly seen: Seen[] = [];
  cutNext = false;
  private readonly server: https.Server;
  port = 0;

  constructor(
    private readonly files: ReadonlyMap<string, Buffer>,
    tls: { cert: Buffer; key: Buffer },
  ) {
    this.server = https.createServer(tls, (req, res) => {
      const url = req.url ?? '/';
      this.seen.push({ path: url, range: req.headers.range, ifRange: req.headers['if-range'] as string | undefined });
      const body = this.files.get(url);
      if (body === undefined) {
        res.writeHead(404).end();
        return;
      }
      const etag = `"${sha256(body).slice(0, 16)}"`;
      const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
      if (range !== null && req.headers['if-range'] === etag) {
        const start = Number(range[1]);
        res.writeHead(206, { 'content-range': `bytes ${start}-${body.length - 1}/${body.length}`, 'content-length': body.length - start, etag });
        res.end(body.subarray(start));
        return;
      }
      res.writeHead(200, { 'content-length': body.length, etag, 'accept-ranges': 'bytes' });
      if (this.cutNext) {
        this.cutNext = false;
        // A clean close (FIN after the bytes sent), not a reset: the client gets exactly the first half.
        res.write(body.subarray(0, Math.floor(body.length / 2)), () => res.socket?.end());
        return;
      }
      res.end(body);
    });
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }

  url(file: string): string {
    return `https://127.0.0.1:${this.port}${file}`;
  }

  gets(file: string): Seen[] {
    return this.seen.filter((s) => s.path === file);
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

let s3: S3TestServer;
let web: ModelHttpsServer;
let caPem: string;
const logs: string[] = [];

function settings(name: string, overrides: Partial<ModelStoreSettings> = {}): ModelStoreSettings {
  return {
    cacheDir: path.join(dir, name),
    cacheMaxBytes: 1024 ** 3,
    downloadMaxBytes: 1024 ** 3,
    extraCa: caPem,
    caFile: undefined,
    allowHttp: false,
    s3: { endpoint: s3.endpoint, forcePathStyle: true, region: 'us-east-1' },
    ...overrides,
  };
}

function storeOf(name: string, overrides: Partial<ModelStoreSettings> = {}): ModelStore {
  return new ModelStore({ settings: settings(name, overrides), logger: { log: (m) => logs.push(m), warn: (m) => logs.push(`WARN ${m}`) }, progressMinBytes: 0 });
}

function irisGraph(name: string, uri: string, sha: string | undefined): string {
  const file = path.join(dir, `${name}.yaml`);
  writeFileSync(
    file,
    [
      'apiVersion: infergraph.dev/v1alpha1',
      'kind: InferenceGraph',
      `metadata: {name: ${name}}`,
      'spec:',
      '  inputs: [{name: x, datatype: FP32, shape: [-1, 4]}]',
      '  nodes:',
      '    - name: clf',
      '      type: model',
      '      inputs: [graph.inputs]',
      '      tensorMap: {x: input}',
      '      model:',
      `        uri: ${JSON.stringify(uri)}`,
      ...(sha === undefined ? [] : [`        sha256: ${sha}`]),
      '  outputs: [clf]',
    ].join('\n') + '\n',
  );
  return file;
}

const ROWS = new Float32Array([5.1, 3.5, 1.4, 0.2, 6.7, 3.0, 5.2, 2.3, 5.9, 3.0, 4.2, 1.5]);

async function answer(graph: LoadedGraph): Promise<{ name: string; data: number[] }[]> {
  const ctx = createRequestContext({ graph: graph.spec.metadata.name, timeoutMs: 5000, signal: new AbortController().signal });
  const result = await graph.executor.execute([{ name: 'x', datatype: 'FP32', shape: [3, 4], data: ROWS }], ctx);
  return result.outputs.map((t) => ({ name: t.name, data: Array.from(t.data as ArrayLike<number | bigint>, Number) }));
}

async function problemsOf(file: string, store: ModelStore): Promise<string[]> {
  try {
    const graph = await loadGraphFile(file, loader, { models: store });
    await graph.close();
  } catch (err) {
    assert.ok(err instanceof GraphValidationError, String(err));
    return err.diagnostics.map((d) => `${d.path}: ${d.message}`);
  }
  assert.fail('graph loaded but was expected to fail');
}

describe('models from s3:// and https://', () => {
  before(async () => {
    execFileSync(process.execPath, [repoPath('scripts', 'certs.mjs'), '--out', path.join(dir, 'certs'), '--hosts', '127.0.0.1,localhost', 'models'], { encoding: 'utf8' });
    caPem = readFileSync(path.join(dir, 'certs', 'ca.crt'), 'utf8');
    web = new ModelHttpsServer(
      new Map([
        ['/iris.onnx', IRIS_BYTES],
        ['/iris-again.onnx', IRIS_BYTES],
        ['/add.onnx', ADD_BYTES],
        ['/dtypes.onnx', DTYPES_BYTES],
      ]),
      { cert: readFileSync(path.join(dir, 'certs', 'models.crt')), key: readFileSync(path.join(dir, 'certs', 'models.key')) },
    );
    await web.listen();
    s3 = await startS3TestServer(['models']);
    // The AWS SDK's standard credential chain reads these; gofakes3 accepts any.
    process.env['AWS_ACCESS_KEY_ID'] = 'infergraph-test';
    process.env['AWS_SECRET_ACCESS_KEY'] = 'infergraph-test-secret';
    const client = new S3Client({ endpoint: s3.endpoint, forcePathStyle: true, region: 'us-east-1' });
    await client.send(new PutObjectCommand({ Bucket: 'models', Key: 'iris/1/model.onnx', Body: IRIS_BYTES }));
    client.destroy();
  });

  after(async () => {
    await web?.close();
    await s3?.stop();
    await loader.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('loads an s3:// model that answers exactly as the same model from a file', async () => {
    const store = storeOf('s3');
    const fromS3 = await loadGraphFile(irisGraph('iris-s3', 's3://models/iris/1/model.onnx', IRIS_SHA), loader, { models: store });
    const fromFile = await loadGraphFile(irisGraph('iris-file', IRIS, IRIS_SHA), loader);
    const [s3Answer, fileAnswer] = [await answer(fromS3), await answer(fromFile)];
    assert.equal(s3Answer.length, 2);
    assert.deepEqual(s3Answer, fileAnswer);
    assert.equal(fromS3.models[0]?.path, path.join(store.cacheDir, 'sha256', IRIS_SHA));
    assert.deepEqual(readdirSync(path.join(store.cacheDir, 'sha256')), [IRIS_SHA]);
    assert.equal(store.stats.downloads, 1);
    await Promise.all([fromS3.close(), fromFile.close()]);
    store.close();
  });

  it('reuses an unpinned s3:// object while its ETag holds, without a second download', async () => {
    const store = storeOf('s3-unpinned');
    const first = await loadGraphFile(irisGraph('iris-s3-a', 's3://models/iris/1/model.onnx', undefined), loader, { models: store });
    const second = await loadGraphFile(irisGraph('iris-s3-b', 's3://models/iris/1/model.onnx', undefined), loader, { models: store });
    assert.equal(first.models[0]?.sha256, IRIS_SHA);
    assert.equal(second.models[0]?.path, first.models[0]?.path);
    assert.deepEqual({ downloads: store.stats.downloads, hits: store.stats.hits }, { downloads: 1, hits: 1 });
    await Promise.all([first.close(), second.close()]);
    store.close();
  });

  it('continues a partial S3 download left by a stopped process with a ranged GetObject', async () => {
    const store = storeOf('s3-resume');
    const uri = 's3://models/iris/1/model.onnx';
    // What a process killed halfway leaves: the first bytes under the download's key, and the ETag they came with.
    const partial = path.join(store.cacheDir, 'partial');
    mkdirSync(partial, { recursive: true });
    writeFileSync(path.join(partial, `${IRIS_SHA}.part`), IRIS_BYTES.subarray(0, 600));
    writeFileSync(path.join(partial, `${IRIS_SHA}.json`), JSON.stringify({ uri, validator: `"${createHash('md5').update(IRIS_BYTES).digest('hex')}"` }));
    const model = await store.fetch(uri, { sha256: IRIS_SHA, label: 'test' });
    assert.deepEqual({ downloads: store.stats.downloads, resumed: store.stats.resumed }, { downloads: 1, resumed: 1 });
    assert.ok(readFileSync(model.path).equals(IRIS_BYTES));
    assert.deepEqual(readdirSync(partial), []);
    model.release();
    store.close();
  });

  it('starts over instead of continuing bytes of another version of the S3 object', async () => {
    const store = storeOf('s3-changed');
    const uri = 's3://models/iris/1/model.onnx';
    const partial = path.join(store.cacheDir, 'partial');
    mkdirSync(partial, { recursive: true });
    writeFileSync(path.join(partial, `${IRIS_SHA}.part`), Buffer.alloc(600, 7));
    writeFileSync(path.join(partial, `${IRIS_SHA}.json`), JSON.stringify({ uri, validator: '"0123456789abcdef0123456789abcdef"' }));
    const model = await store.fetch(uri, { sha256: IRIS_SHA, label: 'test' });
    assert.equal(store.stats.resumed, 0);
    assert.ok(readFileSync(model.path).equals(IRIS_BYTES));
    model.release();
    store.close();
  });

  it('fails the load of a missing s3:// object, naming the node, the uri and the reason', async () => {
    const problems = await problemsOf(irisGraph('iris-s3-missing', 's3://models/iris/9/model.onnx', undefined), storeOf('s3-missing'));
    assert.equal(problems.length, 1);
    assert.match(problems[0] ?? '', /^spec\.nodes\[0\]\.model\.uri: node "clf": cannot fetch s3:\/\/models\/iris\/9\/model\.onnx: S3 NoSuchKey \(HTTP 404\)/);
  });

  it('loads an https:// model with the right sha256 through the extra CA, logging its progress', async () => {
    const store = storeOf('https');
    logs.length = 0;
    const graph = await loadGraphFile(irisGraph('iris-https', web.url('/iris.onnx'), IRIS_SHA), loader, { models: store });
    assert.equal(graph.models[0]?.sha256, IRIS_SHA);
    assert.deepEqual(readdirSync(path.join(store.cacheDir, 'sha256')), [IRIS_SHA]);
    assert.ok(logs.some((l) => l.includes(web.url('/iris.onnx')) && l.includes('(100 %)')), logs.join('\n'));
    await graph.close();
  });

  it('refuses an https:// server whose CA is not trusted', async () => {
    const problems = await problemsOf(irisGraph('iris-untrusted', web.url('/iris.onnx'), IRIS_SHA), storeOf('untrusted', { extraCa: undefined }));
    assert.match(problems[0] ?? '', /node "clf": cannot fetch https:\/\/127\.0\.0\.1:\d+\/iris\.onnx: .*(self[- ]signed|unable to (get|verify))/i);
  });

  it('refuses a wrong sha256 with both digests and caches nothing under the final name', async () => {
    const store = storeOf('mismatch');
    const wrong = 'a'.repeat(64);
    const problems = await problemsOf(irisGraph('iris-wrong', web.url('/iris.onnx'), wrong), store);
    assert.equal(problems.length, 1);
    assert.equal(problems[0], `spec.nodes[0].model.uri: node "clf": cannot fetch ${web.url('/iris.onnx')}: sha256 mismatch: expected ${wrong}, got ${IRIS_SHA} (${IRIS_BYTES.length} bytes)`);
    assert.deepEqual(readdirSync(path.join(store.cacheDir, 'sha256')), []);
    assert.deepEqual(readdirSync(path.join(store.cacheDir, 'partial')), []);
    assert.equal(existsSync(store.pathOf(wrong)), false);
  });

  it('refuses a download over MODEL_DOWNLOAD_MAX_BYTES and keeps nothing of it', async () => {
    const store = storeOf('too-big', { downloadMaxBytes: IRIS_BYTES.length - 1 });
    const problems = await problemsOf(irisGraph('iris-too-big', web.url('/iris.onnx'), IRIS_SHA), store);
    assert.match(problems[0] ?? '', new RegExp(`cannot fetch .*: the object is ${IRIS_BYTES.length} bytes, over MODEL_DOWNLOAD_MAX_BYTES \\(${IRIS_BYTES.length - 1}\\)`));
    assert.deepEqual(readdirSync(path.join(store.cacheDir, 'sha256')), []);
    assert.deepEqual(readdirSync(path.join(store.cacheDir, 'partial')).filter((f) => f.endsWith('.part') && readFileSync(path.join(store.cacheDir, 'partial', f)).length > 0), []);
  });

  it('refuses a plain http:// model unless configuration allows it, and then only on loopback', async () => {
    assert.match(storeOf('http').check('http://127.0.0.1:1/m.onnx') ?? '', /plain http:\/\/ models are refused \(MODEL_ALLOW_HTTP=true/);
    const allowed = storeOf('http-allowed', { allowHttp: true });
    assert.equal(allowed.check('http://127.0.0.1:1/m.onnx'), undefined);
    assert.match(allowed.check('http://models.example/m.onnx') ?? '', /allowed to loopback hosts only, not models\.example/);
    const problems = await problemsOf(irisGraph('iris-http', 'http://models.example/m.onnx', IRIS_SHA), storeOf('http-graph'));
    assert.match(problems[0] ?? '', /^spec\.nodes\[0\]\.model\.uri: plain http:\/\/ models are refused/);
  });

  it('resumes an interrupted download with a Range request and verifies the whole file', async () => {
    const store = storeOf('resume');
    web.cutNext = true;
    const before = web.seen.length;
    const graph = await loadGraphFile(irisGraph('iris-resume', web.url('/iris-again.onnx'), IRIS_SHA), loader, { models: store });
    const gets = web.seen.slice(before);
    assert.equal(gets.length, 2, JSON.stringify(gets));
    assert.equal(gets[0]?.range, undefined);
    assert.equal(gets[1]?.range, `bytes=${Math.floor(IRIS_BYTES.length / 2)}-`, logs.join('\n'));
    assert.equal(gets[1]?.ifRange, `"${IRIS_SHA.slice(0, 16)}"`);
    assert.equal(store.stats.resumed, 1);
    assert.equal(graph.models[0]?.sha256, IRIS_SHA);
    assert.deepEqual(await answer(graph), await answer(await loadGraphFile(irisGraph('iris-resume-file', IRIS, IRIS_SHA), loader)));
    await graph.close();
  });

  it('keeps the served version when the download of its replacement fails, and says why', async () => {
    const store = storeOf('replace');
    const errors: string[] = [];
    const registry = new GraphRegistry(loader, { log: () => undefined, warn: () => undefined, error: (m) => errors.push(m) }, { models: store });
    const file = irisGraph('iris-served', 's3://models/iris/1/model.onnx', IRIS_SHA);
    const served = await registry.loadFile(file);
    assert.equal(served.state, 'ready');
    // An edit pointing at a model whose bytes do not match: loaded beside the served one, which stays.
    const wrong = 'b'.repeat(64);
    irisGraph('iris-served', web.url('/iris.onnx'), wrong);
    const after = await registry.loadFile(file);
    assert.equal(after.graph, served.graph);
    assert.equal(registry.get('iris-served')?.state, 'ready');
    assert.equal(errors.length, 1);
    assert.ok((errors[0] ?? '').includes(`node "clf": cannot fetch ${web.url('/iris.onnx')}: sha256 mismatch: expected ${wrong}, got ${IRIS_SHA}`), errors[0]);
    assert.equal((await answer(after.graph as LoadedGraph)).length, 2);
    await registry.close();
    store.close();
  });

  it('downloads a uri once for two graphs loading it at the same time', async () => {
    const store = storeOf('shared');
    const before = web.gets('/iris.onnx').length;
    const [a, b] = await Promise.all([
      loadGraphFile(irisGraph('iris-shared-a', web.url('/iris.onnx'), IRIS_SHA), loader, { models: store }),
      loadGraphFile(irisGraph('iris-shared-b', web.url('/iris.onnx'), IRIS_SHA), loader, { models: store }),
    ]);
    assert.equal(web.gets('/iris.onnx').length - before, 1);
    assert.equal(store.stats.downloads, 1);
    assert.equal(a.models[0]?.path, b.models[0]?.path);
    await Promise.all([a.close(), b.close()]);
  });

  it('downloads once for two stores sharing a cache directory, as two processes would (the lock file)', async () => {
    const [first, second] = [storeOf('shared-dir'), storeOf('shared-dir')];
    const before = web.gets('/add.onnx').length;
    const [a, b] = await Promise.all([first, second].map((s) => s.fetch(web.url('/add.onnx'), { sha256: sha256(ADD_BYTES), label: 'test' })));
    assert.equal(web.gets('/add.onnx').length - before, 1);
    assert.equal(first.stats.downloads + second.stats.downloads, 1);
    assert.equal(a?.path, b?.path);
    a?.release();
    b?.release();
  });

  it('evicts the least recently used entries past the limit, never one a loaded graph holds', async () => {
    const limit = IRIS_BYTES.length + Math.max(ADD_BYTES.length, DTYPES_BYTES.length) + 100;
    const store = storeOf('evict', { cacheMaxBytes: limit });
    const graph = await loadGraphFile(irisGraph('iris-held', web.url('/iris.onnx'), IRIS_SHA), loader, { models: store });
    const add = await store.fetch(web.url('/add.onnx'), { sha256: sha256(ADD_BYTES), label: 'test' });
    add.release();
    // iris is the least recently used entry, but the graph holds it: add goes instead.
    const dtypes = await store.fetch(web.url('/dtypes.onnx'), { sha256: sha256(DTYPES_BYTES), label: 'test' });
    dtypes.release();
    assert.deepEqual(readdirSync(path.join(store.cacheDir, 'sha256')).sort(), [IRIS_SHA, sha256(DTYPES_BYTES)].sort());
    // Once the graph is closed, iris is the oldest entry nobody holds.
    await graph.close();
    (await store.fetch(web.url('/add.onnx'), { sha256: sha256(ADD_BYTES), label: 'test' })).release();
    assert.deepEqual(readdirSync(path.join(store.cacheDir, 'sha256')).sort(), [sha256(ADD_BYTES), sha256(DTYPES_BYTES)].sort());
    assert.equal(store.stats.evicted, 2);
  });
});
