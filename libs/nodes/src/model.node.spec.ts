import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InferenceError, type Tensor, type TensorMap } from '@infergraph/protocol';
import { ModelNode } from './model.node';
import type { ModelSession } from './model-session.port';

// Pure-logic unit test of the model node's input checks, on a stand-in session that records its runs.

class RecordingSession implements ModelSession {
  readonly inputs = [{ name: 'input', datatype: 'FP32', shape: [-1, 2] }] as const;
  readonly outputs = [{ name: 'y', datatype: 'FP32', shape: [-1, 2] }] as const;
  readonly provider = 'cpu';
  runs = 0;
  run(feeds: TensorMap): Promise<TensorMap> {
    this.runs++;
    return Promise.resolve(new Map([['y', { ...(feeds.get('input') as Tensor), name: 'y' }]]));
  }
}

const INPUT: Tensor = { name: 'input', datatype: 'FP32', shape: [1, 2], data: new Float32Array([1, 2]) };

describe('model node input checks', () => {
  it('refuses an input the model does not have, echoing a long name cut short, without running the model', async () => {
    const session = new RecordingSession();
    const node = new ModelNode('clf', session, { allowNonFinite: false });
    const long = 'z'.repeat(100_000);
    await assert.rejects(node.infer(new Map([['input', INPUT], [long, { ...INPUT, name: long }]])), (err: unknown) => {
      assert.ok(err instanceof InferenceError);
      assert.equal(err.code, 'INVALID_ARGUMENT');
      assert.equal(err.message, `node "clf": model has no input "${'z'.repeat(64)}…" (inputs: "input" FP32 [-1, 2])`);
      return true;
    });
    assert.equal(session.runs, 0);
    assert.deepEqual(Array.from((await node.infer(new Map([['input', INPUT]]))).get('y')?.data as Float32Array), [1, 2]);
    assert.equal(session.runs, 1);
  });
});
