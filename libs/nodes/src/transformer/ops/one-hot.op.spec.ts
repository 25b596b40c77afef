import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Tensor } from '@infergraph/protocol';
import { assertInvalid, output, problemRows, run, spec, tensor, typeOf, valuesOf } from '../transform-steps.fixtures';

describe('oneHot step', () => {
  it('turns indices of shape S into FP32 vectors of shape S + [depth]', () => {
    const x = tensor('x', 'INT64', [2, 2], BigInt64Array.from([0n, 2n, 1n, 0n]));
    const result = run([{ op: 'oneHot', tensor: 'x', depth: 3, output: 'hot' }], x);
    assert.deepEqual(valuesOf(output(result, 'hot', 'FP32', [2, 2, 3])), [1, 0, 0, 0, 0, 1, 0, 1, 0, 1, 0, 0]);
  });

  it('rejects an index outside [0, depth), naming the element and its value', () => {
    const table: [Tensor, RegExp][] = [
      [tensor('x', 'UINT8', [2], Uint8Array.from([1, 3])), /^step 0 \(oneHot\): tensor "x" element 1 is 3, outside \[0, 3\) for depth 3$/],
      [tensor('x', 'INT32', [1], Int32Array.from([-1])), /element 0 is -1, outside \[0, 3\)/],
      [tensor('x', 'INT64', [1], BigInt64Array.from([2n ** 60n])), /element 0 is 1152921504606846976, outside \[0, 3\)/],
    ];
    for (const [x, message] of table) assertInvalid(() => run([{ op: 'oneHot', tensor: 'x', depth: 3 }], x), message);
  });

  it('types the output as FP32 with the depth appended, and needs integers', () => {
    assert.deepEqual(typeOf([{ op: 'oneHot', tensor: 'x', depth: 4 }], spec('x', 'INT32', [-1])), {
      outputs: [spec('x', 'FP32', [-1, 4])],
      problems: [],
    });
    assert.deepEqual(problemRows(typeOf([{ op: 'oneHot', tensor: 'x', depth: 4 }], spec('x', 'FP32', [-1])).problems), [
      [0, 'tensor', 'tensor "x" is FP32, but oneHot needs an integer tensor (INT8..INT64 or UINT8..UINT64); add a cast step before it'],
    ]);
  });
});
