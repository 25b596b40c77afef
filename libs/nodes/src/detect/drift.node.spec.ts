import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Tensor } from '@infergraph/protocol';
import type { CompletedWindow } from '@infergraph/detectors';
import { driftConfigSchema } from '@infergraph/spec';
import type { DriftComputer, DriftDetection } from './drift-computer.port';
import { DriftNode, type DriftResult } from './drift.node';

// Pure-logic unit test: the drift computer is a scripted fake; windows are real.

const config = (window: object, history = 3) => driftConfigSchema.parse({ method: 'ks', reference: { path: 'r.csv' }, window, history });

function rows(n: number, start = 0): Tensor {
  return { name: 'x', datatype: 'FP32', shape: [n, 2], data: Float32Array.from({ length: n * 2 }, (_, i) => start + i) };
}

class FakeComputer implements DriftComputer {
  readonly windows: CompletedWindow[] = [];
  release: (() => void)[] = [];
  constructor(
    private readonly hold = false,
    private readonly dof?: number[],
  ) {}
  compute(window: CompletedWindow): Promise<DriftDetection> {
    this.windows.push(window);
    const result = { isDrift: window.start >= 10, pVal: [0.5, 0.01], distance: [0.1, 0.9], threshold: 0.025, ...(this.dof === undefined ? {} : { dof: this.dof }) };
    if (!this.hold) return Promise.resolve(result);
    return new Promise((resolve) => this.release.push(() => resolve(result)));
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

const settle = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('drift node', () => {
  it('tests each completed window, keeps a bounded history and returns no tensors', async () => {
    const computer = new FakeComputer();
    const results: DriftResult[] = [];
    const node = new DriftNode('g', 'd', config({ size: 5 }), 'x', ['a', 'b'], computer, (r) => results.push(r), () => undefined);
    const out = await node.infer(new Map([['x', rows(12)]]));
    assert.equal(out.size, 0);
    await node.infer(new Map([['x', rows(13, 100)]]));
    await settle();
    assert.deepEqual(computer.windows.map((w) => [w.start, w.end, w.size]), [[0, 5, 5], [5, 10, 5], [10, 15, 5], [15, 20, 5], [20, 25, 5]]);
    const status = node.status();
    assert.equal(status.windows_completed, 5);
    assert.equal(status.history.length, 3, 'history keeps the configured number of results');
    assert.deepEqual(status.latest?.window.start, 20);
    assert.equal(status.latest?.is_drift, true);
    assert.deepEqual(status.latest?.features, ['a', 'b']);
    assert.equal(results.length, 5);
  });

  it('serves the degrees of freedom of each chi2 feature, and none for the other methods', async () => {
    const chi2 = new DriftNode('g', 'd', driftConfigSchema.parse({ method: 'chi2', reference: { path: 'r.csv' }, window: { size: 5 } }), 'x', ['a', 'b'], new FakeComputer(false, [3, 1]), () => undefined, () => undefined);
    await chi2.infer(new Map([['x', rows(5)]]));
    await settle();
    assert.deepEqual(chi2.status().latest?.dof, [3, 1]);
    const ks = new DriftNode('g', 'd', config({ size: 5 }), 'x', ['a', 'b'], new FakeComputer(), () => undefined, () => undefined);
    await ks.infer(new Map([['x', rows(5)]]));
    await settle();
    assert.equal(ks.status().latest !== undefined && 'dof' in ks.status().latest!, false);
  });

  it('never throws on bad input: it records the failure and keeps going', async () => {
    const errors: string[] = [];
    const node = new DriftNode('g', 'd', config({ size: 5 }), 'x', ['a', 'b'], new FakeComputer(), () => undefined, (m) => errors.push(m));
    const wrong: Tensor = { name: 'x', datatype: 'FP32', shape: [1, 3], data: new Float32Array(3) };
    assert.equal((await node.infer(new Map([['x', wrong]]))).size, 0);
    assert.equal((await node.infer(new Map())).size, 0);
    assert.equal(node.status().failures, 2);
    assert.match(errors[0] ?? '', /tensor "x" must have shape \[N, 2\], got \[1, 3\]/);
    assert.match(errors[1] ?? '', /drift node "d" received no tensor "x"/);
  });

  it('tests one window at a time and keeps at most 4 windows waiting, dropping the oldest', async () => {
    const computer = new FakeComputer(true);
    const node = new DriftNode('g', 'd', config({ size: 2 }, 100), 'x', ['a', 'b'], computer, () => undefined, () => undefined);
    await node.infer(new Map([['x', rows(14)]])); // 7 windows at once: the 3 oldest are dropped
    await settle();
    assert.equal(computer.windows.length, 1, 'only one test runs at a time');
    assert.equal(node.status().windows_dropped, 3);
    await node.infer(new Map([['x', rows(2, 50)]])); // one more waits behind the running test
    for (let i = 0; i < 5; i++) {
      computer.release.shift()?.();
      await settle();
      await settle();
    }
    assert.deepEqual(computer.windows.map((w) => w.start), [6, 8, 10, 12, 14]);
    assert.equal(node.status().windows_completed, 5);
    assert.equal(node.status().windows_dropped, 3);
  });
});
