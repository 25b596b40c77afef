import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TensorSpec } from '@infergraph/protocol';
import { combinerConfigSchema } from '@infergraph/spec';
import { typeCombiner, type CombinerBranchType } from './combiner.typing';

// Pure-logic unit test of the static combiner check the graph typer runs at load time.

function spec(name: string, datatype: TensorSpec['datatype'], shape: number[]): TensorSpec {
  return { name, datatype, shape };
}

function input(source: string, ...tensors: TensorSpec[]): CombinerBranchType {
  return { source, tensors };
}

const PROBS_A = input('a', spec('probabilities', 'FP32', [-1, 3]), spec('label', 'INT64', [-1]));
const PROBS_B = input('b', spec('probabilities', 'FP32', [4, 3]), spec('label', 'INT64', [-1]));

const CASES: [name: string, config: unknown, inputs: CombinerBranchType[], outputs: TensorSpec[] | undefined, problems: RegExp[]][] = [
  [
    'mean: every shared name, keeping known dimensions',
    { strategy: 'mean' },
    [input('a', spec('x', 'FP32', [-1, 3]), spec('y', 'FP64', [1])), input('b', spec('x', 'FP32', [2, -1]), spec('y', 'FP64', [1]))],
    [spec('x', 'FP32', [2, 3]), spec('y', 'FP64', [1])],
    [],
  ],
  ['max: any numeric datatype', { strategy: 'max', tensor: 'n' }, [input('a', spec('n', 'INT64', [-1])), input('b', spec('n', 'INT64', [-1]))], [spec('n', 'INT64', [-1])], []],
  [
    'soft-vote: probabilities and an INT64 label per row',
    { strategy: 'soft-vote' },
    [PROBS_A, PROBS_B],
    [spec('probabilities', 'FP32', [4, 3]), spec('label', 'INT64', [4])],
    [],
  ],
  ['hard-vote: label in the input datatype', { strategy: 'hard-vote' }, [PROBS_A, PROBS_B], [spec('label', 'INT64', [-1])], []],
  [
    'concat: the joined dimension adds up when known',
    { strategy: 'concat', axis: 1 },
    [input('a', spec('f', 'FP32', [-1, 2])), input('b', spec('f', 'FP32', [5, 3]))],
    [spec('f', 'FP32', [5, 5])],
    [],
  ],
  [
    'concat: the joined dimension is dynamic when any part is',
    { strategy: 'concat', axis: 0 },
    [input('a', spec('f', 'FP32', [-1, 2])), input('b', spec('f', 'FP32', [5, 2]))],
    [spec('f', 'FP32', [-1, 2])],
    [],
  ],
  [
    'custom: the declared outputs',
    { strategy: 'custom', module: './ens.js', outputs: [{ name: 'z', datatype: 'FP32', shape: [-1] }] },
    [PROBS_A],
    [spec('z', 'FP32', [-1])],
    [],
  ],
  [
    'a tensor missing in one input',
    { strategy: 'soft-vote' },
    [PROBS_A, input('b', spec('probs', 'FP32', [-1, 3]))],
    undefined,
    [/^input "b" does not produce tensor "probabilities" \(it produces: probs\)$/],
  ],
  [
    'inputs that share no tensor name',
    { strategy: 'mean' },
    [input('a', spec('x', 'FP32', [1])), input('b', spec('y', 'FP32', [1]))],
    undefined,
    [/^the inputs share no tensor name to combine \("a": x; "b": y\); set tensor or rename with tensorMap$/],
  ],
  [
    'datatypes that disagree',
    { strategy: 'mean' },
    [input('a', spec('x', 'FP32', [1])), input('b', spec('x', 'FP64', [1]))],
    undefined,
    [/^strategy mean needs one datatype and shape, but tensor "x" is FP32 \[1\] from "a" and FP64 \[1\] from "b"$/],
  ],
  [
    'shapes that disagree',
    { strategy: 'max' },
    [input('a', spec('x', 'INT32', [-1, 2])), input('b', spec('x', 'INT32', [-1, 3]))],
    undefined,
    [/tensor "x" is INT32 \[-1, 2\] from "a" and INT32 \[-1, 3\] from "b"/],
  ],
  [
    'weighted-mean without a weight for every input',
    { strategy: 'weighted-mean', weights: { a: 1 } },
    [input('a', spec('x', 'FP32', [1])), input('b', spec('x', 'FP32', [1])), input('c', spec('x', 'FP32', [1]))],
    [spec('x', 'FP32', [1])],
    [/^strategy weighted-mean needs weights for every input; missing: b, c$/],
  ],
  [
    'weighted-mean without weights at all',
    { strategy: 'weighted-mean' },
    [input('a', spec('x', 'FP32', [1]))],
    [spec('x', 'FP32', [1])],
    [/^strategy weighted-mean needs weights for every input; missing: a$/],
  ],
  [
    'weights naming a node that is not an input',
    { strategy: 'soft-vote', weights: { a: 1, b: 1, bb: 2 } },
    [PROBS_A, PROBS_B],
    [spec('probabilities', 'FP32', [4, 3]), spec('label', 'INT64', [4])],
    [/^weights name "bb", which is not an input of this combiner; did you mean "b"\? \(inputs: a, b\)$/],
  ],
  [
    'weights given to mean',
    { strategy: 'mean', weights: { a: 1 } },
    [input('a', spec('x', 'FP32', [1]))],
    [spec('x', 'FP32', [1])],
    [/^strategy mean does not use weights \(use strategy weighted-mean\)$/],
  ],
  [
    'a mean of integers',
    { strategy: 'weighted-mean', weights: { a: 1 } },
    [input('a', spec('x', 'INT32', [1]))],
    undefined,
    [/^strategy weighted-mean needs a float tensor \(FP16, FP32, FP64\); "x" is INT32$/],
  ],
  ['soft-vote on integers', { strategy: 'soft-vote', tensor: 'label' }, [PROBS_A], undefined, [/^strategy soft-vote needs float probabilities \[N, C\]; "label" is INT64 \[-1\]$/]],
  [
    'soft-vote on a rank-3 tensor',
    { strategy: 'soft-vote' },
    [input('a', spec('probabilities', 'FP32', [1, 2, 3]))],
    undefined,
    [/"probabilities" is FP32 \[1, 2, 3\]$/],
  ],
  ['hard-vote on floats', { strategy: 'hard-vote', tensor: 'probabilities' }, [PROBS_A], undefined, [/^strategy hard-vote needs integer labels; "probabilities" is FP32$/]],
  [
    'an outer join without joinWindowMs',
    { strategy: 'max', join: 'outer' },
    [input('a', spec('x', 'FP32', [1]))],
    [spec('x', 'FP32', [1])],
    [/^join outer needs joinWindowMs/],
  ],
  [
    'custom without module or outputs',
    { strategy: 'custom' },
    [PROBS_A],
    undefined,
    [/^strategy custom needs module/, /^strategy custom needs outputs/],
  ],
  [
    'module and outputs given to a built-in strategy',
    { strategy: 'max', module: './m.js', outputs: [{ name: 'z', datatype: 'FP32', shape: [1] }] },
    [input('a', spec('x', 'FP32', [1]))],
    [spec('x', 'FP32', [1])],
    [/^module is read only by strategy custom \(strategy is max\)$/, /^outputs are read only by strategy custom/],
  ],
  [
    'concat with an axis out of range',
    { strategy: 'concat', axis: 2 },
    [input('a', spec('x', 'FP32', [1, 2]))],
    undefined,
    [/^axis 2 is out of range for tensor "x" of rank 2 \[1, 2\]$/],
  ],
  [
    'concat with other dimensions that disagree',
    { strategy: 'concat', axis: -1 },
    [input('a', spec('x', 'FP32', [2, 2])), input('b', spec('x', 'FP32', [3, 2]))],
    undefined,
    [/^strategy concat along axis -1 needs one datatype and equal dimensions except dimension 1/],
  ],
];

describe('combiner typing', () => {
  for (const [name, input, inputs, outputs, problems] of CASES) {
    it(`${problems.length === 0 ? 'types' : 'reports'} ${name}`, () => {
      const typed = typeCombiner(combinerConfigSchema.parse(input), inputs);
      assert.deepEqual(typed.outputs, outputs);
      assert.equal(typed.problems.length, problems.length, typed.problems.join('\n'));
      typed.problems.forEach((p, i) => assert.match(p, problems[i] as RegExp));
    });
  }
});
