import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { before, describe, it } from 'node:test';
import {
  chiSquareContingency,
  correctPValues,
  cvmTwoSample,
  detectDrift,
  ksTwoSample,
  mmdPermutationTest,
  type KsMode,
  type MmdEstimator,
  type MmdSigma,
} from '@infergraph/detectors';
import { repoPath } from '../support/repo';

// Integration: the project's own scripts/detectors/reference_values.py, run with the pinned scipy and
// numpy of the models venv (scripts/models/requirements.txt, made by scripts/python-venv.sh when
// missing), prints its cases with their inputs as JSON; each is recomputed here by libs/detectors and
// compared at 1e-9. The unit specs hold the same numbers as literals; this proves they are the script's.

const TOLERANCE = 1e-9;

interface ReferenceCases {
  readonly scipy: string;
  readonly numpy: string;
  readonly cases: {
    readonly benjaminiHochberg: { pValues: number[]; q: number; threshold: number; rejected: boolean[]; scipyRejected: boolean[] }[];
    readonly mmd: { x: number[][]; y: number[][]; sigma: MmdSigma; estimator: MmdEstimator; standardize: boolean; statistic: number; bandwidth: number | number[] }[];
    readonly chi2Contingency: { table: number[][]; yates: boolean; statistic: number; pValue: number; dof: number }[];
    readonly chi2Drift: { reference: number[][]; window: number[][]; correction: 'yates' | 'none'; distance: number[]; pVal: number[]; dof: number[] }[];
    readonly ks: { label: string; x: number[]; y: number[]; mode: KsMode; statistic: number; pValue: number }[];
    readonly cvm: { label: string; x: number[]; y: number[]; statistic: number; pValue: number }[];
  };
}

function close(actual: number, expected: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= TOLERANCE, `${what}: ${actual}, scipy/numpy ${expected} (|diff| ${Math.abs(actual - expected)} > ${TOLERANCE})`);
}

/** The version scripts/models/requirements.txt pins for a package. */
function requirementPin(name: string): string | undefined {
  const line = readFileSync(repoPath('scripts', 'models', 'requirements.txt'), 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${name}==`));
  return line?.slice(name.length + 2).trim();
}

describe('drift statistics against scripts/detectors/reference_values.py', () => {
  let reference: ReferenceCases;

  before(() => {
    const python = execFileSync('bash', [repoPath('scripts', 'python-venv.sh'), 'venv-models', repoPath('scripts', 'models', 'requirements.txt'), '11', 'models'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    }).trim();
    const json = execFileSync(python, [repoPath('scripts', 'detectors', 'reference_values.py'), '--json'], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    reference = JSON.parse(json) as ReferenceCases;
  });

  it('ran with the scipy and numpy that scripts/models/requirements.txt pins', () => {
    assert.equal(reference.scipy, requirementPin('scipy'));
    assert.equal(reference.numpy, requirementPin('numpy'));
  });

  it('rejects what textbook Benjamini-Hochberg (p(k) <= k q / m) and scipy reject, including a p-value on its bound', () => {
    const cases = reference.cases.benjaminiHochberg;
    assert.ok(cases.length >= 2);
    for (const c of cases) {
      const what = `q = ${c.q}, p = ${JSON.stringify(c.pValues)}`;
      assert.deepEqual(c.rejected, c.scipyRejected, `the script's rule and scipy's false_discovery_control disagree on ${what}`);
      const result = correctPValues(c.pValues, 'fdr', c.q);
      assert.deepEqual(result.rejected, c.rejected, what);
      close(result.threshold, c.threshold, `cut-off for ${what}`);
    }
  });

  it('computes MMD^2 and its sigma as numpy does for every estimator, sigma and standardisation', () => {
    const cases = reference.cases.mmd;
    assert.equal(cases.length, 12);
    for (const c of cases) {
      const what = `${c.estimator}, sigma ${JSON.stringify(c.sigma)}, standardize ${c.standardize}`;
      const result = mmdPermutationTest(c.x, c.y, { permutations: 10, seed: 0, estimator: c.estimator, sigma: c.sigma, standardize: c.standardize });
      close(result.statistic, c.statistic, `MMD^2 (${what})`);
      if (typeof c.bandwidth === 'number') close(result.bandwidth as number, c.bandwidth, `sigma (${what})`);
      else assert.deepEqual(result.bandwidth, c.bandwidth, `sigma (${what})`);
    }
  });

  it('gives the statistic, p-value and dof of scipy.stats.chi2_contingency, with and without Yates', () => {
    for (const c of reference.cases.chi2Contingency) {
      const what = `${JSON.stringify(c.table)} correction=${c.yates}`;
      const result = chiSquareContingency(c.table, c.yates);
      close(result.statistic, c.statistic, `chi2 of ${what}`);
      close(result.pValue, c.pValue, `p of ${what}`);
      assert.equal(result.dof, c.dof, `dof of ${what}`);
    }
  });

  it('reports per feature the chi2, p-value and dof of scipy for the detector, under chi2.correction yates and none', () => {
    const cases = reference.cases.chi2Drift;
    assert.deepEqual(cases.map((c) => c.correction).sort(), ['none', 'yates']);
    for (const c of cases) {
      const columns = (rows: number[][]): Float64Array[] => rows.map((r) => Float64Array.from(r));
      const result = detectDrift('chi2', columns(c.reference), columns(c.window), { pValue: 0.05, correction: 'none', ksMode: 'auto', permutations: 10, seed: 0, chi2: { correction: c.correction } });
      assert.deepEqual(result.dof, c.dof, `dof (${c.correction})`);
      c.distance.forEach((d, f) => close(result.distance[f] ?? Number.NaN, d, `feature ${f} chi2 (${c.correction})`));
      c.pVal.forEach((p, f) => close(result.pVal[f] ?? Number.NaN, p, `feature ${f} p (${c.correction})`));
    }
  });

  it('gives the KS statistic and p-value of scipy.stats.ks_2samp in each mode', () => {
    for (const c of reference.cases.ks) {
      const result = ksTwoSample(c.x, c.y, c.mode);
      close(result.statistic, c.statistic, `D of ${c.label} [${c.mode}]`);
      close(result.pValue, c.pValue, `p of ${c.label} [${c.mode}]`);
    }
  });

  it('gives the Cramér-von Mises statistic and p-value of scipy.stats.cramervonmises_2samp', () => {
    for (const c of reference.cases.cvm) {
      const result = cvmTwoSample(c.x, c.y);
      close(result.statistic, c.statistic, `T of ${c.label}`);
      close(result.pValue, c.pValue, `p of ${c.label}`);
    }
  });
});
