import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InferenceError, type Tensor, type TensorMap } from '@infergraph/protocol';
import { combinerConfigSchema, type CombinerConfig } from '@infergraph/spec';
import { combineBranches, type CombinerBranch } from './combine-strategies';

// Pure-logic unit test of the built-in combiner strategies; expected values are computed by hand.

function config(input: unknown): CombinerConfig {
  return combinerConfigSchema.parse(input);
}

function t(name: string, datatype: Tensor['datatype'], shape: number[], data: Tensor['data']): Tensor {
  return { name, datatype, shape, data };
}

function branch(source: string, ...tensors: Tensor[]): CombinerBranch {
  return { source, tensors: new Map(tensors.map((x) => [x.name, x])) };
}

const fp32 = (name: string, shape: number[], values: number[]): Tensor => t(name, 'FP32', shape, new Float32Array(values));

/** Output tensors as [name, datatype, shape, plain values], in output order. */
function plain(out: TensorMap): [string, string, number[], unknown[]][] {
  return [...out.values()].map((x) => [x.name, x.datatype, [...x.shape], Array.from(x.data as ArrayLike<unknown>)]);
}

function assertInvalid(fn: () => unknown, message: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof InferenceError, `expected an InferenceError, got ${String(err)}`);
    assert.equal(err.code, 'INVALID_ARGUMENT');
    assert.match(err.message, message);
    return true;
  });
}

