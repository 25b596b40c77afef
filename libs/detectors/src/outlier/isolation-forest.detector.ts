import { checkScoreRows, referenceFeatures } from './detector-input';
import { seededRandom as mulberry32 } from '../random/seeded-random';
import type { OutlierDetector, OutlierScores } from './outlier-detector';

const EULER_GAMMA = 0.5772156649;

/**
 * c(n): the average path length of an unsuccessful search in a binary search tree of n points,
 * 2H(n-1) - 2(n-1)/n with H(i) = ln(i) + Euler's constant (Liu et al. 2008, eq. 1). c(2) = 1 (two
 * points always separate in one split, as scikit-learn has it) and c(n) = 0 for n <= 1.
 */
export function averagePathLength(n: number): number {
  if (n <= 1) return 0;
  if (n === 2) return 1;
  return 2 * (Math.log(n - 1) + EULER_GAMMA) - (2 * (n - 1)) / n;
}

export interface IsolationForestOptions {
  trees: number;
  sampleSize: number;
  seed: number;
}

/**
 * One isolation tree in flat arrays. Node k is internal when `feature[k] >= 0` (rows with
 * x[feature] < split go to `left[k]`, the others to `right[k]`), external otherwise, holding
 * `size[k]` training rows.
 */
interface IsolationTree {
  feature: Int32Array;
  split: Float64Array;
  left: Int32Array;
  right: Int32Array;
  size: Int32Array;
}

/**
 * Isolation forest (Liu, Ting and Zhou, ICDM 2008). Each tree is grown on `min(sampleSize, n)`
 * reference rows drawn without replacement, to height ceil(log2(ψ)); each node splits a feature
 * chosen uniformly among those not constant in the node, at a uniform point between its min and
 * max. A row scores s = 2^(-E[h(x)] / c(ψ)), h being the depth it reaches plus c(size) of its
 * external node: near 1 for anomalies, at or below 0.5 for ordinary rows.
 *
 * Randomness comes from one mulberry32 stream seeded with `seed`, consumed tree by tree (subsample,
 * then splits in depth-first order), so the same seed and reference give the same scores.
 */
export class IsolationForestDetector implements OutlierDetector {
  private readonly normaliser: number;

  constructor(
    readonly features: number,
    private readonly trees: readonly IsolationTree[],
    readonly sampleSize: number,
  ) {
    this.normaliser = averagePathLength(sampleSize);
  }

  score(rows: readonly ArrayLike<number>[]): OutlierScores {
    checkScoreRows(rows, this.features);
    const scores = new Float64Array(rows.length);
    rows.forEach((row, r) => {
      let total = 0;
      for (const tree of this.trees) total += pathLength(tree, row);
      scores[r] = Math.pow(2, -total / this.trees.length / this.normaliser);
    });
    return { scores };
  }
}

export function fitIsolationForest(rows: readonly ArrayLike<number>[], options: IsolationForestOptions): IsolationForestDetector {
  const features = referenceFeatures('isolation-forest', rows);
  const { trees, sampleSize, seed } = options;
  if (!Number.isInteger(trees) || trees < 1) throw new Error(`isolation-forest: trees must be an integer >= 1, got ${trees}`);
  if (!Number.isInteger(sampleSize) || sampleSize < 2) throw new Error(`isolation-forest: sampleSize must be an integer >= 2, got ${sampleSize}`);
  const psi = Math.min(sampleSize, rows.length);
  const heightLimit = Math.ceil(Math.log2(psi));
  const random = mulberry32(seed);
  const order = Int32Array.from(rows.keys());
  const forest: IsolationTree[] = [];
  for (let t = 0; t < trees; t++) {
    // Partial Fisher-Yates: order[0..psi) becomes a uniform sample without replacement.
    for (let i = 0; i < psi; i++) {
      const j = i + Math.floor(random() * (rows.length - i));
      const held = order[i] as number;
      order[i] = order[j] as number;
      order[j] = held;
    }
    forest.push(growTree(rows, order.slice(0, psi), features, heightLimit, random));
  }
  return new IsolationForestDetector(features, forest, psi);
}

function growTree(rows: readonly ArrayLike<number>[], sample: Int32Array, features: number, heightLimit: number, random: () => number): IsolationTree {
  const feature: number[] = [];
  const split: number[] = [];
  const left: number[] = [];
  const right: number[] = [];
  const size: number[] = [];
  const min = new Float64Array(features);
  const max = new Float64Array(features);
  const candidates: number[] = [];

  // `sample` is partitioned in place; a node owns the slice [from, to).
  const grow = (from: number, to: number, depth: number): number => {
    const node = feature.length;
    feature.push(-1);
    split.push(0);
    left.push(-1);
    right.push(-1);
    size.push(to - from);
    if (depth >= heightLimit || to - from <= 1) return node;
    min.fill(Infinity);
    max.fill(-Infinity);
    for (let k = from; k < to; k++) {
      const row = rows[sample[k] as number] as ArrayLike<number>;
      for (let f = 0; f < features; f++) {
        const v = row[f] as number;
        if (v < (min[f] as number)) min[f] = v;
        if (v > (max[f] as number)) max[f] = v;
      }
    }
    candidates.length = 0;
    for (let f = 0; f < features; f++) if ((max[f] as number) > (min[f] as number)) candidates.push(f);
    if (candidates.length === 0) return node; // all rows identical: nothing to isolate
    const q = candidates[Math.floor(random() * candidates.length)] as number;
    const lo = min[q] as number;
    const p = lo + random() * ((max[q] as number) - lo);
    let mid = from;
    for (let k = from; k < to; k++) {
      const index = sample[k] as number;
      if (((rows[index] as ArrayLike<number>)[q] as number) < p) {
        sample[k] = sample[mid] as number;
        sample[mid] = index;
        mid++;
      }
    }
    feature[node] = q;
    split[node] = p;
    left[node] = grow(from, mid, depth + 1);
    right[node] = grow(mid, to, depth + 1);
    return node;
  };
  grow(0, sample.length, 0);
  return {
    feature: Int32Array.from(feature),
    split: Float64Array.from(split),
    left: Int32Array.from(left),
    right: Int32Array.from(right),
    size: Int32Array.from(size),
  };
}

function pathLength(tree: IsolationTree, row: ArrayLike<number>): number {
  let node = 0;
  let depth = 0;
  for (let q = tree.feature[0] as number; q >= 0; q = tree.feature[node] as number) {
    const v = row[q] as number;
    if (Number.isNaN(v)) return NaN;
    node = (v < (tree.split[node] as number) ? tree.left[node] : tree.right[node]) as number;
    depth++;
  }
  return depth + averagePathLength(tree.size[node] as number);
}
