import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TensorSpec } from '@infergraph/protocol';
import { checkBatchable } from './batching.validator';

// Pure-logic unit test: model metadata is given as tensor specs, no model file.

const spec = (name: string, shape: number[]): TensorSpec => ({ name, datatype: 'FP32', shape });

describe('batching validation', () => {
  const cases: { name: string; inputs: TensorSpec[]; outputs: TensorSpec[]; expected: RegExp | undefined }[] = [
    { name: 'accepts a model whose inputs and outputs all have a dynamic first dimension', inputs: [spec('x', [-1, 4])], outputs: [spec('y', [-1]), spec('p', [-1, 3])], expected: undefined },
    {
      name: 'refuses a model whose input has a fixed first dimension, naming the model and shape',
      inputs: [spec('x', [2, 3])],
      outputs: [spec('y', [-1, 3])],
      expected: /^model m\.onnx cannot be batched: its input "x" \[2, 3\] has a fixed first dimension; batching stacks requests along a dynamic first dimension \(-1\)/,
    },
    {
      name: 'refuses a model whose outputs have a fixed first dimension, listing each',
      inputs: [spec('x', [-1, 3])],
      outputs: [spec('y', [1, 3]), spec('z', [])],
      expected: /its output "y" \[1, 3\], output "z" \[\] have a fixed first dimension/,
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const problems = checkBatchable(2, 'm.onnx', { inputs: c.inputs, outputs: c.outputs });
      if (c.expected === undefined) return assert.deepEqual(problems, []);
      assert.equal(problems.length, 1);
      assert.deepEqual(problems[0]?.path, ['spec', 'nodes', 2, 'model', 'batching']);
      assert.match(problems[0]?.message ?? '', c.expected);
    });
  }
});
