import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import * as ort from 'onnxruntime-node';
import type { TensorMap } from '@infergraph/protocol';
import { OnnxModelLoader, ORT_TYPE_OF, openOrtSession, type OrtFeeds, type OrtSessionHandle } from '@infergraph/runtime-onnx';
import { repoPath } from '../support/repo';
import { feedsFor, plain } from '../support/model-feeds';

// Integration, real onnxruntime: sessions opened through onnxruntime-node's native binding (one synchronous
// call per run, which the loader queues per event-loop turn) against sessions opened through its public API,
// for every model in the repository. Same signature, same outputs, same refusals; and a loader session
// answering many calls in flight gives each its own outputs.

const models = execFileSync('git', ['ls-files', '*.onnx'], { cwd: repoPath(), encoding: 'utf8' }).split('\n').filter((f) => f !== '');
const CPU: ort.InferenceSession.SessionOptions = { executionProviders: ['cpu'], graphOptimizationLevel: 'all' };

function ortFeeds(feeds: TensorMap): OrtFeeds {
  const out: OrtFeeds = {};
  for (const t of feeds.values()) out[t.name] = new ort.Tensor(ORT_TYPE_OF[t.datatype] as ort.Tensor.Type, t.data, t.shape);
  return out;
}

function plainResults(results: Record<string, ort.OnnxValue>): unknown {
  return Object.entries(results).map(([name, v]) => ({ name, type: v.type, dims: [...v.dims], data: Array.from(v.data as ArrayLike<unknown>) }));
}

describe('onnxruntime sessions through the native binding', () => {
  const opened: OrtSessionHandle[] = [];
  after(() => Promise.all(opened.map((s) => s.release())));
  const open = async (file: string, nativeBinding: boolean): Promise<OrtSessionHandle> => {
    const s = await openOrtSession(new Uint8Array(readFileSync(repoPath(file))), CPU, { nativeBinding });
    opened.push(s);
    return s;
  };

  it('finds models to compare', () => assert.ok(models.length >= 6, models.join(', ')));

  for (const file of models) {
    it(`describes and runs ${file} as the public API does`, async () => {
      const native = await open(file, true);
      const viaPublic = await open(file, false);
      assert.equal(typeof native.runNow, 'function', 'this onnxruntime-node has the native binding: runs are synchronous calls');
      assert.equal(viaPublic.runNow, undefined);
      assert.deepEqual(native.inputMetadata, viaPublic.inputMetadata);
      assert.deepEqual(native.outputMetadata, viaPublic.outputMetadata);
      assert.deepEqual(native.outputNames, viaPublic.outputNames);
      const inputs = native.inputMetadata.map((m) => {
        assert.ok(m.isTensor);
        const datatype = Object.entries(ORT_TYPE_OF).find(([, t]) => t === m.type)?.[0];
        return { name: m.name, datatype: datatype as keyof typeof ORT_TYPE_OF, shape: m.shape.map((d) => (typeof d === 'number' ? d : -1)) };
      });
      for (const rows of [1, 4]) {
        const feeds = feedsFor(inputs, rows);
        assert.deepEqual(plainResults(await native.run(ortFeeds(feeds))), plainResults(await viaPublic.run(ortFeeds(feeds))), `${rows} row(s)`);
      }
    });
  }

  it('refuses feeds that miss an input or name an unknown one, naming it, where the public API does too', async () => {
    const native = await open('models/iris-logreg/1/model.onnx', true);
    const runNow = native.runNow as NonNullable<OrtSessionHandle['runNow']>;
    const input = new ort.Tensor('float32', new Float32Array(4), [1, 4]);
    assert.throws(() => runNow({}), /input 'input' is missing from the feeds/);
    assert.throws(() => runNow({ input, extra: input }), /'extra' is not an input of this model \(inputs: input\)/);
    assert.throws(() => runNow({ features: input }), /'features' is not an input of this model/);
    assert.throws(() => runNow({ input: new ort.Tensor('float32', new Float32Array(5), [1, 5]) }), /invalid dimensions for input: input/);
    // Still serving after each refusal.
    assert.equal((runNow({ input }) as Record<string, ort.Tensor>)['probabilities']?.dims.join('x'), '1x3');
  });

  it('releases once, and a run after release fails instead of crashing', async () => {
    const native = await openOrtSession(new Uint8Array(readFileSync(repoPath('models/iris-logreg/1/model.onnx'))), CPU);
    await native.release();
    await native.release();
    await assert.rejects(native.run({ input: new ort.Tensor('float32', new Float32Array(4), [1, 4]) }), /disposed/);
  });

  it('fails to open bytes that are not a model, with onnxruntime\'s reason', async () => {
    await assert.rejects(openOrtSession(new Uint8Array([1, 2, 3]), CPU), /protobuf parsing failed/);
  });
});

describe('a loader session answering many calls in flight through its run queue', () => {
  const loader = new OnnxModelLoader();
  after(() => loader.close());

  for (const file of ['models/iris-logreg/1/model.onnx', 'models/digits-mlp/1/model.onnx']) {
    it(`gives each of 300 calls in one turn its own outputs (${file})`, async () => {
      const bytes = new Uint8Array(readFileSync(repoPath(file)));
      const session = await loader.load(file, bytes, {});
      const reference = await openOrtSession(bytes, CPU, { nativeBinding: false });
      try {
        const calls = Array.from({ length: 300 }, (_, i) => feedsFor(session.inputs, 1 + (i % 7)));
        const answers = await Promise.all(calls.map((feeds) => session.run(feeds)));
        for (let i = 0; i < calls.length; i++) {
          const expected = await reference.run(ortFeeds(calls[i] as TensorMap));
          const got = plain(answers[i] as TensorMap) as { name: string; data: unknown[] }[];
          assert.deepEqual(
            got.map((t) => [t.name, t.data]),
            Object.entries(expected).map(([name, v]) => [name, Array.from((v).data as ArrayLike<unknown>)]),
            `call ${i}`,
          );
        }
      } finally {
        await reference.release();
        await loader.release(session);
      }
    });
  }
});
