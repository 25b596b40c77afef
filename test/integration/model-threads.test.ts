import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import type { TensorMap } from '@infergraph/protocol';
import { ModelThreads, OnnxModelLoader, type ThreadedModelSession } from '@infergraph/runtime-onnx';
import { LOWERED_NICE, priorityIsRestorable, threadNiceValues } from '@infergraph/threads';
import { repoPath } from '../support/repo';
import { feedsFor, plain } from '../support/model-feeds';


// Integration: onnxruntime sessions held in model threads (MODEL_THREADS on workers) against sessions on the
// caller's thread, for every model in the repository, with real onnxruntime in real worker threads. A thread
// must give the same outputs, keep the caller's event loop turning while it opens a model, and when it dies,
// fail what it held with its reason and say so once.

const models = execFileSync('git', ['ls-files', '*.onnx'], { cwd: repoPath(), encoding: 'utf8' }).split('\n').filter((f) => f !== '');

describe('model sessions in model threads', () => {
  const onLoop = new OnnxModelLoader();
  const threaded = new OnnxModelLoader({ modelThreads: 4 });
  after(() => Promise.all([onLoop.close(), threaded.close()]));

  it('finds models to compare', () => assert.ok(models.length >= 6, models.join(', ')));

  for (const file of models) {
    it(`gives the outputs of a session on the caller's thread for ${file}`, async () => {
      const bytes = readFileSync(repoPath(file));
      const local = await onLoop.load(file, bytes, {});
      const remote = (await threaded.load(file, bytes, {})) as ThreadedModelSession;
      assert.ok(remote.threadId > 0, 'the session is held by a worker thread, not the main thread');
      assert.deepEqual(remote.inputs, local.inputs);
      assert.deepEqual(remote.outputs, local.outputs);
      assert.equal(remote.provider, 'cpu');
      for (const rows of [1, 3]) {
        const feeds = feedsFor(local.inputs, rows);
        assert.deepEqual(plain(await remote.run(feeds)), plain(await local.run(feeds)), `${rows} row(s)`);
      }
      // The caller's tensors are copied to the thread, not taken: they are still whole after the run.
      const feeds = feedsFor(local.inputs, 2);
      await remote.run(feeds);
      for (const t of feeds.values()) assert.equal(t.data.length, t.shape.reduce((a, b) => a * b, 1));
    });
  }

  it('moves a model file read whole into its thread rather than copying it on the event loop', async () => {
    const file = 'models/digits-mlp/1/model.onnx';
    const bytes = new Uint8Array(await readFile(repoPath(file)));
    const size = bytes.byteLength;
    assert.ok(size > 4_000_000);
    const session = await threaded.load(`moved:${file}`, bytes, {});
    assert.equal(bytes.byteLength, 0, 'the caller\'s buffer was handed over (detached), not copied');
    assert.deepEqual(session.inputs.map((t) => t.name), ['input']);
    // A view of part of a larger buffer cannot move without taking the rest: it is copied.
    const whole = readFileSync(repoPath(file));
    const padded = new Uint8Array(whole.byteLength + 16);
    padded.set(whole, 8);
    const part = padded.subarray(8, 8 + whole.byteLength);
    await threaded.load(`copied:${file}`, part, {});
    assert.equal(part.byteLength, whole.byteLength, 'a partial view stays with the caller');
  });

  it('answers many calls in flight at once, each with its own outputs', async () => {
    const file = 'models/iris-logreg/1/model.onnx';
    const bytes = readFileSync(repoPath(file));
    const local = await onLoop.load(file, bytes, {});
    const remote = await threaded.load(file, bytes, {});
    const calls = Array.from({ length: 200 }, (_, i) => feedsFor(local.inputs, 1 + (i % 5)));
    const answers = await Promise.all(calls.map((feeds) => remote.run(feeds)));
    for (let i = 0; i < calls.length; i++) assert.deepEqual(plain(answers[i] as TensorMap), plain(await local.run(calls[i] as TensorMap)), `call ${i}`);
  });

  it('gives each session a thread of its own up to the limit, then shares the least used, and frees them on release', async () => {
    const loader = new OnnxModelLoader({ modelThreads: 2 });
    try {
      const files = ['models/iris-logreg/1/model.onnx', 'models/iris-mlp/1/model.onnx', 'models/iris-rf/1/model.onnx'];
      const sessions = [];
      for (const file of files) sessions.push(await loader.load(file, readFileSync(repoPath(file)), {}));
      const ids = sessions.map((s) => (s as ThreadedModelSession).threadId);
      assert.notEqual(ids[0], ids[1], 'the first two sessions have threads of their own');
      assert.equal(new Set(ids).size, 2, `two threads at most: ${ids.join(', ')}`);
      assert.deepEqual(loader.threadStats().map((t) => t.sessions).sort(), [1, 2]);
      for (const s of sessions) await loader.release(s);
      assert.deepEqual(loader.threadStats().map((t) => t.sessions), [0, 0]);
    } finally {
      await loader.close();
    }
  });

  it('starts its threads with the loader, and opens a new model beside the sessions that ran least lately', async () => {
    const loader = new OnnxModelLoader({ modelThreads: 2 });
    try {
      // Started before any model opens: no thread start-up while models load.
      assert.deepEqual(loader.threadStats().map((t) => t.sessions), [0, 0]);
      const open = async (file: string): Promise<ThreadedModelSession> => (await loader.load(file, readFileSync(repoPath(file)), {})) as ThreadedModelSession;
      const busy = await open('models/iris-logreg/1/model.onnx');
      const quiet = await open('models/iris-mlp/1/model.onnx');
      assert.notEqual(busy.threadId, quiet.threadId);
      for (let i = 0; i < 20; i++) await busy.run(feedsFor(busy.inputs, 1));
      // Opening blocks a thread's runs: the next model goes beside the quiet session, away from the busy one.
      const third = await open('models/iris-rf/1/model.onnx');
      assert.equal(third.threadId, quiet.threadId, 'opened beside the quiet session');
      // Recent runs count before sessions: the busy thread holds one session, the quiet one two, and the next
      // model still goes to the quiet one.
      for (let i = 0; i < 20; i++) await busy.run(feedsFor(busy.inputs, 1));
      const fourth = await open('models/iris-logreg-core/1/model.onnx');
      assert.equal(fourth.threadId, quiet.threadId, 'opened on the thread that ran least, though it holds more sessions');
      assert.deepEqual(loader.threadStats().map((t) => t.sessions).sort(), [1, 3]);
      for (const s of [busy, quiet, third, fourth]) await loader.release(s);
    } finally {
      await loader.close();
    }
  });

  it('with threadsFor while-serving, opens on the caller\'s thread while nothing is served and in a model thread once calls come', async () => {
    const loader = new OnnxModelLoader({ modelThreads: 2, threadsFor: 'while-serving' });
    try {
      let serving = false;
      loader.servingWhen(() => serving);
      const quiet = await loader.load('iris-logreg', readFileSync(repoPath('models', 'iris-logreg', '1', 'model.onnx')), {});
      assert.equal((quiet as Partial<ThreadedModelSession>).threadId, undefined, 'opened while idle: on the caller\'s thread');
      assert.equal(loader.opensOffLoop, false);
      assert.deepEqual(loader.threadStats().map((t) => t.sessions), [0, 0]);
      serving = true;
      assert.equal(loader.opensOffLoop, true);
      // The view a worker hands to GPU and CPU nodes follows the same switch.
      assert.equal(loader.preferring(false).opensOffLoop, true);
      const busy = (await loader.load('iris-mlp', readFileSync(repoPath('models', 'iris-mlp', '1', 'model.onnx')), {})) as ThreadedModelSession;
      assert.ok(busy.threadId > 0, 'opened while serving: in a model thread');
      assert.deepEqual(loader.threadStats().map((t) => t.sessions).sort(), [0, 1]);
      // Both answer like sessions on the caller's thread.
      const reference = new OnnxModelLoader();
      try {
        const mlp = await reference.load('iris-mlp', readFileSync(repoPath('models', 'iris-mlp', '1', 'model.onnx')), {});
        const feeds = feedsFor(mlp.inputs, 3);
        assert.deepEqual(plain(await busy.run(feeds)), plain(await mlp.run(feeds)));
        assert.equal((await quiet.run(feedsFor(quiet.inputs, 2))).size, quiet.outputs.length);
      } finally {
        await reference.close();
      }
      await loader.release(quiet);
      await loader.release(busy);
    } finally {
      await loader.close();
    }
  });

  it('with threadsFor large, holds the sessions of models from largeModelBytes up in a model thread and runs smaller ones on the caller\'s thread', async () => {
    const digitsBytes = readFileSync(repoPath('models', 'digits-mlp', '1', 'model.onnx'));
    const irisBytes = readFileSync(repoPath('models', 'iris-logreg', '1', 'model.onnx'));
    const loader = new OnnxModelLoader({ modelThreads: 1, threadsFor: 'large', largeModelBytes: 1024 * 1024 });
    const reference = new OnnxModelLoader();
    try {
      // Some models go to the thread, not all: loads still take their turn on the caller's loop.
      assert.equal(loader.opensOffLoop, false);
      const iris = await loader.load('iris-logreg', new Uint8Array(irisBytes), {});
      assert.equal((iris as Partial<ThreadedModelSession>).threadId, undefined, `a ${irisBytes.length}-byte model runs on the caller's thread`);
      assert.deepEqual(loader.threadStats().map((t) => t.sessions), [0]);
      const digits = (await loader.load('digits-mlp', new Uint8Array(digitsBytes), {})) as ThreadedModelSession;
      assert.ok(digits.threadId > 0, `a ${digitsBytes.length}-byte model runs in a model thread`);
      assert.deepEqual(loader.threadStats().map((t) => t.sessions), [1]);
      const digitsOnLoop = await reference.load('digits-mlp', new Uint8Array(digitsBytes), {});
      const feeds = feedsFor(digitsOnLoop.inputs, 4);
      assert.deepEqual(plain(await digits.run(feeds)), plain(await digitsOnLoop.run(feeds)));
      // The bound is the model's size: with it above the digits MLP, that model stays on the caller's thread.
      const higher = new OnnxModelLoader({ modelThreads: 1, threadsFor: 'large', largeModelBytes: digitsBytes.length + 1 });
      try {
        const kept = await higher.load('digits-mlp', new Uint8Array(digitsBytes), {});
        assert.equal((kept as Partial<ThreadedModelSession>).threadId, undefined);
        assert.deepEqual(higher.threadStats().map((t) => t.sessions), [0]);
      } finally {
        await higher.close();
      }
      await loader.release(digits);
      assert.deepEqual(loader.threadStats().map((t) => t.sessions), [0]);
    } finally {
      await reference.close();
      await loader.close();
    }
  });

  it('opens at low priority and leaves no thread low after, onnxruntime\'s intra-op threads included', { skip: !priorityIsRestorable() && 'this process may not raise a thread\'s priority back (no CAP_SYS_NICE)' }, async () => {
    const loader = new OnnxModelLoader({ modelThreads: 1 });
    try {
      const before = threadNiceValues();
      // Two intra-op threads: onnxruntime starts a pool thread with the session, which inherits the opener's priority.
      const opening = loader.load('digits-2', readFileSync(repoPath('models', 'digits-mlp', '1', 'model.onnx')), { intraOpThreads: 2 });
      // While it opens, this event loop is free: it watches the process's threads for one at the lowered priority.
      let opened = false;
      let sawLowered = false;
      void opening.finally(() => (opened = true));
      while (!opened) {
        if ([...threadNiceValues().values()].includes(LOWERED_NICE)) sawLowered = true;
        await new Promise((r) => setImmediate(r));
      }
      const session = await opening;
      assert.ok(sawLowered, 'a thread ran at the lowered priority while the model opened');
      const after = threadNiceValues();
      const started = [...after].filter(([tid]) => !before.has(tid));
      assert.ok(started.length >= 1, 'the open started onnxruntime threads');
      assert.deepEqual(
        [...after].filter(([, nice]) => nice === LOWERED_NICE),
        [],
        `no thread left at the lowered priority: ${JSON.stringify([...after])}`,
      );
      for (const [tid, nice] of started) assert.equal(nice, 0, `thread ${tid} started by the open runs at the normal priority`);
      assert.equal((await session.run(feedsFor(session.inputs, 1))).size, session.outputs.length);
    } finally {
      await loader.close();
    }
  });

  it('keeps the caller\'s event loop turning while a 4.5 MB model opens', async () => {
    const loader = new OnnxModelLoader({ modelThreads: 1 });
    try {
      let turns = 0;
      let turning = true;
      const tick = (): void => {
        turns++;
        if (turning) setImmediate(tick);
      };
      setImmediate(tick);
      const before = turns;
      await loader.load('digits', readFileSync(repoPath('models', 'digits-mlp', '1', 'model.onnx')), {});
      turning = false;
      // On the caller's thread the whole creation is one synchronous call: the loop would turn once or twice.
      assert.ok(turns - before >= 10, `the loop turned ${turns - before} times while the model opened`);
    } finally {
      await loader.close();
    }
  });

  it('refuses a model it cannot load, and a run with a wrong input, with onnxruntime\'s reason, and goes on serving', async () => {
    const loader = new OnnxModelLoader({ modelThreads: 1 });
    try {
      await assert.rejects(loader.load('junk', Buffer.from('not a model'), {}), /protobuf|parse|model/i);
      const file = 'models/iris-logreg/1/model.onnx';
      const session = await loader.load(file, readFileSync(repoPath(file)), {});
      await assert.rejects(session.run(new Map([['nope', { name: 'nope', datatype: 'FP32', shape: [1, 4], data: new Float32Array(4) }]])), /input 'input' is missing|nope/);
      const answer = await session.run(feedsFor(session.inputs, 2));
      assert.deepEqual([...answer.keys()].sort(), ['label', 'probabilities']);
    } finally {
      await loader.close();
    }
  });

  it('fails the calls of a thread that dies with its reason, says so once, and fails later calls at once', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'infergraph-model-thread-'));
    // A thread that opens sessions (answers with a signature) and exits with code 3 on the first run.
    const script = path.join(dir, 'dying.js');
    writeFileSync(
      script,
      `const { parentPort, threadId } = require('node:worker_threads');
       parentPort.on('message', (batch) => {
         for (const r of batch) {
           if (r.op === 'open') parentPort.postMessage([{ id: r.id, opened: { inputs: [], outputs: [], provider: 'cpu', threadId } }]);
           if (r.op === 'run') process.exit(3);
         }
       });`,
    );
    const exits: string[] = [];
    const threads = new ModelThreads({ maxThreads: 1, threadFile: script, onThreadExit: (why) => exits.push(why) });
    try {
      const session = await threads.open(new Uint8Array(8), {}, false);
      await assert.rejects(session.run(new Map()), /model thread \d+ exited with code 3/);
      assert.equal(exits.length, 1);
      assert.match(exits[0] as string, /exited with code 3; the 1 model session\(s\) it held are gone/);
      await assert.rejects(session.run(new Map()), /exited with code 3/);
      assert.deepEqual(threads.stats(), []);
    } finally {
      await threads.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