describe('combiner: mean, weighted-mean and max', () => {
  const CASES: [name: string, config: unknown, branches: CombinerBranch[], expected: ReturnType<typeof plain>][] = [
    [
      'mean averages FP32 elementwise',
      { strategy: 'mean' },
      [branch('a', fp32('p', [1, 3], [0.25, 0.5, 1])), branch('b', fp32('p', [1, 3], [0.75, 0.5, 0]))],
      [['p', 'FP32', [1, 3], [0.5, 0.5, 0.5]]],
    ],
    [
      'mean of three FP64 branches',
      { strategy: 'mean' },
      [
        branch('a', t('y', 'FP64', [2], new Float64Array([1, 2]))),
        branch('b', t('y', 'FP64', [2], new Float64Array([2, 4]))),
        branch('c', t('y', 'FP64', [2], new Float64Array([3, 9]))),
      ],
      [['y', 'FP64', [2], [2, 5]]],
    ],
    [
      'mean keeps FP16 and rounds once',
      { strategy: 'mean' },
      // 1 (0x3c00) and 2 (0x4000) average to 1.5 (0x3e00).
      [branch('a', t('h', 'FP16', [1], new Uint16Array([0x3c00]))), branch('b', t('h', 'FP16', [1], new Uint16Array([0x4000])))],
      [['h', 'FP16', [1], [0x3e00]]],
    ],
    [
      'mean combines every tensor name all branches share, in the first branch order',
      { strategy: 'mean' },
      [
        branch('a', fp32('x', [1], [1]), fp32('y', [1], [2]), fp32('only-a', [1], [9])),
        branch('b', fp32('y', [1], [4]), fp32('x', [1], [3])),
      ],
      [
        ['x', 'FP32', [1], [2]],
        ['y', 'FP32', [1], [3]],
      ],
    ],
    [
      'mean of only the configured tensor',
      { strategy: 'mean', tensor: 'y' },
      [branch('a', fp32('x', [1], [1]), fp32('y', [1], [2])), branch('b', fp32('y', [1], [4]), fp32('x', [1], [3]))],
      [['y', 'FP32', [1], [3]]],
    ],
    [
      'weighted-mean weighs 3 to 1',
      { strategy: 'weighted-mean', weights: { a: 3, b: 1 } },
      [branch('a', fp32('p', [2], [1, 0])), branch('b', fp32('p', [2], [0, 1]))],
      [['p', 'FP32', [2], [0.75, 0.25]]],
    ],
    [
      'weighted-mean normalises over the branches present (c did not arrive)',
      { strategy: 'weighted-mean', weights: { a: 1, b: 3, c: 4 } },
      [branch('a', fp32('p', [2], [0.5, 1])), branch('b', fp32('p', [2], [1, 0]))],
      // 0.25 * [0.5, 1] + 0.75 * [1, 0]
      [['p', 'FP32', [2], [0.875, 0.25]]],
    ],
    [
      'max over INT32 branches',
      { strategy: 'max' },
      [
        branch('a', t('s', 'INT32', [3], new Int32Array([1, 5, -2]))),
        branch('b', t('s', 'INT32', [3], new Int32Array([4, 2, -7]))),
        branch('c', t('s', 'INT32', [3], new Int32Array([0, 5, -1]))),
      ],
      [['s', 'INT32', [3], [4, 5, -1]]],
    ],
    [
      'max over INT64 branches beyond 2^53',
      { strategy: 'max' },
      [branch('a', t('s', 'INT64', [2], new BigInt64Array([2n ** 60n, -1n]))), branch('b', t('s', 'INT64', [2], new BigInt64Array([2n ** 60n + 1n, -2n])))],
      [['s', 'INT64', [2], [2n ** 60n + 1n, -1n]]],
    ],
    [
      'max over FP16 compares values, not bit patterns (1 beats -2)',
      { strategy: 'max' },
      [branch('a', t('h', 'FP16', [2], new Uint16Array([0xc000, 0x3800]))), branch('b', t('h', 'FP16', [2], new Uint16Array([0x3c00, 0xb800])))],
      [['h', 'FP16', [2], [0x3c00, 0x3800]]],
    ],
    [
      'max propagates NaN like Math.max',
      { strategy: 'max' },
      [branch('a', fp32('m', [2], [NaN, 1])), branch('b', fp32('m', [2], [3, NaN])), branch('c', fp32('m', [2], [5, 2]))],
      [['m', 'FP32', [2], [NaN, NaN]]],
    ],
    [
      'a single branch (join any) combines to itself',
      { strategy: 'weighted-mean', weights: { a: 2, b: 1 }, join: 'any' },
      [branch('b', fp32('p', [2], [0.5, 0.25]))],
      [['p', 'FP32', [2], [0.5, 0.25]]],
    ],
  ];
  for (const [name, input, branches, expected] of CASES) {
    it(name, () => {
      assert.deepEqual(plain(combineBranches(config(input), branches)), expected);
    });
  }

  const ERRORS: [name: string, config: unknown, branches: CombinerBranch[], message: RegExp][] = [
    [
      'branches that disagree on shape, naming both',
      { strategy: 'mean' },
      [branch('a', fp32('p', [1, 2], [1, 2])), branch('b', fp32('p', [1, 3], [1, 2, 3]))],
      /^combiner \(mean\): tensor "p" is FP32 \[1, 2\] from branch "a" but FP32 \[1, 3\] from branch "b"; mean needs one datatype and shape$/,
    ],
    [
      'branches that disagree on datatype, naming both',
      { strategy: 'max' },
      [branch('a', fp32('p', [1], [1])), branch('b', t('p', 'FP64', [1], new Float64Array([1])))],
      /tensor "p" is FP32 \[1\] from branch "a" but FP64 \[1\] from branch "b"/,
    ],
    ['a mean of integers', { strategy: 'mean' }, [branch('a', t('p', 'INT32', [1], new Int32Array([1])))], /tensor "p" is INT32; a mean needs FP16, FP32 or FP64/],
    ['a max of strings', { strategy: 'max' }, [branch('a', t('p', 'BYTES', [1], ['x']))], /tensor "p" is BYTES; max needs a numeric datatype/],
    [
      'a branch without the configured tensor',
      { strategy: 'mean', tensor: 'p' },
      [branch('a', fp32('p', [1], [1])), branch('b', fp32('q', [1], [1]))],
      /^combiner \(mean\): branch "b" has no tensor "p" \(it has: q\)$/,
    ],
    [
      'branches that share no tensor name',
      { strategy: 'mean' },
      [branch('a', fp32('p', [1], [1])), branch('b', fp32('q', [1], [1]))],
      /the branches share no tensor name \("a" has p; "b" has q\)/,
    ],
    [
      'a weighted-mean branch without a weight',
      { strategy: 'weighted-mean', weights: { a: 1 } },
      [branch('a', fp32('p', [1], [1])), branch('b', fp32('p', [1], [1]))],
      /no weight for branch "b" \(weights: a\)/,
    ],
    ['a weighted-mean without weights', { strategy: 'weighted-mean' }, [branch('a', fp32('p', [1], [1]))], /weighted-mean\): needs weights/],
    ['no branch at all', { strategy: 'mean' }, [], /no branch arrived to combine/],
  ];
  for (const [name, input, branches, message] of ERRORS) {
    it(`rejects ${name} with INVALID_ARGUMENT`, () => {
      assertInvalid(() => combineBranches(config(input), branches), message);
    });
  }

  it('throws a plain Error for strategy custom, which runs a module instead', () => {
    assert.throws(
      () => combineBranches(config({ strategy: 'custom', module: 'x.js' }), [branch('a', fp32('p', [1], [1]))]),
      (err: unknown) => err instanceof Error && !(err instanceof InferenceError) && /custom/.test(err.message),
    );
  });
});

