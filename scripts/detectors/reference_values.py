#!/usr/bin/env python3
"""Prints the scipy/numpy reference values that libs/detectors/src/drift/*.spec.ts hold as literals.

The specs never run Python; this script is how their numbers were made, and how to re-check them
against another scipy:  .cache/venv-models/bin/python scripts/detectors/reference_values.py
(written against scipy 1.17.1 and numpy 2.3.5, the pins of scripts/models/requirements.txt; the venv
is made by `bash scripts/python-venv.sh venv-models scripts/models/requirements.txt 11 models`).
With --json it prints instead one JSON document of the cases, inputs included, that
test/integration/detector-reference.test.ts recomputes with libs/detectors and compares at 1e-9.
Data are deterministic sequences that TypeScript rebuilds bit for bit: frac(i * step) * scale + offset
for i = 1..n (see drift.fixtures.ts, fractionalSequence).
"""
import json
import sys
import warnings
from decimal import Decimal, getcontext

import numpy as np
import scipy
from scipy import special, stats
from scipy.stats._hypotests import _cdf_cvm_inf  # private: the limiting CvM cdf


def seq(n, step, scale=1.0, offset=0.0):
    return [((i * step) % 1.0) * scale + offset for i in range(1, n + 1)]


JSON_MODE = "--json" in sys.argv[1:]
CASES = {}


def show(label, value):
    if not JSON_MODE:
        print(f"{label}: {value!r}")


def record(section, **case):
    """One case for --json: plain floats, ints, bools, strings and lists only."""
    CASES.setdefault(section, []).append(case)


def floats(values):
    return [float(v) for v in values]


def ks(label, x, y, method="auto"):
    r = stats.ks_2samp(x, y, method=method)
    show(f"ks {label} [{method}]", (float(r.statistic), float(r.pvalue)))
    record("ks", label=label, x=floats(x), y=floats(y), mode=method, statistic=float(r.statistic), pValue=float(r.pvalue))


if not JSON_MODE:
    print("scipy", scipy.__version__, "numpy", np.__version__)

# -- Kolmogorov-Smirnov --------------------------------------------------------------------------
ks("published a", [1.01, 2.01], [1, 2, 3, 4])
ks("published b", [0.99, 1.99], [1, 2, 3, 4])
lin_x = np.linspace(1, 100, 100)
lin_y = np.linspace(1, 100, 110) + 20.1
ks("linspace", lin_x, lin_y, "exact")
ks("linspace", lin_x, lin_y, "asymp")
show("kolmogorov(1.36)", float(special.kolmogorov(1.36)))
for k in [0.3, 0.82, 1.0, 2.5]:
    show(f"kolmogorov({k})", float(special.kolmogorov(k)))
ks("ties", [1, 1, 2, 2, 3, 3, 3, 4], [2, 2, 3, 3, 4, 4, 5, 5, 5])
ks("ties", [1, 1, 2, 2, 3, 3, 3, 4], [2, 2, 3, 3, 4, 4, 5, 5, 5], "asymp")
ks("equal sizes 300", seq(300, 0.6180339887498949), seq(300, 0.41421356237309515, 0.9, 0.15))
ks("600 vs 450", seq(600, 0.6180339887498949), seq(450, 0.7320508075688772, 0.9, 0.12))
ks("600 vs 450", seq(600, 0.6180339887498949), seq(450, 0.7320508075688772, 0.9, 0.12), "asymp")
ks("3000 vs 2000", seq(3000, 0.6180339887498949), seq(2000, 0.41421356237309515, 1.0, 0.03), "asymp")
ks("12000 vs 11000", seq(12000, 0.6180339887498949), seq(11000, 0.41421356237309515, 1.0, 0.01))
ks("10000 vs 9999", seq(10000, 0.6180339887498949), seq(9999, 0.41421356237309515, 1.0, 0.02))
with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # "Exact ks_2samp calculation not possible ... Switching to 'asymp'"
    ks("50000 vs 49999", seq(50000, 0.6180339887498949), seq(49999, 0.41421356237309515, 1.0, 0.005), "exact")
for n, d in [(10, 0.07), (10, 0.95), (50, 0.6), (100, 0.05), (100, 0.15), (100, 0.25),
             (1000, 0.01), (1000, 0.02), (1000, 0.05), (200000, 0.002), (200000, 0.004)]:
    show(f"kstwo.sf({d}, {n})", float(stats.kstwo.sf(d, n)))

# -- chi-square ----------------------------------------------------------------------------------
r = stats.chisquare([4, 8, 12, 8])
show("chisquare [4, 8, 12, 8]", (float(r.statistic), float(r.pvalue)))
r = stats.chisquare([10, 20, 30], f_exp=[20, 20, 20])
show("chisquare [10, 20, 30] vs [20, 20, 20]", (float(r.statistic), float(r.pvalue)))
for table, corr in [([[12, 5], [7, 9]], True), ([[12, 5], [7, 9]], False), ([[10, 20, 30], [6, 9, 17]], True),
                    ([[3, 0], [1, 4]], True)]:
    r = stats.chi2_contingency(table, correction=corr)
    show(f"chi2_contingency {table} correction={corr}", (float(r.statistic), float(r.pvalue), int(r.dof)))
    record("chi2Contingency", table=table, yates=corr, statistic=float(r.statistic), pValue=float(r.pvalue), dof=int(r.dof))
