import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { averagePathLength, fitIsolationForest } from './isolation-forest.detector';
import { seededRandom as mulberry32 } from '../random/seeded-random';

// Pure-logic unit test: a seeded 2-D standard Gaussian blob, no files.

/** n points of a 2-D standard normal (Box-Muller over mulberry32). */
function gaussianBlob(n: number, seed: number): Float64Array[] {
  const random = mulberry32(seed);
  return Array.from({ length: n }, () => {
    const radius = Math.sqrt(-2 * Math.log(1 - random()));
    const angle = 2 * Math.PI * random();
    return Float64Array.of(radius * Math.cos(angle), radius * Math.sin(angle));
  });
}

const BLOB = gaussianBlob(250, 7);
const INLIERS = [
  [0, 0],
  [0.5, -0.3],
  [-0.8, 0.6],
];
const OUTLIERS = [
  [6, 6],
  [-5, 5],
  [0, 8],
];

describe('isolation forest', () => {
  // c(n) = 2 (ln(n - 1) + 0.5772156649) - 2 (n - 1) / n, Liu et al. 2008 eq. 1, computed in Python.
  const pathLengths: [number, number][] = [
    [0, 0],
    [1, 0],
    [2, 1],
    [3, 1.207392357586557],
    [10, 3.7488804844724397],
    [100, 8.364671030069179],
    [256, 10.244770920116851],
  ];
  for (const [n, expected] of pathLengths) {
    it(`normalises by c(${n}) = ${expected}`, () => {
      assert.ok(Math.abs(averagePathLength(n) - expected) < 1e-12, `${averagePathLength(n)}`);
    });
  }

  it('scores far-away points above 0.6 and points in the blob below 0.5', () => {
    const forest = fitIsolationForest(BLOB, {
      trees: 100,
      sampleSize: 256,
      seed: 42,
    });
    const { scores } = forest.score([...INLIERS, ...OUTLIERS]);
    for (let i = 0; i < 3; i++) assert.ok((scores[i] as number) < 0.5, `inlier ${i}: ${scores[i]}`);
    for (let i = 3; i < 6; i++) assert.ok((scores[i] as number) > 0.6, `outlier ${i - 3}: ${scores[i]}`);
  });

  it('agrees with scikit-learn on the same blob within 0.03', () => {
    // Same blob regenerated in Python (mulberry32 + Box-Muller ported), then the mean over 20
    // random_state values of -IsolationForest(n_estimators=500, max_samples=256).fit(X).score_samples(Q)
    // (sklearn's own spread across seeds: sd <= 0.007).
    const sklearn = [0.3963, 0.4125, 0.427, 0.7676, 0.7932, 0.6726];
    const { scores } = fitIsolationForest(BLOB, {
      trees: 500,
      sampleSize: 256,
      seed: 3,
    }).score([...INLIERS, ...OUTLIERS]);
    sklearn.forEach((expected, i) => assert.ok(Math.abs((scores[i] as number) - expected) < 0.03, `[${i}] ${scores[i]} vs scikit-learn ${expected}`));
  });

  it('gives identical scores for the same seed and different ones for another seed', () => {
    const options = { trees: 50, sampleSize: 64, seed: 42 };
    const queries = [...INLIERS, ...OUTLIERS, ...BLOB.slice(0, 20)];
    const a = fitIsolationForest(BLOB, options).score(queries).scores;
    const b = fitIsolationForest(BLOB, options).score(queries).scores;
    const c = fitIsolationForest(BLOB, { ...options, seed: 43 }).score(queries).scores;
    assert.deepEqual(a, b);
    assert.notDeepEqual(a, c);
  });

  it('subsamples min(sampleSize, n) rows and keeps every score in (0, 1]', () => {
    const small = BLOB.slice(0, 40);
    const forest = fitIsolationForest(small, {
      trees: 20,
      sampleSize: 256,
      seed: 1,
    });
    assert.equal(forest.sampleSize, 40);
    const { scores } = forest.score(small);
    assert.ok(scores.every((s) => s > 0 && s <= 1));
  });

  it('scores every row alike when the reference rows are all identical', () => {
    const same = Array.from({ length: 10 }, () => Float64Array.of(1, 2));
    const { scores } = fitIsolationForest(same, {
      trees: 5,
      sampleSize: 8,
      seed: 0,
    }).score([
      [1, 2],
      [100, -100],
    ]);
    // Trees are single leaves of 8 rows: h = c(8), so s = 2^-(c(8)/c(8)) = 0.5.
    assert.ok(
      scores.every((s) => Math.abs(s - 0.5) < 1e-12),
      `${scores.join(', ')}`,
    );
  });

  it('gives a NaN score to a row holding NaN', () => {
    const { scores } = fitIsolationForest(BLOB, {
      trees: 10,
      sampleSize: 32,
      seed: 0,
    }).score([[NaN, 0]]);
    assert.ok(Number.isNaN(scores[0]));
  });

  const badOptions: [string, { trees: number; sampleSize: number; seed: number }, RegExp][] = [
    ['zero trees', { trees: 0, sampleSize: 16, seed: 0 }, /trees must be an integer >= 1, got 0/],
    ['a sample size of 1', { trees: 10, sampleSize: 1, seed: 0 }, /sampleSize must be an integer >= 2, got 1/],
  ];
  for (const [what, options, message] of badOptions) {
    it(`refuses ${what}`, () => {
      assert.throws(() => fitIsolationForest(BLOB, options), { message });
    });
  }
});

describe('mulberry32', () => {
  it('yields the reference sequence for seed 42 and stays in [0, 1)', () => {
    // Python port of the same function: first three values for seed 42.
    const random = mulberry32(42);
    assert.deepEqual([random(), random(), random()], [0.6011037519201636, 0.44829055899754167, 0.8524657934904099]);
    const more = Array.from({ length: 1000 }, mulberry32(1));
    assert.ok(more.every((x) => x >= 0 && x < 1));
  });
});
