import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RequestLifetime, createRequestContext, signalEnd, type RequestContext } from '@infergraph/executor';
import { InferenceError, isBatchQueueFull, type Tensor, type TensorMap } from '@infergraph/protocol';
import { DynamicBatcher, type BatchResult, type BatchingConfig } from './dynamic.batcher';

// Pure-logic unit test: the model session is a fake that records each run and answers row by row.

const CONFIG: BatchingConfig = { maxBatchSize: 8, maxQueueDelayMicros: 2000, preferredBatchSizes: [], maxQueueSize: 64 };

const tensor = (name: string, datatype: Tensor['datatype'], shape: number[], data: Tensor['data']): Tensor => ({ name, datatype, shape, data });
const map = (...tensors: Tensor[]): TensorMap => new Map(tensors.map((t) => [t.name, t]));
const fp32 = (rows: number[][]): TensorMap => map(tensor('x', 'FP32', [rows.length, rows[0]?.length ?? 2], Float32Array.from(rows.flat())));

/** Doubles numeric inputs, upper-cases strings and negates booleans, as outputs named "<input>_out". */
function answer(feeds: TensorMap): TensorMap {
  const out = new Map<string, Tensor>();
  for (const t of feeds.values()) {
    let data: Tensor['data'];
    if (Array.isArray(t.data)) data = (t.data as readonly string[]).map((s) => s.toUpperCase());
    else if (t.datatype === 'BOOL') data = (t.data as Uint8Array).map((b) => (b === 0 ? 1 : 0));
    else if (t.data instanceof BigInt64Array) data = t.data.map((v) => v * 2n);
    else data = (t.data as Float32Array).map((v) => v * 2);
    out.set(`${t.name}_out`, { name: `${t.name}_out`, datatype: t.datatype, shape: t.shape, data });
  }
  return out;
}

interface FakeSession {
  readonly runs: TensorMap[];
  run(feeds: TensorMap): Promise<TensorMap>;
  /** Holds every run until release() (to keep the batcher busy while requests queue). */
  hold(): void;
  release(): void;
}

function fakeSession(respond: (feeds: TensorMap) => TensorMap = answer): FakeSession {
  let gate: Promise<void> | undefined;
  let open: (() => void) | undefined;
  const runs: TensorMap[] = [];
  return {
    runs,
    async run(feeds) {
      runs.push(feeds);
      if (gate !== undefined) await gate;
      return respond(feeds);
    },
    hold() {
      gate = new Promise((resolve) => (open = resolve));
    },
    release() {
      gate = undefined;
      open?.();
    },
  };
}

function batcher(session: FakeSession, config: Partial<BatchingConfig> = {}, onBatch?: (r: BatchResult) => void): DynamicBatcher {
  return new DynamicBatcher('demo', 'clf', { ...CONFIG, ...config }, (feeds) => session.run(feeds), onBatch);
}

const rowsRun = (session: FakeSession): number[] => session.runs.map((r) => [...r.values()][0]?.shape[0] ?? -1);