for x, dof in [(0.5, 1), (3.84, 1), (10.0, 3), (0.2, 4), (30.0, 10), (150.0, 120), (1100.0, 1000), (90.0, 100), (5.0, 40)]:
    show(f"chi2.sf({x}, {dof})", float(stats.chi2.sf(x, dof)))
ref = [0, 0, 1, 1, 1, 2, 2, 2, 2, 3]
win = [0, 1, 1, 2, 2, 2, 2, 2, 3, 3, 3, 3]
cats = sorted(set(ref) | set(win))
table = [[ref.count(c) for c in cats], [win.count(c) for c in cats]]
r = stats.chi2_contingency(table)
show(f"chi2 drift {table}", (float(r.statistic), float(r.pvalue)))
show(f"  dof", int(r.dof))
table = [[[1, 1, 1, 2, 2].count(c) for c in (1, 2)], [[1, 2, 2, 2, 2, 2].count(c) for c in (1, 2)]]
for corr in [True, False]:
    r = stats.chi2_contingency(table, correction=corr)
    show(f"chi2 drift two categories {table} correction={corr}", (float(r.statistic), float(r.pvalue), int(r.dof)))
# Detector columns: feature 0 as "chi2 drift" above, feature 1 two categories 1 and 2.
ref1 = [1] * 6 + [2] * 4
win1 = [1] * 2 + [2] * 10
table = [[ref1.count(c) for c in (1, 2)], [win1.count(c) for c in (1, 2)]]
for corr in [True, False]:
    r = stats.chi2_contingency(table, correction=corr)
    show(f"chi2 detector feature 1 {table} correction={corr}", (float(r.statistic), float(r.pvalue), int(r.dof)))
    # The detector's view: two feature columns, each tested as its own 2 x K table (scipy corrects dof 1 only).
    per_feature = [stats.chi2_contingency([[rc.count(c) for c in sorted(set(rc) | set(wc))], [wc.count(c) for c in sorted(set(rc) | set(wc))]], correction=corr)
                   for rc, wc in [(ref, win), (ref1, win1)]]
    record("chi2Drift", reference=[floats(ref), floats(ref1)], window=[floats(win), floats(win1)], correction="yates" if corr else "none",
           distance=[float(f.statistic) for f in per_feature], pVal=[float(f.pvalue) for f in per_feature], dof=[int(f.dof) for f in per_feature])

# -- Benjamini-Hochberg ----------------------------------------------------------------------------
# Textbook rule: reject p(1)..p(k) for the largest k with p(k) <= k q / m (the bound computed as
# (k * q) / m, as correction.ts does); scipy's adjusted p-values agree: rejected where adjusted <= q.
# The second case has p(4) = 4 q / m exactly: the strict rule (<) would stop at k = 3.
for q, p in [(0.05, [0.5, 0.02, 0.2, 0.015, 0.9]), (0.1, [0.08, 0.02, 0.5, 0.06, 0.04]),
             (0.05, [0.001, 0.008, 0.039, 0.041, 0.042, 0.06, 0.074, 0.205, 0.212, 0.216]), (0.05, [0.3, 0.2, 0.9])]:
    m = len(p)
    ranked = sorted(p)
    k = max([i for i in range(1, m + 1) if ranked[i - 1] <= (i * q) / m], default=0)
    cut = (k * q) / m if k > 0 else q / m
    rejected = [x <= cut for x in p] if k > 0 else [False] * m
    scipy_rejected = [bool(a <= q) for a in stats.false_discovery_control(p, method="bh")]
    show(f"bh q={q} {p} cut-off, rejected", (cut, rejected))
    show(f"  false_discovery_control <= q", scipy_rejected)
    record("benjaminiHochberg", pValues=p, q=q, threshold=cut, rejected=rejected, scipyRejected=scipy_rejected)

# -- MMD^2 ------------------------------------------------------------------------------------------
# RBF kernel k(a, b) = exp(-||a - b||^2 / (2 sigma^2)), or with one sigma per feature
# exp(-sum_f (a_f - b_f)^2 / (2 sigma_f^2)). Median heuristic: the median of the Euclidean (not
# squared) distances over the pairs i < j of the pooled sample, zero distances left out. Standardised:
# both samples minus the reference (x) mean, over its standard deviation (ddof 1; 0 counts as 1).
MMD_X = np.array([seq(24, 0.6180339887498949), seq(24, 0.41421356237309515, 10.0), seq(24, 0.7320508075688772, 0.1)]).T
MMD_Y = np.array([seq(20, 0.2360679774997898, 1.0, 0.3), seq(20, 0.6457513110645907, 10.0, 1.0), seq(20, 0.1622776601683795, 0.1, 0.05)]).T


