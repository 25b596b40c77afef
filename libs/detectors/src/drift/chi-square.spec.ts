import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chiSquareContingency, chiSquareDrift, chiSquareGoodnessOfFit, chiSquareSf } from './chi-square';
import { assertClose } from './drift.fixtures';

// Expected values: scipy 1.17.1, printed by scripts/detectors/reference_values.py.

describe('chi-square survival function', () => {
  it('matches scipy.stats.chi2.sf to 1e-12 across small and large degrees of freedom', () => {
    const cases: [number, number, number][] = [
      [0.5, 1, 0.47950012218695337],
      [3.84, 1, 0.05004352124870519],
      [10.0, 3, 0.01856613546304325],
      [0.2, 4, 0.9953211598395555],
      [30.0, 10, 0.000856641210775301],
      [150.0, 120, 0.03307348091130466],
      [1100.0, 1000, 0.014614408126295192],
      [90.0, 100, 0.7531979655998298],
      [5.0, 40, 0.9999999999965196],
    ];
    for (const [x, dof, p] of cases) assertClose(chiSquareSf(x, dof), p, 1e-12, `chi2.sf(${x}, ${dof})`);
  });

  it('is 1 at and below zero', () => {
    assert.equal(chiSquareSf(0, 3), 1);
    assert.equal(chiSquareSf(-1, 3), 1);
  });
});

describe('chi-square goodness of fit', () => {
  it('tests against a uniform expectation by default', () => {
    // scipy.stats.chisquare([4, 8, 12, 8])
    const result = chiSquareGoodnessOfFit([4, 8, 12, 8]);
    assert.equal(result.statistic, 4);
    assert.equal(result.dof, 3);
    assertClose(result.pValue, 0.26146412994911117);
  });

  it('tests against given expected counts', () => {
    // scipy.stats.chisquare([10, 20, 30], f_exp=[20, 20, 20])
    const result = chiSquareGoodnessOfFit([10, 20, 30], [20, 20, 20]);
    assert.equal(result.statistic, 10);
    assertClose(result.pValue, 0.006737946999085468);
  });

  it('refuses expected counts with a different total', () => {
    assert.throws(() => chiSquareGoodnessOfFit([10, 20], [10, 10]), /observed counts sum to 30, expected ones to 20/);
  });
});

describe('chi-square contingency test', () => {
  // scipy.stats.chi2_contingency(table, correction=yates)
  const cases: [string, number[][], boolean, number, number, number][] = [
    ['a 2x2 table with Yates', [[12, 5], [7, 9]], true, 1.455996378814684, 0.22756821457580642, 1],
    ['a 2x2 table without Yates', [[12, 5], [7, 9]], false, 2.4305755196815575, 0.118989205532145, 1],
    ['a 2x3 table (no Yates at dof 2)', [[10, 20, 30], [6, 9, 17]], true, 0.27157465150403504, 0.873028283380073, 2],
    ['a 2x2 table with a zero cell', [[3, 0], [1, 4]], true, 2.1333333333333333, 0.14412703481601116, 1],
  ];
  for (const [name, table, yates, statistic, pValue, dof] of cases) {
    it(`matches scipy on ${name}`, () => {
      const result = chiSquareContingency(table, yates);
      assertClose(result.statistic, statistic, 1e-12, 'statistic');
      assertClose(result.pValue, pValue, 1e-9, 'p');
      assert.equal(result.dof, dof);
    });
  }

  it('names the cell whose expected count is zero', () => {
    assert.throws(() => chiSquareContingency([[0, 0], [1, 4]]), /expected count of cell \[0\]\[0\] is 0/);
  });
});

describe('chi-square drift on categorical values', () => {
  it('tests reference counts against window counts over the categories seen in either', () => {
    // chi2_contingency([[2, 3, 4, 1], [1, 2, 5, 4]]): categories 0..3
    const result = chiSquareDrift([0, 0, 1, 1, 1, 2, 2, 2, 2, 3], [0, 1, 1, 2, 2, 2, 2, 2, 3, 3, 3, 3]);
    assertClose(result.statistic, 2.2814814814814817, 1e-12);
    assertClose(result.pValue, 0.516077843751737);
    assert.equal(result.dof, 3);
  });

  // chi2_contingency([[3, 2], [1, 5]], correction=True / False)
  const twoCategories = (correction?: 'yates' | 'none') => chiSquareDrift(new Float64Array([1, 1, 1, 2, 2]), new Float64Array([1, 2, 2, 2, 2, 2]), correction);

  it('applies Yates when there are two categories', () => {
    const result = twoCategories();
    assertClose(result.statistic, 0.7366071428571428, 1e-12);
    assertClose(result.pValue, 0.3907499036204136);
    assert.equal(result.dof, 1);
  });

  it('matches chi2_contingency with correction=True for yates and correction=False for none', () => {
    const yates = twoCategories('yates');
    assertClose(yates.statistic, 0.7366071428571428, 1e-9);
    assertClose(yates.pValue, 0.3907499036204136, 1e-9);
    const none = twoCategories('none');
    assertClose(none.statistic, 2.213095238095238, 1e-9);
    assertClose(none.pValue, 0.13684386604293008, 1e-9);
    assert.equal(none.dof, 1);
  });

  it('gives p = 1 and dof 0 when reference and window share a single category', () => {
    assert.deepEqual(chiSquareDrift([7, 7, 7], [7, 7]), { statistic: 0, pValue: 1, dof: 0 });
  });

  it('gives p = 1 for identical reference and window counts', () => {
    const { pValue } = chiSquareDrift([1, 2, 3, 3], [3, 2, 1, 3]);
    assertClose(pValue, 1, 1e-12);
  });
});
