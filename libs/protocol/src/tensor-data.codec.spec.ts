import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InferenceError } from './inference.error';
import { flattenJsonData } from './tensor-data.codec';

// Pure-logic unit test of the JSON tensor flattener on data built in memory.

/** `[[[...[leaf]...]]]`: `depth` arrays, one inside the other, built without recursion. */
function nestedOnes(depth: number, leaf: unknown = 1): unknown[] {
  let data: unknown[] = [leaf];
  for (let i = 1; i < depth; i++) data = [data];
  return data;
}

function invalidMessage(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof InferenceError, `expected an InferenceError, got ${String(err)}`);
    assert.equal(err.code, 'INVALID_ARGUMENT');
    return err.message;
  }
  assert.fail('expected an INVALID_ARGUMENT error');
}

describe('flattenJsonData: nested JSON tensor data', () => {
  it('flattens nested data row-major at any depth, 100,000 levels included, without overflowing the stack', () => {
    const depth = 100_000;
    assert.deepEqual(flattenJsonData(nestedOnes(depth, 7), new Array<number>(depth).fill(1), 'x'), [7]);
    const data = [[[1, 2], [3, 4], [5, 6]], [[7, 8], [9, 10], [11, 12]]];
    assert.deepEqual(flattenJsonData(data, [2, 3, 2], 'x'), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    assert.deepEqual(flattenJsonData([[], []], [2, 0], 'x'), []);
    assert.deepEqual(flattenJsonData([[[]], [[]]], [2, 1, 0], 'x'), []);
  });

  it('refuses data one level deeper than a 100,000-dimension shape with a 400, not a stack overflow', () => {
    const depth = 100_000;
    assert.equal(
      invalidMessage(() => flattenJsonData(nestedOnes(depth + 1), new Array<number>(depth).fill(1), 'inputs[0].data')),
      `inputs[0].data${'[0]'.repeat(16)}…: nested data is deeper than shape [${'1, '.repeat(16)}… (100000 in all)]`,
    );
  });

  it('names the path of the first array that breaks the shape, and refuses nested data for a scalar shape', () => {
    assert.equal(
      invalidMessage(() => flattenJsonData([[[1], [2]], [[3], 4]], [2, 2, 1], 'in.data')),
      'in.data[1][1]: nested data must follow shape [2, 2, 1]; expected an array at depth 2',
    );
    assert.equal(
      invalidMessage(() => flattenJsonData([[[1], [2]], [[3]]], [2, 2, 1], 'in.data')),
      'in.data[1]: nested data must follow shape [2, 2, 1]; expected 2 entries at depth 1, got 1',
    );
    assert.equal(invalidMessage(() => flattenJsonData([[1]], [], 'in.data')), 'in.data: nested data is deeper than shape []');
  });

  it('cuts the path and the shape it echoes after 16 entries when a mismatch lies deep in the data', () => {
    const depth = 50_000;
    const shape = new Array<number>(depth).fill(1);
    shape[depth - 1] = 2;
    const message = invalidMessage(() => flattenJsonData(nestedOnes(depth), shape, 'inputs[0].data'));
    assert.equal(
      message,
      `inputs[0].data${'[0]'.repeat(16)}…: nested data must follow shape [${'1, '.repeat(16)}… (50000 in all)]; expected 2 entries at depth 49999, got 1`,
    );
  });
});