describe('combiner: soft-vote', () => {
  const A = fp32('probabilities', [2, 3], [0.5, 0.25, 0.25, 0.125, 0.125, 0.75]);
  const B = fp32('probabilities', [2, 3], [0.25, 0.5, 0.25, 0.125, 0.375, 0.5]);

  it('averages the probabilities and labels each row by its most probable class; a tie goes to the lowest class', () => {
    // Row 0: [0.375, 0.375, 0.25] ties classes 0 and 1 -> 0. Row 1: [0.125, 0.25, 0.625] -> 2.
    const out = combineBranches(config({ strategy: 'soft-vote' }), [branch('a', A), branch('b', B)]);
    assert.deepEqual(plain(out), [
      ['probabilities', 'FP32', [2, 3], [0.375, 0.375, 0.25, 0.125, 0.25, 0.625]],
      ['label', 'INT64', [2], [0n, 2n]],
    ]);
    assert.ok(out.get('label')?.data instanceof BigInt64Array);
  });

  it('weighs the branches (1 to 3), which changes the label of row 0', () => {
    // Row 0: 0.25*[0.5, 0.25, 0.25] + 0.75*[0.25, 0.5, 0.25] = [0.3125, 0.4375, 0.25] -> 1.
    // Row 1: 0.25*[0.125, 0.125, 0.75] + 0.75*[0.125, 0.375, 0.5] = [0.125, 0.3125, 0.5625] -> 2.
    const out = combineBranches(config({ strategy: 'soft-vote', weights: { a: 1, b: 3 } }), [branch('a', A), branch('b', B)]);
    assert.deepEqual(plain(out), [
      ['probabilities', 'FP32', [2, 3], [0.3125, 0.4375, 0.25, 0.125, 0.3125, 0.5625]],
      ['label', 'INT64', [2], [1n, 2n]],
    ]);
  });

  it('reads the configured tensor and keeps FP64', () => {
    const s = (values: number[]): Tensor => t('scores', 'FP64', [1, 2], new Float64Array(values));
    const out = combineBranches(config({ strategy: 'soft-vote', tensor: 'scores' }), [branch('a', s([0.2, 0.8])), branch('b', s([0.6, 0.4]))]);
    assert.deepEqual(plain(out), [
      ['probabilities', 'FP64', [1, 2], [0.4, 0.6000000000000001]],
      ['label', 'INT64', [1], [1n]],
    ]);
  });

  it('rejects integer or rank-1 probabilities', () => {
    assertInvalid(
      () => combineBranches(config({ strategy: 'soft-vote' }), [branch('a', t('probabilities', 'INT32', [1, 2], new Int32Array([0, 1])))]),
      /tensor "probabilities" must be float probabilities \[N, C\], got INT32 \[1, 2\]/,
    );
    assertInvalid(
      () => combineBranches(config({ strategy: 'soft-vote' }), [branch('a', fp32('probabilities', [2], [0.5, 0.5]))]),
      /must be float probabilities \[N, C\], got FP32 \[2\]/,
    );
  });
});

