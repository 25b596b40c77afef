import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assertInvalid, output, problemRows, run, spec, tensor, typeOf, valuesOf } from '../transform-steps.fixtures';

describe('labelMap step', () => {
  const labels = ['cat', 'dog', 'bird'];

  it('maps each index to its label as BYTES of the same shape', () => {
    const x = tensor('x', 'INT32', [3], Int32Array.from([2, 0, 1]));
    const result = run([{ op: 'labelMap', tensor: 'x', labels, output: 'label' }], x);
    assert.deepEqual(valuesOf(output(result, 'label', 'BYTES', [3])), ['bird', 'cat', 'dog']);
  });

  it('rejects an index without a label, naming the value and the number of labels', () => {
    assertInvalid(
      () => run([{ op: 'labelMap', tensor: 'x', labels }], tensor('x', 'INT64', [2], BigInt64Array.from([0n, 5n]))),
      /^step 0 \(labelMap\): tensor "x" element 1 is 5, but there are 3 labels \(indices 0\.\.2\)$/,
    );
  });

  it('types the output as BYTES and needs integers', () => {
    assert.deepEqual(typeOf([{ op: 'labelMap', tensor: 'x', labels }], spec('x', 'INT64', [-1])).outputs, [spec('x', 'BYTES', [-1])]);
    assert.deepEqual(problemRows(typeOf([{ op: 'labelMap', tensor: 'x', labels }], spec('x', 'BOOL', [1])).problems), [
      [0, 'tensor', 'tensor "x" is BOOL, but labelMap needs an integer tensor (INT8..INT64 or UINT8..UINT64); add a cast step before it'],
    ]);
  });
});