describe('dynamic batcher', () => {
  it('stacks concurrent requests of every datatype into one run and hands each request its own rows', async () => {
    const session = fakeSession();
    const b = batcher(session, { maxBatchSize: 6 });
    const request = (rows: number, seed: number): TensorMap =>
      map(
        tensor('f', 'FP32', [rows, 2], Float32Array.from({ length: rows * 2 }, (_, i) => seed + i / 10)),
        tensor('h', 'FP16', [rows, 1], Uint16Array.from({ length: rows }, (_, i) => seed + i)),
        tensor('i', 'INT64', [rows], BigInt64Array.from({ length: rows }, (_, i) => BigInt(seed * 100 + i))),
        tensor('b', 'BOOL', [rows, 2], Uint8Array.from({ length: rows * 2 }, (_, i) => (seed + i) % 2)),
        tensor('s', 'BYTES', [rows, 1], Array.from({ length: rows }, (_, i) => `r${seed}-${i}`)),
      );
    const inputs = [request(1, 1), request(2, 2), request(3, 3)];
    const outputs = await Promise.all(inputs.map((i) => b.submit(i)));
    assert.deepEqual(rowsRun(session), [6], 'one run of 1 + 2 + 3 rows');
    outputs.forEach((out, k) => {
      const expected = answer(inputs[k] as TensorMap);
      assert.deepEqual([...out.keys()], [...expected.keys()]);
      for (const [name, t] of expected) {
        const got = out.get(name) as Tensor;
        assert.deepEqual(got.shape, t.shape, `request ${k} ${name} shape`);
        assert.equal(got.datatype, t.datatype);
        assert.deepEqual(Array.from(got.data as ArrayLike<unknown>), Array.from(t.data as ArrayLike<unknown>), `request ${k} ${name} values`);
        assert.equal(got.data.constructor, t.data.constructor, `request ${k} ${name} keeps its array type`);
      }
    });
    const stacked = session.runs[0] as TensorMap;
    assert.ok(stacked.get('i')?.data instanceof BigInt64Array);
    assert.deepEqual(stacked.get('s')?.data, ['r1-0', 'r2-0', 'r2-1', 'r3-0', 'r3-1', 'r3-2']);
  });

  it('runs as soon as queued rows reach maxBatchSize, without waiting for the delay', async () => {
    const session = fakeSession();
    const b = batcher(session, { maxBatchSize: 4, maxQueueDelayMicros: 10_000_000 });
    const started = performance.now();
    await Promise.all([b.submit(fp32([[1, 1]])), b.submit(fp32([[2, 2], [3, 3]])), b.submit(fp32([[4, 4]]))]);
    assert.ok(performance.now() - started < 1000, 'did not wait for the 10 s delay');
    assert.deepEqual(rowsRun(session), [4]);
  });

  it('never splits a request: one larger than maxBatchSize runs alone, and batches stay within the limit', async () => {
    const session = fakeSession();
    const b = batcher(session, { maxBatchSize: 4, maxQueueDelayMicros: 0 });
    session.hold();
    const first = b.submit(fp32([[0, 0]]));
    await new Promise((r) => setImmediate(r));
    const rest = [fp32([[1, 1], [1, 1], [1, 1]]), fp32([[2, 2], [2, 2]]), fp32(Array.from({ length: 6 }, () => [3, 3])), fp32([[4, 4]])].map((i) => b.submit(i));
    session.release();
    const outs = await Promise.all([first, ...rest]);
    assert.deepEqual(rowsRun(session), [1, 4, 2, 6], 'head first, then 3 + 1 rows (the 2-row request waits: it would overflow), then each alone');
    assert.deepEqual(outs.map((o) => o.get('x_out')?.shape[0]), [1, 3, 2, 6, 1]);
    assert.deepEqual(Array.from(outs[4]?.get('x_out')?.data as Float32Array), [8, 8]);
  });

  it('runs alone a request whose tensors disagree on the first dimension', async () => {
    const session = fakeSession();
    const b = batcher(session, { maxBatchSize: 8, maxQueueDelayMicros: 5000 });
    const odd = map(tensor('x', 'FP32', [2, 1], Float32Array.of(1, 2)), tensor('y', 'FP32', [1, 1], Float32Array.of(3)));
    const even = map(tensor('x', 'FP32', [1, 1], Float32Array.of(4)), tensor('y', 'FP32', [1, 1], Float32Array.of(5)));
    const outs = await Promise.all([b.submit(even), b.submit(odd), b.submit(even)]);
    assert.deepEqual(session.runs.map((r) => [r.get('x')?.shape[0], r.get('y')?.shape[0]]), [[2, 2], [2, 1]], 'the two others together, then the odd request alone');
    assert.deepEqual(Array.from(outs[1]?.get('y_out')?.data as Float32Array), [6]);
  });

  it('runs a preferred batch size at once rather than waiting for the delay', async () => {
    const session = fakeSession();
    const b = batcher(session, { maxBatchSize: 16, preferredBatchSizes: [2, 4], maxQueueDelayMicros: 10_000_000 });
    const started = performance.now();
    await Promise.all([b.submit(fp32([[1, 1]])), b.submit(fp32([[2, 2]]))]);
    assert.ok(performance.now() - started < 1000, 'did not wait for the 10 s delay');
    assert.deepEqual(rowsRun(session), [2]);
  });

  it('prefers the largest preferred size the queued requests reach, and lets the rest wait for the delay', async () => {
    const session = fakeSession();
    const b = batcher(session, { maxBatchSize: 16, preferredBatchSizes: [2, 4], maxQueueDelayMicros: 30_000 });
    session.hold();
    const firstTwo = [b.submit(fp32([[0, 0]])), b.submit(fp32([[0, 0]]))];
    // Queued while that run is busy: 5 single rows; 4 run together (the largest preferred size), the 5th waits.
    const rest = [1, 2, 3, 4, 5].map((v) => b.submit(fp32([[v, v]])));
    session.release();
    await Promise.all([...firstTwo, ...rest]);
    assert.deepEqual(rowsRun(session), [2, 4, 1]);
  });

  it('flushes a partial batch once the oldest request has waited maxQueueDelayMicros', async () => {
    const session = fakeSession();
    const b = batcher(session, { maxBatchSize: 8, maxQueueDelayMicros: 30_000 });
    const started = performance.now();
    const outs = await Promise.all([b.submit(fp32([[1, 2]])), b.submit(fp32([[3, 4]])), b.submit(fp32([[5, 6]]))]);
    const waited = performance.now() - started;
    assert.ok(waited >= 29, `waited ${waited.toFixed(1)} ms, less than the 30 ms delay`);
    assert.deepEqual(rowsRun(session), [3]);
    assert.deepEqual(outs.map((o) => Array.from(o.get('x_out')?.data as Float32Array)), [[2, 4], [6, 8], [10, 12]]);
  });

  it('runs a lone request after a sub-millisecond delay', async () => {
    const session = fakeSession();
    const b = batcher(session, { maxQueueDelayMicros: 200 });
    const out = await b.submit(fp32([[1, 2]]));
    assert.deepEqual(Array.from(out.get('x_out')?.data as Float32Array), [2, 4]);
    assert.deepEqual(rowsRun(session), [1]);
  });

  it('refuses a request with 503 UNAVAILABLE naming graph, node and limit when maxQueueSize requests wait', async () => {
    const session = fakeSession();
    const b = batcher(session, { maxBatchSize: 8, maxQueueSize: 2, maxQueueDelayMicros: 0 });
    session.hold();
    const running = b.submit(fp32([[0, 0]]));
    await new Promise((r) => setImmediate(r));
    const queued = [b.submit(fp32([[1, 1]])), b.submit(fp32([[2, 2]]))];
    await assert.rejects(b.submit(fp32([[3, 3]])), (err: unknown) => {
      assert.ok(err instanceof InferenceError);
      assert.equal(err.code, 'UNAVAILABLE');
      assert.equal(err.httpStatus, 503);
      assert.equal(err.message, 'graph "demo" node "clf": batch queue is full (maxQueueSize 2 requests); retry later');
      assert.ok(isBatchQueueFull(err));
      assert.ok(!isBatchQueueFull(new InferenceError('UNAVAILABLE', err.message)), 'recognised by its details, never by its text');
      return true;
    });
    session.release();
    await Promise.all([running, ...queued]);
    assert.deepEqual(rowsRun(session), [1, 2]);
    assert.equal(b.stats().rejected, 1);
    await b.submit(fp32([[4, 4]]));
  });

  it('removes and rejects a request whose signal fires while it waits, and runs the others', async () => {
    const session = fakeSession();
    const b = batcher(session, { maxBatchSize: 8, maxQueueDelayMicros: 20_000 });
    const controller = new AbortController();
    const cancelled = b.submit(fp32([[1, 1]]), signalEnd(controller.signal));
    const kept = b.submit(fp32([[2, 2]]));
    controller.abort();
    await assert.rejects(cancelled, (err: unknown) => err instanceof InferenceError && err.code === 'DEADLINE_EXCEEDED' && /node "clf": request was cancelled after waiting [\d.]+ ms in the batch queue/.test(err.message));
    const out = await kept;
    assert.deepEqual(Array.from(out.get('x_out')?.data as Float32Array), [4, 4]);
    assert.deepEqual(rowsRun(session), [1]);
    assert.equal(b.stats().cancelled, 1);
    assert.equal(b.stats().queued, 0);
  });

  it('follows a request lifetime without making its AbortSignal, and stops following once the batch runs', async () => {
    const session = fakeSession();
    const b = batcher(session, { maxBatchSize: 8, maxQueueDelayMicros: 20_000 });
    const ending = new RequestLifetime();
    const finishing = new RequestLifetime();
    const cancelled = b.submit(fp32([[1, 1]]), ending);
    const kept = b.submit(fp32([[2, 2]]), finishing);
    ending.end(new InferenceError('UNAVAILABLE', 'another branch failed'));
    await assert.rejects(cancelled, (err: unknown) => err instanceof InferenceError && err.code === 'UNAVAILABLE' && err.message === 'another branch failed');
    assert.deepEqual(Array.from((await kept).get('x_out')?.data as Float32Array), [4, 4]);
    finishing.end(); // after its batch ran: nothing left to cancel
    assert.deepEqual(b.stats().cancelled, 1);
    assert.equal((ending as unknown as { controller: unknown }).controller, undefined, 'no AbortController was made');
  });

  it('drops a request whose deadline passed while it waited behind a busy batch', async () => {
    const session = fakeSession();
    const b = batcher(session, { maxBatchSize: 8, maxQueueDelayMicros: 0 });
    session.hold();
    const running = b.submit(fp32([[0, 0]]));
    await new Promise((r) => setImmediate(r));
    const late = b.submit(fp32([[1, 1]]), undefined, performance.now() + 5);
    const onTime = b.submit(fp32([[2, 2]]), undefined, performance.now() + 60_000);
    await new Promise((r) => setTimeout(r, 20));
    session.release();
    await assert.rejects(late, (err: unknown) => err instanceof InferenceError && err.code === 'DEADLINE_EXCEEDED' && /node "clf": deadline passed after [\d.]+ ms in the batch queue/.test(err.message));
    await Promise.all([running, onTime]);
    assert.deepEqual(rowsRun(session), [1, 1]);
    assert.equal(b.stats().cancelled, 1);
  });

  it('rejects a request whose signal already fired without queueing it', async () => {
    const session = fakeSession();
    const b = batcher(session);
    await assert.rejects(b.submit(fp32([[1, 1]]), signalEnd(AbortSignal.abort())), /cancelled/);
    assert.equal(session.runs.length, 0);
  });

  it('fails the whole batch with INTERNAL when an output is not batch-aligned', async () => {
    const session = fakeSession(() => map(tensor('y', 'FP32', [1, 2], Float32Array.of(0, 0))));
    const b = batcher(session, { maxBatchSize: 2 });
    const results = await Promise.allSettled([b.submit(fp32([[1, 1]])), b.submit(fp32([[2, 2]]))]);
    for (const r of results) {
      assert.equal(r.status, 'rejected');
      const err = r.reason as InferenceError;
      assert.equal(err.code, 'INTERNAL');
      assert.match(err.message, /graph "demo" node "clf": batched run of 2 requests \(2 rows\) returned output "y" with shape \[1, 2\]; its first dimension must be 2/);
    }
  });

  it('never mixes requests whose other dimensions or datatypes differ', async () => {
    const session = fakeSession();
    const b = batcher(session, { maxBatchSize: 8, maxQueueDelayMicros: 5000 });
    const wide = map(tensor('x', 'FP32', [1, 3], Float32Array.of(1, 2, 3)));
    const narrow = fp32([[4, 5]]);
    const ints = map(tensor('x', 'INT32', [1, 2], Int32Array.of(6, 7)));
    const outs = await Promise.all([b.submit(narrow), b.submit(wide), b.submit(fp32([[8, 9]])), b.submit(ints)]);
    assert.deepEqual(
      session.runs.map((r) => `${r.get('x')?.datatype} ${JSON.stringify(r.get('x')?.shape)}`),
      ['FP32 [2,2]', 'FP32 [1,3]', 'INT32 [1,2]'],
    );
    assert.deepEqual(outs.map((o) => Array.from(o.get('x_out')?.data as ArrayLike<number>)), [[8, 10], [2, 4, 6], [16, 18], [12, 14]]);
  });

  it('rejects every request of a batch whose run fails, then keeps serving', async () => {
    let fail = true;
    const session = fakeSession((feeds) => {
      if (fail) throw new Error('onnxruntime: out of memory');
      return answer(feeds);
    });
    const b = batcher(session, { maxBatchSize: 2 });
    const results = await Promise.allSettled([b.submit(fp32([[1, 1]])), b.submit(fp32([[2, 2]]))]);
    assert.deepEqual(results.map((r) => r.status), ['rejected', 'rejected']);
    fail = false;
    assert.deepEqual(Array.from((await b.submit(fp32([[3, 3]]))).get('x_out')?.data as Float32Array), [6, 6]);
  });

  it('reports every batch with its rows, requests and timings, and counts them', async () => {
    const session = fakeSession();
    const reports: BatchResult[] = [];
    const b = batcher(session, { maxBatchSize: 3 }, (r) => reports.push(r));
    await Promise.all([b.submit(fp32([[1, 1]])), b.submit(fp32([[2, 2], [3, 3]]))]);
    await b.submit(fp32([[4, 4]]));
    assert.equal(reports.length, 2);
    assert.deepEqual(reports.map((r) => [r.graph, r.node, r.size, r.requests]), [['demo', 'clf', 3, 2], ['demo', 'clf', 1, 1]]);
    for (const r of reports) assert.ok(r.queueSeconds >= 0 && r.computeSeconds >= 0);
    assert.deepEqual(b.stats(), {
      maxBatchSize: 3,
      maxQueueDelayMicros: 2000,
      preferredBatchSizes: [],
      maxQueueSize: 64,
      batches: 2,
      requests: 3,
      rows: 4,
      largestBatchRequests: 2,
      largestBatchRows: 3,
      rejected: 0,
      cancelled: 0,
      queued: 0,
    });
  });
});