def median_sigma(z):
    d = np.sqrt(((z[:, None, :] - z[None, :, :]) ** 2).sum(axis=-1))
    pairs = d[np.triu_indices(len(z), 1)]
    pairs = pairs[pairs > 0]
    return float(np.median(pairs)) if pairs.size else 1.0


def mmd2(x, y, sigma, estimator, standardize):
    if standardize:
        sd = x.std(axis=0, ddof=1)
        sd[sd == 0] = 1.0
        x, y = (x - x.mean(axis=0)) / sd, (y - x.mean(axis=0)) / sd
    z = np.vstack([x, y])
    diff2 = (z[:, None, :] - z[None, :, :]) ** 2
    if sigma == "median":
        sigma = median_sigma(z)
    if np.ndim(sigma) == 0:
        k = np.exp(-diff2.sum(axis=-1) / (2 * sigma**2))
    else:
        k = np.exp(-(diff2 / (2 * np.asarray(sigma) ** 2)).sum(axis=-1))
    nx, ny = len(x), len(y)
    kxx, kyy, kxy = k[:nx, :nx], k[nx:, nx:], k[:nx, nx:]
    if estimator == "biased":
        value = kxx.mean() + kyy.mean() - 2 * kxy.mean()
    else:
        value = (kxx.sum() - np.trace(kxx)) / (nx * (nx - 1)) + (kyy.sum() - np.trace(kyy)) / (ny * (ny - 1)) - 2 * kxy.mean()
    return float(value), sigma


for standardize in [True, False]:
    for sigma in ["median", 1.5, [0.8, 2.5, 0.3]]:
        for estimator in ["biased", "unbiased"]:
            value, used = mmd2(MMD_X, MMD_Y, sigma, estimator, standardize)
            show(f"mmd2 standardize={standardize} sigma={sigma} {estimator} (statistic, sigma)", (value, used))
            record("mmd", x=MMD_X.tolist(), y=MMD_Y.tolist(), sigma=sigma, estimator=estimator, standardize=standardize, statistic=value, bandwidth=used)

# -- Cramér-von Mises ----------------------------------------------------------------------------
for label, x, y in [
    ("exact 5 vs 7", [1.2, 3.4, 0.5, 2.2, 4.1], [2.8, 3.9, 5.5, 4.4, 6.1, 3.3, 7.0]),
    ("exact ties", [1, 2, 2, 3, 4, 4], [2, 3, 3, 4, 5, 5, 6]),
    ("exact 20 vs 18", seq(20, 0.6180339887498949), seq(18, 0.41421356237309515, 0.9, 0.3)),
    ("asymptotic 25 vs 30", seq(25, 0.6180339887498949), seq(30, 0.41421356237309515, 0.9, 0.2)),
    ("asymptotic 200 vs 150", seq(200, 0.6180339887498949), seq(150, 0.7320508075688772, 1.0, 0.1)),
]:
    r = stats.cramervonmises_2samp(x, y)
    show(f"cvm {label}", (float(r.statistic), float(r.pvalue)))
    record("cvm", label=label, x=floats(x), y=floats(y), statistic=float(r.statistic), pValue=float(r.pvalue))

# -- e^z K_{1/4}(z) to 60 digits, for the CvM limiting cdf ------------------------------------------
# K_nu = pi/2 (I_-nu - I_nu) / sin(nu pi), with the I series in decimal arithmetic. scipy's kve is
# ~6e-14 off at z = 2, which is why the asymptotic CvM p-values agree with scipy only to ~2e-15
# absolute.
getcontext().prec = 60
GAMMA_QUARTER = Decimal("3.6256099082219083119306851558676720029951676828800654674333779995")
GAMMA_3QUARTERS = Decimal("1.2254167024651776451290983033628905268512392481080706")
PI = Decimal("3.14159265358979323846264338327950288419716939937510582097494459")


def bessel_i(nu, gamma_nu_plus_1, z):
    total, term, k = Decimal(0), (z / 2) ** nu / gamma_nu_plus_1, 0
    while term > Decimal(10) ** -55:
        total += term
        k += 1
        term = term * (z / 2) ** 2 / (k * (k + nu))
    return total


for z in ["0.5", "1", "2", "5"]:
    zd = Decimal(z)
    k = PI / 2 * (bessel_i(Decimal("-0.25"), GAMMA_3QUARTERS, zd) - bessel_i(Decimal("0.25"), GAMMA_QUARTER / 4, zd)) / (Decimal(2).sqrt() / 2)
    show(f"e^z K_1/4({z})", str(k * zd.exp())[:22])
    show(f"  scipy.special.kve(0.25, {z})", float(special.kve(0.25, float(z))))
for x in [0.05, 0.3, 1.0]:
    show(f"_cdf_cvm_inf({x})", float(_cdf_cvm_inf(np.float64(x))))

if JSON_MODE:
    json.dump({"scipy": scipy.__version__, "numpy": np.__version__, "cases": CASES}, sys.stdout, allow_nan=False)
    print()