describe('combiner: hard-vote', () => {
  const labels = (source: string, values: bigint[]): CombinerBranch => branch(source, t('label', 'INT64', [values.length], new BigInt64Array(values)));

  const CASES: [name: string, config: unknown, branches: CombinerBranch[], expected: ReturnType<typeof plain>][] = [
    [
      'takes the majority label per row; a three-way tie goes to the smallest label',
      { strategy: 'hard-vote' },
      [labels('a', [0n, 1n, 2n, 3n]), labels('b', [0n, 2n, 2n, 1n]), labels('c', [1n, 1n, 0n, 2n])],
      [['label', 'INT64', [4], [0n, 1n, 2n, 1n]]],
    ],
    ['a two-way tie goes to the smallest label, whatever the branch order', { strategy: 'hard-vote' }, [labels('a', [5n, 3n]), labels('b', [3n, 5n])], [['label', 'INT64', [2], [3n, 3n]]]],
    [
      'weights outvote a majority',
      { strategy: 'hard-vote', weights: { a: 1, b: 1, c: 3 } },
      [labels('a', [0n]), labels('b', [0n]), labels('c', [1n])],
      [['label', 'INT64', [1], [1n]]],
    ],
    [
      'weights 0.1 + 0.2 against 0.3 are a tie, despite float rounding, and go to the smallest label',
      { strategy: 'hard-vote', weights: { a: 0.1, b: 0.2, c: 0.3 } },
      [labels('a', [2n]), labels('b', [2n]), labels('c', [1n])],
      [['label', 'INT64', [1], [1n]]],
    ],
    [
      'keeps INT32 labels as INT32',
      { strategy: 'hard-vote', tensor: 'cls' },
      [
        branch('a', t('cls', 'INT32', [3], new Int32Array([-1, 7, 7]))),
        branch('b', t('cls', 'INT32', [3], new Int32Array([-1, 8, 9]))),
        branch('c', t('cls', 'INT32', [3], new Int32Array([4, 8, 8]))),
      ],
      [['label', 'INT32', [3], [-1, 8, 7]]],
    ],
  ];
  for (const [name, input, branches, expected] of CASES) {
    it(name, () => {
      assert.deepEqual(plain(combineBranches(config(input), branches)), expected);
    });
  }

  it('rejects float labels', () => {
    assertInvalid(
      () => combineBranches(config({ strategy: 'hard-vote' }), [branch('a', fp32('label', [1], [1]))]),
      /tensor "label" is FP32; hard-vote needs integer labels/,
    );
  });
});

describe('combiner: concat', () => {
  const CASES: [name: string, config: unknown, branches: CombinerBranch[], expected: ReturnType<typeof plain>][] = [
    [
      'joins along the last axis by default, in branch order',
      { strategy: 'concat' },
      [branch('a', fp32('x', [1, 2], [1, 2])), branch('b', fp32('x', [1, 3], [3, 4, 5]))],
      [['x', 'FP32', [1, 5], [1, 2, 3, 4, 5]]],
    ],
    [
      'joins along axis 0',
      { strategy: 'concat', axis: 0 },
      [branch('a', fp32('x', [1, 2], [1, 2])), branch('b', fp32('x', [2, 2], [3, 4, 5, 6]))],
      [['x', 'FP32', [3, 2], [1, 2, 3, 4, 5, 6]]],
    ],
    [
      'joins along a middle axis (axis -2 of rank 3)',
      { strategy: 'concat', axis: -2 },
      [branch('a', fp32('x', [2, 1, 2], [1, 2, 3, 4])), branch('b', fp32('x', [2, 2, 2], [5, 6, 7, 8, 9, 10, 11, 12]))],
      [['x', 'FP32', [2, 3, 2], [1, 2, 5, 6, 7, 8, 3, 4, 9, 10, 11, 12]]],
    ],
    [
      'joins INT64 and BYTES tensors, every shared name',
      { strategy: 'concat' },
      [
        branch('a', t('id', 'INT64', [1, 1], new BigInt64Array([1n])), t('tag', 'BYTES', [1, 1], ['p'])),
        branch('b', t('tag', 'BYTES', [1, 2], ['q', 'r']), t('id', 'INT64', [1, 1], new BigInt64Array([2n]))),
      ],
      [
        ['id', 'INT64', [1, 2], [1n, 2n]],
        ['tag', 'BYTES', [1, 3], ['p', 'q', 'r']],
      ],
    ],
  ];
  for (const [name, input, branches, expected] of CASES) {
    it(name, () => {
      assert.deepEqual(plain(combineBranches(config(input), branches)), expected);
    });
  }

  it('rejects other dimensions that disagree, and an axis out of range', () => {
    assertInvalid(
      () => combineBranches(config({ strategy: 'concat', axis: 0 }), [branch('a', fp32('x', [1, 2], [1, 2])), branch('b', fp32('x', [1, 3], [3, 4, 5]))]),
      /tensor "x" is FP32 \[1, 2\] from branch "a" but FP32 \[1, 3\] from branch "b"; concat along axis 0 needs one datatype and equal dimensions except dimension 0/,
    );
    assertInvalid(
      () => combineBranches(config({ strategy: 'concat', axis: 2 }), [branch('a', fp32('x', [1, 2], [1, 2]))]),
      /axis 2 is out of range for tensor "x" of rank 2 \[1, 2\]/,
    );
    assertInvalid(
      () => combineBranches(config({ strategy: 'concat', axis: -3 }), [branch('a', fp32('x', [1, 2], [1, 2]))]),
      /axis -3 is out of range/,
    );
  });
});
