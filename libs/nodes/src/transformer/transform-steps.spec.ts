import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { transformStepSchema } from '@infergraph/spec';
import { assertClose, assertInvalid, f32, output, problemRows, run, spec, tensor, typeOf, valuesOf } from './transform-steps.fixtures';
import { transformOpOf } from './transform-ops.registry';

// Pure-logic unit test of the step pipeline; the per-op arithmetic is in ops/*.op.spec.ts.

describe('transform steps', () => {
  it('chains steps, each reading what the earlier ones wrote', () => {
    // standardize: (x - 1) / 2 = [0, 1, 2, 3, 4, 5]; argmax of [0, 1, 2] = 2 and of [3, 4, 5] = 2
    const result = run(
      [
        { op: 'standardize', tensor: 'x', mean: [1], std: [2], output: 'z' },
        { op: 'softmax', tensor: 'z', output: 'p' },
        { op: 'argmax', tensor: 'p', output: 'class' },
        { op: 'labelMap', tensor: 'class', labels: ['a', 'b', 'c'], output: 'label' },
        { op: 'select', tensors: ['label', 'p'] },
      ],
      f32('x', [2, 3], [1, 3, 5, 7, 9, 11]),
    );
    assert.deepEqual([...result.keys()], ['label', 'p']);
    assert.deepEqual(valuesOf(output(result, 'label', 'BYTES', [2])), ['c', 'c']);
    // softmax([0, 1, 2]) = softmax([3, 4, 5]) = softmax([1, 2, 3])
    assertClose(output(result, 'p', 'FP32', [2, 3]).data, [0.09003057, 0.24472847, 0.66524096, 0.09003057, 0.24472847, 0.66524096]);
  });

  it('passes untouched tensors through as they came', () => {
    const ids = tensor('ids', 'BYTES', [1], ['r-1']);
    const result = run([{ op: 'clip', tensor: 'x', min: 0 }], f32('x', [1], [-1]), ids);
    assert.equal(result.get('ids'), ids);
    assert.deepEqual([...result.keys()], ['x', 'ids']);
  });

  it('types the chain from the tensors the node receives', () => {
    const typed = typeOf(
      [
        { op: 'cast', tensor: 'x', to: 'FP32' },
        { op: 'softmax', tensor: 'x', output: 'p' },
        { op: 'topK', tensor: 'p', k: 3, outputs: { values: 'score', indices: 'class' } },
        { op: 'rename', map: { x: 'logits' } },
      ],
      spec('x', 'FP64', [-1, 10]),
      spec('id', 'BYTES', [-1]),
    );
    assert.deepEqual(typed, {
      outputs: [
        spec('logits', 'FP32', [-1, 10]),
        spec('id', 'BYTES', [-1]),
        spec('p', 'FP32', [-1, 10]),
        spec('score', 'FP32', [-1, 3]),
        spec('class', 'INT64', [-1, 3]),
      ],
      problems: [],
    });
  });

  it('reports a missing tensor with the step index and stops typing there', () => {
    const typed = typeOf(
      [
        { op: 'standardize', tensor: 'x', mean: [0], std: [0] },
        { op: 'softmax', tensor: 'logit' },
        { op: 'argmax', tensor: 'nothing' },
      ],
      spec('x', 'FP32', [-1, 2]),
      spec('logits', 'FP32', [-1, 2]),
    );
    assert.deepEqual(problemRows(typed.problems), [
      [0, 'std', 'std[0] is 0; every std must be non-zero'],
      [1, 'tensor', 'no tensor "logit" at this step (tensors: "x", "logits"); did you mean "logits"?'],
    ]);
    assert.equal(typed.outputs, undefined);
  });

  it('keeps typing past problems that leave the results known', () => {
    const typed = typeOf(
      [
        { op: 'clip', tensor: 'x', min: 1, max: 0 },
        { op: 'log1p', tensor: 'x' },
      ],
      spec('x', 'FP32', [2]),
    );
    assert.deepEqual(problemRows(typed.problems), [[0, 'max', 'max (0) is below min (1)']]);
    assert.deepEqual(typed.outputs, [spec('x', 'FP32', [2])]);
  });

  it('fails at run time with the step index and op when a tensor does not fit', () => {
    assertInvalid(
      () =>
        run(
          [
            { op: 'clip', tensor: 'x', min: 0 },
            { op: 'softmax', tensor: 'x' },
          ],
          tensor('x', 'INT32', [2], Int32Array.from([1, 2])),
        ),
      /^step 1 \(softmax\): tensor "x" is INT32, but softmax needs a float tensor \(FP16, FP32 or FP64\); add a cast step before it$/,
    );
    assertInvalid(
      () => run([{ op: 'argmax', tensor: 'scores' }], f32('x', [1], [1])),
      /^step 0 \(argmax\): no tensor "scores" at this step \(tensors: "x"\)$/,
    );
  });

  it('returns the inputs for no steps', () => {
    const inputs = new Map([['x', f32('x', [1], [1])]]);
    assert.equal(run([], ...inputs.values()).get('x'), inputs.get('x'));
  });

  it('has an op for every step the schema accepts', () => {
    for (const option of transformStepSchema.options) {
      const op = option.shape.op.value;
      assert.ok(transformOpOf({ op } as never), `no op for "${op}"`);
    }
  });
});
