import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { detectDrift, type DriftOptions } from './drift.detector';
import { assertClose, mmdReferenceColumns, normalSample } from './drift.fixtures';
import { seededRandom } from '../random/seeded-random';

// Synthetic columns from a seeded generator: three features, the window shifted in feature 1 only.

const OPTIONS: DriftOptions = { pValue: 0.05, correction: 'bonferroni', ksMode: 'auto', permutations: 100, seed: 0 };

function columns(seed: number, rows: number, shifts: number[]): Float64Array[] {
  const random = seededRandom(seed);
  return shifts.map((shift) => normalSample(random, rows, shift));
}

/** Integer categories 0..4; `shifted` moves the window's mass up. */
function categorical(seed: number, rows: number, shifted: boolean[]): Float64Array[] {
  const random = seededRandom(seed);
  return shifted.map((s) => Float64Array.from({ length: rows }, () => Math.min(4, Math.floor(random() * 4) + (s && random() < 0.6 ? 1 : 0))));
}

describe('drift detector', () => {
  const reference = columns(1, 500, [0, 0, 0]);
  const window = columns(2, 200, [0, 1, 0]);

  for (const method of ['ks', 'cvm'] as const) {
    it(`flags only the shifted feature with ${method} under bonferroni`, () => {
      const result = detectDrift(method, reference, window, OPTIONS);
      assert.equal(result.threshold, 0.05 / 3);
      assert.deepEqual(
        result.pVal.map((p) => p < result.threshold),
        [false, true, false],
        `p-values ${result.pVal.join(', ')}`,
      );
      assert.equal(result.isDrift, true);
      assert.equal(result.distance.length, 3);
      assert.ok((result.distance[1] ?? 0) > Math.max(result.distance[0] ?? 0, result.distance[2] ?? 0));
    });
  }

  it('flags only the shifted feature with chi2 on categorical columns', () => {
    const result = detectDrift('chi2', categorical(3, 400, [false, false, false]), categorical(4, 300, [false, true, false]), OPTIONS);
    assert.deepEqual(
      result.pVal.map((p) => p < result.threshold),
      [false, true, false],
      `p-values ${result.pVal.join(', ')}`,
    );
    assert.equal(result.isDrift, true);
  });

  it('reports no drift for a window from the reference distribution', () => {
    for (const method of ['ks', 'cvm', 'chi2'] as const) {
      const [ref, win] = method === 'chi2' ? [categorical(5, 300, [false, false]), categorical(6, 250, [false, false])] : [columns(5, 300, [0, 0]), columns(6, 250, [0, 0])];
      const result = detectDrift(method, ref, win, { ...OPTIONS, correction: 'fdr' });
      assert.equal(result.isDrift, false, `${method}: p-values ${result.pVal.join(', ')}`);
    }
  });

  it('tests all features at once with mmd, uncorrected', () => {
    const shifted = detectDrift('mmd', columns(7, 100, [0, 0, 0]), columns(8, 80, [0, 2, 0]), OPTIONS);
    assert.equal(shifted.pVal.length, 1);
    assert.equal(shifted.distance.length, 1);
    assert.equal(shifted.threshold, 0.05);
    assert.equal(shifted.isDrift, true);
    const same = detectDrift('mmd', columns(7, 100, [0, 0, 0]), columns(9, 80, [0, 0, 0]), OPTIONS);
    assert.equal(same.isDrift, false, `p = ${same.pVal[0]}`);
  });

  it('reports each chi2 feature\'s degrees of freedom and uses the chi2 correction it is given', () => {
    // reference_values.py: feature 0 "chi2 drift [[2, 3, 4, 1], [1, 2, 5, 4]]", feature 1
    // "chi2 detector feature 1 [[6, 4], [2, 10]]" with correction=True / False.
    const reference = [new Float64Array([0, 0, 1, 1, 1, 2, 2, 2, 2, 3]), new Float64Array([1, 1, 1, 1, 1, 1, 2, 2, 2, 2])];
    const window = [new Float64Array([0, 1, 1, 2, 2, 2, 2, 2, 3, 3, 3, 3]), new Float64Array([1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2])];
    const options: DriftOptions = { ...OPTIONS, correction: 'none' };
    for (const [chi2, distance, pVal, isDrift] of [
      [undefined, 2.751636904761904, 0.09715491771135674, false],
      [{ correction: 'yates' }, 2.751636904761904, 0.09715491771135674, false],
      [{ correction: 'none' }, 4.426190476190476, 0.035391416429758245, true],
    ] as const) {
      const result = detectDrift('chi2', reference, window, { ...options, chi2 });
      assert.deepEqual(result.dof, [3, 1]);
      assertClose(result.distance[0] ?? Number.NaN, 2.2814814814814817, 1e-9, 'feature 0 chi2');
      assertClose(result.pVal[0] ?? Number.NaN, 0.516077843751737, 1e-9, 'feature 0 p');
      assertClose(result.distance[1] ?? Number.NaN, distance, 1e-9, `feature 1 chi2 (${chi2?.correction ?? 'default'})`);
      assertClose(result.pVal[1] ?? Number.NaN, pVal, 1e-9, `feature 1 p (${chi2?.correction ?? 'default'})`);
      assert.equal(result.isDrift, isDrift);
    }
    assert.equal(detectDrift('ks', reference, window, options).dof, undefined, 'dof belongs to chi2 only');
  });

  it('passes the mmd options on, standardising by default', () => {
    // reference_values.py "mmd2 standardize=True|False sigma=1.5 unbiased".
    const { x, y } = mmdReferenceColumns();
    const standardised = detectDrift('mmd', x, y, { ...OPTIONS, mmd: { estimator: 'unbiased', sigma: 1.5 } });
    assertClose(standardised.distance[0] ?? Number.NaN, 0.1790902584525963, 1e-9);
    const raw = detectDrift('mmd', x, y, { ...OPTIONS, mmd: { estimator: 'unbiased', sigma: 1.5, standardize: false } });
    assertClose(raw.distance[0] ?? Number.NaN, -0.027803121090429594, 1e-9);
    const defaults = detectDrift('mmd', x, y, OPTIONS);
    assertClose(defaults.distance[0] ?? Number.NaN, 0.25670764286879755, 1e-9, 'biased, median sigma, standardised');
  });

  it('uses the correction it is given', () => {
    const none = detectDrift('ks', reference, window, { ...OPTIONS, correction: 'none' });
    assert.equal(none.threshold, 0.05);
    const fdr = detectDrift('ks', reference, window, { ...OPTIONS, correction: 'fdr' });
    assert.equal(fdr.threshold, 0.05 / 3, 'one rejection: BH cut-off 1 * alpha / m');
  });

  it('names the problem when reference and window do not line up', () => {
    assert.throws(() => detectDrift('ks', reference, window.slice(0, 2), OPTIONS), /drift \(ks\): the window has 2 feature columns, the reference 3/);
    assert.throws(() => detectDrift('cvm', reference, [window[0] ?? new Float64Array(), new Float64Array([1]), window[2] ?? new Float64Array()], OPTIONS), /drift \(cvm\) feature 1: needs at least 2/);
    assert.throws(() => detectDrift('ks', [new Float64Array([1, Number.NaN])], [new Float64Array([1])], OPTIONS), /drift \(ks\) feature 0: ks: sample x has NaN at index 1/);
    assert.throws(() => detectDrift('mmd', [new Float64Array([1, 2]), new Float64Array([1])], [new Float64Array([1]), new Float64Array([1])], OPTIONS), /reference column 1 has 1 rows, column 0 has 2/);
    assert.throws(() => detectDrift('mmd', [new Float64Array()], [new Float64Array([1])], OPTIONS), /drift \(mmd\): mmd: each sample needs at least one row, got 0 and 1/);
  });
});
