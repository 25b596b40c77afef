import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InferenceError } from '@infergraph/protocol';
import { f32, output, steps, tensor, valuesOf } from './transform-steps.fixtures';
import { StepsTransformerNode } from './steps-transformer.node';

// Pure-logic unit test: the node runs its steps in process; no executor or transport.

describe('steps transformer node', () => {
  it('applies its steps and passes the other tensors through', async () => {
    const node = new StepsTransformerNode(
      'prep',
      steps({ op: 'minMaxScale', tensor: 'x', min: [0], max: [4] }, { op: 'rename', map: { x: 'features' } }),
    );
    const id = tensor('id', 'BYTES', [1], ['a']);
    const result = await node.infer(
      new Map([
        ['x', f32('x', [2], [1, 3])],
        ['id', id],
      ]),
    );
    assert.deepEqual(valuesOf(output(result, 'features', 'FP32', [2])), [0.25, 0.75]);
    assert.equal(result.get('id'), id);
  });

  it('rejects bad data with INVALID_ARGUMENT naming the node, step and tensor', async () => {
    const node = new StepsTransformerNode('prep', steps({ op: 'oneHot', tensor: 'c', depth: 2 }));
    await assert.rejects(node.infer(new Map([['c', tensor('c', 'INT32', [1], Int32Array.from([2]))]])), (err: unknown) => {
      assert.ok(err instanceof InferenceError);
      assert.equal(err.code, 'INVALID_ARGUMENT');
      assert.equal(err.message, 'node "prep": step 0 (oneHot): tensor "c" element 0 is 2, outside [0, 2) for depth 2');
      return true;
    });
  });

  it('types its steps again when the inputs change shape or datatype, so what does not fit is still refused', async () => {
    const node = new StepsTransformerNode('prep', steps({ op: 'standardize', tensor: 'x', mean: [1, 2], std: [1, 2] }));
    const values = async (x: ReturnType<typeof f32>): Promise<unknown[]> => valuesOf((await node.infer(new Map([['x', x]]))).get('x') as ReturnType<typeof f32>);
    assert.deepEqual(await values(f32('x', [1, 2], [2, 4])), [1, 1]);
    assert.deepEqual(await values(f32('x', [2, 2], [2, 4, 3, 6])), [1, 1, 2, 2], 'another batch size');
    await assert.rejects(node.infer(new Map([['x', f32('x', [1, 3], [1, 2, 3])]])), /step 0 \(standardize\): mean has 2 values, but the last dimension of tensor "x" \[1, 3\] is 3/);
    await assert.rejects(node.infer(new Map([['x', tensor('x', 'INT32', [1, 2], Int32Array.from([1, 2]))]])), /tensor "x" is INT32, but standardize needs a float tensor/);
    await assert.rejects(node.infer(new Map([['y', f32('y', [1, 2], [1, 2])]])), /no tensor "x" at this step/);
    assert.deepEqual(await values(f32('x', [1, 2], [2, 4])), [1, 1], 'the first shape again');
  });
});
