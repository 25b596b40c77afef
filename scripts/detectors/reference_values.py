#!/usr/bin/env python3
"""Prints the scipy reference values that libs/detectors/src/drift/*.spec.ts hold as literals.

The specs never run Python; this script is how their numbers were made, and how to re-check them
against another scipy:  .cache/venv-models/bin/python scripts/detectors/reference_values.py
(written against scipy 1.17.1). Data are deterministic sequences that TypeScript rebuilds bit for
bit: frac(i * step) * scale + offset for i = 1..n (see drift.fixtures.ts, fractionalSequence).
"""
import warnings
from decimal import Decimal, getcontext

import numpy as np
import scipy
from scipy import special, stats
from scipy.stats._hypotests import _cdf_cvm_inf  # private: the limiting CvM cdf


def seq(n, step, scale=1.0, offset=0.0):
    return [((i * step) % 1.0) * scale + offset for i in range(1, n + 1)]


def show(label, value):
    print(f"{label}: {value!r}")


def ks(label, x, y, method="auto"):
    r = stats.ks_2samp(x, y, method=method)
    show(f"ks {label} [{method}]", (float(r.statistic), float(r.pvalue)))


print("scipy", scipy.__version__)

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
for x, dof in [(0.5, 1), (3.84, 1), (10.0, 3), (0.2, 4), (30.0, 10), (150.0, 120), (1100.0, 1000), (90.0, 100), (5.0, 40)]:
    show(f"chi2.sf({x}, {dof})", float(stats.chi2.sf(x, dof)))
ref = [0, 0, 1, 1, 1, 2, 2, 2, 2, 3]
win = [0, 1, 1, 2, 2, 2, 2, 2, 3, 3, 3, 3]
cats = sorted(set(ref) | set(win))
table = [[ref.count(c) for c in cats], [win.count(c) for c in cats]]
r = stats.chi2_contingency(table)
show(f"chi2 drift {table}", (float(r.statistic), float(r.pvalue)))
table = [[[1, 1, 1, 2, 2].count(c) for c in (1, 2)], [[1, 2, 2, 2, 2, 2].count(c) for c in (1, 2)]]
r = stats.chi2_contingency(table)
show(f"chi2 drift two categories {table}", (float(r.statistic), float(r.pvalue)))

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