describe('DynamicBatcher runs that cross a hop', () => {
  const ctxOf = (requestId: string): RequestContext =>
    createRequestContext({ requestId, graph: 'demo', timeoutMs: 5000, signal: new RequestLifetime() });

  it('hands the run the context of every request of the batch, in batch order', async () => {
    const seen: (string | undefined)[][] = [];
    const b = new DynamicBatcher('demo', 'clf', { ...CONFIG, maxBatchSize: 3 }, (feeds, contexts) => {
      seen.push(contexts.map((c) => c?.requestId));
      return Promise.resolve(answer(feeds));
    });
    await Promise.all(['a', 'b', 'c'].map((id, k) => b.submit(fp32([[k, k]]), undefined, undefined, ctxOf(id))));
    assert.deepEqual(seen, [['a', 'b', 'c']]);
  });

  it('runs each request of a failed batch alone when retryAloneOn accepts the error, so only the bad one fails', async () => {
    const runs: number[] = [];
    // Fails any run that contains a negative value, as a worker refusing one request's row would.
    const run = (feeds: TensorMap): Promise<TensorMap> => {
      const x = feeds.get('x') as Tensor;
      runs.push(x.shape[0] as number);
      return (x.data as Float32Array).some((v) => v < 0) ? Promise.reject(new InferenceError('INVALID_ARGUMENT', 'negative value')) : Promise.resolve(answer(feeds));
    };
    const b = new DynamicBatcher('demo', 'clf', { ...CONFIG, maxBatchSize: 3 }, run, undefined, { retryAloneOn: (err) => err instanceof InferenceError && err.code === 'INVALID_ARGUMENT' });
    const settled = await Promise.allSettled([b.submit(fp32([[1, 1]])), b.submit(fp32([[-1, 2]])), b.submit(fp32([[3, 3]]))]);
    assert.deepEqual(runs, [3, 1, 1, 1]);
    assert.deepEqual(
      settled.map((s) => s.status),
      ['fulfilled', 'rejected', 'fulfilled'],
    );
    assert.deepEqual([...((settled[2] as PromiseFulfilledResult<TensorMap>).value.get('x_out')?.data as Float32Array)], [6, 6]);
  });

  it('fails the whole batch at once when retryAloneOn refuses the error (e.g. the hop is down)', async () => {
    let runs = 0;
    const b = new DynamicBatcher('demo', 'clf', { ...CONFIG, maxBatchSize: 2 }, () => {
      runs++;
      return Promise.reject(new InferenceError('UNAVAILABLE', 'no replica'));
    }, undefined, { retryAloneOn: (err) => err instanceof InferenceError && err.code === 'INVALID_ARGUMENT' });
    const settled = await Promise.allSettled([b.submit(fp32([[1, 1]])), b.submit(fp32([[2, 2]]))]);
    assert.equal(runs, 1);
    assert.deepEqual(settled.map((s) => s.status), ['rejected', 'rejected']);
  });

  it('keeps up to maxConcurrentRuns batches in flight, the next one leaving without waiting for an answer', async () => {
    const open: (() => void)[] = [];
    let started = 0;
    const b = new DynamicBatcher('demo', 'clf', { ...CONFIG, maxBatchSize: 2 }, (feeds) => {
      started++;
      return new Promise<TensorMap>((resolve) => open.push(() => resolve(answer(feeds))));
    }, undefined, { maxConcurrentRuns: 2 });
    const answers = [1, 2, 3, 4, 5, 6].map((v) => b.submit(fp32([[v, v]])));
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(started, 2, 'two full batches run at once; the third waits for a free run');
    open.shift()?.();
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(started, 3);
    while (open.length > 0) {
      open.shift()?.();
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const values = (await Promise.all(answers)).map((m) => [...(m.get('x_out')?.data as Float32Array)]);
    assert.deepEqual(values, [[2, 2], [4, 4], [6, 6], [8, 8], [10, 10], [12, 12]]);
  });
});
