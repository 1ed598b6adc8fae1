#!/usr/bin/env python3
"""Write the reference outputs that actfn-stats' tests compare against.

The Rust crate crates/actfn-stats computes its statistics itself (with statrs for the
distributions). This script computes the same quantities for fixed inputs with the field's
reference tools -- SciPy and statsmodels -- and writes them to
crates/actfn-stats/tests/fixtures/reference.json, which is committed. The tests in
crates/actfn-stats/tests/reference.rs read that file; nothing runs Python at test time.

Run it from the repository root, in a throwaway virtual environment:

    python3 -m venv /tmp/v && /tmp/v/bin/pip install scipy statsmodels mpmath deepsig rliable "pandas<3" \
        && /tmp/v/bin/python scripts/stats-fixtures.py

Rerun it only when a case is added or changed; review the diff of the JSON like code. A
quantity the crate reports as "none" (no interval from one value, no test without variance) is
`null` here.

Sections (each entry one line):

- welch: scipy.stats.ttest_ind(a, b, equal_var=False) -- t, Welch-Satterthwaite df, two-sided
  p, and the difference's 95% interval from the result's confidence_interval(); each p is
  checked against mpmath's at 50 digits (for SciPy's t and df) to 1e-12 relative;
- t_quantile: the quantile solved at 50 digits with mpmath (the regularized incomplete beta
  function), checked against scipy.stats.t.ppf(p, df); where SciPy differs by more than 1e-12
  relative its value is kept as "scipy" (it does near p = 0.5: 4e-5 off at df 4, whose closed
  form in Boost cancels, 1e-11 at df 1 and 1e9);
- holm: statsmodels.stats.multitest.multipletests(p, method="holm")[1];
- describe: n, mean, sample sd, the mean's 95% interval mean +- t.ppf(0.975, n - 1) sd / sqrt(n),
  median, min, max (numpy and scipy);
- cohens_d: (mean(a) - mean(b)) / pooled sd (a closed form, computed with numpy);
- fisher_exact: scipy.stats.fisher_exact([[ka, na - ka], [kb, nb - kb]]) two-sided p;
- ks_uniform: the Kolmogorov-Smirnov distance of scipy.stats.kstest(values, "uniform") (only the
  statistic: the crate's p-value is Stephens' asymptotic one, not scipy's exact one);
- iqm: scipy.stats.trim_mean(values, 0.25) (rliable's interquartile mean);
- probability_of_improvement: scipy.stats.mannwhitneyu(a, b).statistic / (len(a) len(b));
- hedges: statsmodels.stats.meta_analysis.effectsize_smd (g and its variance);
- tost: statsmodels.stats.weightstats.ttost_ind(a, b, -margin, margin, usevar="unequal") p;
- bootstrap: scipy.stats.bootstrap(..., n_resamples=10000, confidence_level=0.95) of the mean
  (one sample) and of the difference of two means (two samples, each resampled on its own), by
  "percentile" and "BCa", with the bootstrap distribution's standard error: two independent
  10,000-resample runs differ by Monte Carlo error, about 0.04 standard errors at these
  levels, so the Rust test allows 0.2 (five of those). The samples include the Sigmoid and ReLU
  runs of docs/results/ (bimodal, and not);
- aso: deepsig.aso(a, b, seed=1, show_progress=False) (1,000 bootstrap iterations, dt 0.005,
  95%, and with num_comparisons=15 for a matrix of six groups), with the violation ratio of
  deepsig.aso.compute_violation_ratio(a, b, dt=0.005), which has no randomness; epsilon_min's
  bootstrap part, 1.645 sigma / sqrt(n_a n_b / (n_a + n_b)), is estimated from 1,000
  iterations to about 3%, so the Rust test allows 15% of it;
- test_noise: numpy closed forms for the committed runs' test accuracies (fractions) on 10,000
  images: sqrt(m (1 - m) / n) at their mean m, mean(p (1 - p) / n), the sample variance, and
  their ratio capped at 1;
- reml: statsmodels' MixedLM (y ~ 1 with crossed variance components for the split and the
  seed, reml=True) on the committed splits page's grids and a synthetic 3 x 4 one: its
  components and residual. Its optimizer stops short of a boundary (a component that is 0 at
  the maximum comes out small and positive), so the Rust test checks that the crate's
  closed-form maximum has a restricted likelihood at least statsmodels', and equals its
  components where statsmodels' are all well inside;
- mann_whitney: scipy.stats.mannwhitneyu(a, b, method=...) p: "exact" where no value is tied,
  "asymptotic" (tie- and continuity-corrected) where some are, and the U statistic;
- power: statsmodels' NormalIndPower().power(d / sd, n, alpha) and its solve_power(..., power=0.8)
  rounded up (the runs per group); the equivalence power of two one-sided z tests from
  scipy.stats.norm's closed form;
- profile: rliable.library.create_performance_profile({"g": runs[:, None]}, tau) -- the share
  of runs above each threshold, and its 95% percentile band from 10,000 resamples (a share of
  n runs moves in steps of 1/n, so the Rust test allows one step);
- mcnemar: statsmodels.stats.contingency_tables.mcnemar([[0, b], [c, 0]], exact=True) p.
"""

import csv
import importlib.metadata
import json
import math
import os
import sys
import warnings

import mpmath as mp
import numpy as np
import scipy
import scipy.stats as st
import statsmodels
from statsmodels.stats.multitest import multipletests

OUT = os.path.join(
    os.path.dirname(os.path.abspath(__file__)),
    "..",
    "crates",
    "actfn-stats",
    "tests",
    "fixtures",
    "reference.json",
)


def num(x):
    """A finite float, or None for NaN (what the crate reports as none)."""
    x = float(x)
    return None if math.isnan(x) else x


# Samples for Welch's test and Cohen's d: (name, a, b).
WELCH = [
    # Welch's example 1 on Wikipedia ("Welch's t-test"): p = 0.021.
    (
        "wikipedia",
        [27.5, 21.0, 19.0, 23.6, 17.0, 17.9, 16.9, 20.1, 21.9, 22.6, 23.1, 19.6, 19.0, 21.7, 21.4],
        [27.1, 22.0, 20.8, 23.4, 23.4, 23.5, 25.8, 22.0, 24.8, 20.2, 21.9, 22.1, 22.9, 20.5, 24.4],
    ),
    ("n2", [1.0, 2.0], [3.0, 5.0]),
    ("n2_vs_n12", [88.1, 88.9], [87.2, 87.9, 88.4, 87.6, 88.0, 87.1, 87.7, 88.2, 87.5, 87.8, 87.3, 88.6]),
    ("ties", [1.0, 1.0, 2.0, 2.0, 3.0], [2.0, 2.0, 2.0, 3.0, 3.0]),
    ("zero_variance_a", [5.0, 5.0, 5.0, 5.0], [4.0, 4.5, 5.5, 3.9]),
    ("no_difference", [1.0, 2.0, 3.0], [3.0, 2.0, 1.0]),
    ("p_1e-9", [88.6, 88.4, 88.7, 88.3, 88.5, 88.6, 88.4, 88.5], [87.6, 87.4, 87.8, 87.3, 87.5, 87.7, 87.4, 87.5]),
    ("p_1e-11", [10.1, 9.9, 10.0, 10.2, 9.8, 10.0, 10.15, 9.85], [8.0, 8.2, 7.9, 8.1, 7.8, 8.0, 8.3]),
    ("p_1e-14", [10.1, 9.9, 10.0, 10.2, 9.8, 10.0, 10.15, 9.85], [6.5, 6.7, 6.4, 6.6, 6.3, 6.5, 6.8]),
    ("p_1e-20", [10.1, 9.9, 10.0, 10.2, 9.8, 10.0, 10.1, 9.9, 10.0, 10.0, 10.1, 9.9], [7.5, 7.7, 7.4, 7.6, 7.3, 7.5, 7.6, 7.4, 7.5, 7.7]),
    ("p_1e-36", [10.1, 9.9, 10.0, 10.2, 9.8, 10.0, 10.1, 9.9, 10.0, 10.0, 10.1, 9.9], [-10.0, -9.8, -10.1, -9.9, -10.2, -10.0, -9.9, -10.1, -10.0, -9.8]),
    # No variance on either side: no test (scipy: NaN).
    ("all_identical", [88.0, 88.0, 88.0], [88.0, 88.0, 88.0, 88.0]),
    ("zero_variance_both", [88.0, 88.0], [87.0, 87.0]),
    # One value: no variance to estimate (scipy: NaN).
    ("n1", [88.5], [87.0, 88.0, 89.0]),
]


mp.mp.dps = 50
HALF = mp.mpf(1) / 2


def t_ppf(p, df):
    """Student's t quantile at 50 digits: P(T > t) = 1 - p solved in ln t in the tail, and
    P(0 < T < t) = p - 1/2 solved in t near the center (both exact in p)."""
    p, df = mp.mpf(p), mp.mpf(df)
    if p == HALF:
        return 0.0
    center = abs(p - HALF)
    tail = HALF - center
    start = abs(float(st.t.ppf(float(p), float(df))))
    if tail < 0.25:
        t = mp.exp(
            mp.findroot(
                lambda lt: mp.log(mp.betainc(df / 2, HALF, 0, df / (df + mp.exp(2 * lt)), regularized=True) / 2)
                - mp.log(tail),
                mp.log(start),
            )
        )
    else:
        t = mp.findroot(
            lambda t: mp.betainc(HALF, df / 2, 0, t * t / (df + t * t), regularized=True) / 2 - center,
            mp.mpf(start),
        )
    return float(t if p > HALF else -t)


def two_sided_p(t, df):
    """2 P(T > |t|) at 50 digits."""
    t, df = mp.mpf(t), mp.mpf(df)
    return float(mp.betainc(df / 2, HALF, 0, df / (df + t * t), regularized=True))


def relative(a, b):
    return abs(a - b) / abs(b) if b != 0 else abs(a)


def t_quantile_case(p, df):
    q, scipy_q = t_ppf(p, df), float(st.t.ppf(p, df))
    entry = {"p": p, "df": df, "q": q}
    if relative(scipy_q, q) > 1e-12:
        entry["scipy"] = scipy_q
    return entry


def welch_case(name, a, b):
    entry = {"name": name, "a": a, "b": b}
    if len(a) < 2 or len(b) < 2 or (np.var(a) == 0 and np.var(b) == 0):
        # scipy gives NaN (with a warning); the crate gives none.
        entry.update(t=None, df=None, p=None, ci95=None)
        return entry
    with warnings.catch_warnings():
        # scipy warns of "catastrophic cancellation" for a sample without variance; its
        # variance is exactly 0 all the same.
        warnings.simplefilter("ignore", RuntimeWarning)
        r = st.ttest_ind(a, b, equal_var=False)
    ci = r.confidence_interval(0.95)
    entry.update(t=num(r.statistic), df=num(r.df), p=num(r.pvalue), ci95=[num(ci.low), num(ci.high)])
    exact = two_sided_p(r.statistic, r.df)
    assert relative(float(r.pvalue), exact) < 1e-12, (name, float(r.pvalue), exact)
    return entry


def cohens_d_case(name, a, b):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    entry = {"name": name, "a": a.tolist(), "b": b.tolist()}
    if len(a) < 2 or len(b) < 2:
        return {**entry, "d": None}
    pooled = math.sqrt(
        ((len(a) - 1) * np.var(a, ddof=1) + (len(b) - 1) * np.var(b, ddof=1)) / (len(a) + len(b) - 2)
    )
    return {**entry, "d": None if pooled == 0 else float((a.mean() - b.mean()) / pooled)}


T_P = [0.025, 0.5 + 1e-6, 0.975, 0.995, 1 - 1e-10]
T_DF = [1.0, 2.5, 4.0, 30.0, 1e4, 1e5, 1e7, 1e9]

HOLM = [
    [0.01, 0.04, 0.03, 0.005],
    [0.02, 0.02, 0.02, 0.5],
    [0.0, 1.0, 0.03, 0.0],
    [1e-20, 3e-15, 0.2],
    [0.01, 0.011, 0.012, 0.5, 0.9],
    [0.3],
]

DESCRIBE = [
    [88.5],
    [1.0, 2.0],
    [5.0, 1.0, 3.0, 2.0, 4.0],
    [2.0, 2.0, 3.0, 3.0, 3.0, 7.0],
    [88.0, 88.0, 88.0, 88.0, 88.0],
    [88.61, 88.59, 88.60, 88.62, 88.58, 88.60, 88.615, 88.585, 87.9, 89.3, 88.1, 88.45],
]


def describe_case(values):
    v = np.asarray(values, dtype=float)
    n = len(v)
    mean = float(v.mean())
    entry = {"values": values, "n": n, "mean": mean}
    if n < 2:
        entry.update(sd=None, ci95=None)
    else:
        sd = float(v.std(ddof=1))
        half = float(st.t.ppf(0.975, n - 1)) * sd / math.sqrt(n)
        entry.update(sd=sd, ci95=[mean - half, mean + half])
    entry.update(median=float(np.median(v)), min=float(v.min()), max=float(v.max()))
    return entry


# (successes, trials) of two samples.
FISHER = [
    ((3, 4), (1, 4)),
    ((1, 10), (11, 14)),
    ((5, 10), (5, 10)),
    ((0, 10), (10, 10)),
    ((0, 5), (0, 7)),
    ((45, 100), (30, 100)),
    ((1, 1), (0, 1)),
]


def fisher_case(a, b):
    (ka, na), (kb, nb) = a, b
    p = st.fisher_exact([[ka, na - ka], [kb, nb - kb]], alternative="two-sided").pvalue
    return {"a": list(a), "b": list(b), "p": float(p)}


KS = [
    ([0.1, 0.4, 0.35, 0.8], 0.0, 1.0),
    ([0.5, 0.5, 0.5], 0.0, 1.0),
    ([0.3], 0.0, 1.0),
    ([-0.9, -0.2, 0.1, 0.4, 0.45, 0.95], -1.0, 1.0),
]


def ks_case(values, lo, hi):
    d = st.kstest(values, "uniform", args=(lo, hi - lo)).statistic
    return {"values": values, "lo": lo, "hi": hi, "d": float(d)}


# Test accuracies (%) of committed runs: the bimodal Sigmoid of the functions page, ReLU of the
# study page.
def committed(page, act):
    path = os.path.join(os.path.dirname(OUT), "..", "..", "..", "..", "docs", "results", page, "runs.csv")
    with open(path, encoding="utf-8") as f:
        header, *rows = [line.rstrip("\n").split(",") for line in f if line.strip()]
    col = dict(zip(header, range(len(header))))
    return [round(100 * float(r[col["test_acc"]]), 10) for r in rows if r[col["act"]] == act and r[col["patience"]] == "7"]


SIGMOID = committed("functions", "sigmoid")
RELU = committed("study", "relu")
IQM = DESCRIBE + [SIGMOID, RELU, [1.0, 2.0, 3.0, 100.0]]
BOOTSTRAP_ONE = [SIGMOID, RELU, [2.0, 2.0, 3.0, 3.0, 3.0, 7.0], [88.0, 88.0, 88.0, 88.0, 88.0]]
BOOTSTRAP_TWO = [(RELU, SIGMOID), ([88.1, 88.3, 88.2, 88.4, 88.0], [88.2, 88.1, 88.3, 88.2, 88.25])]
MARGINS = [0.1, 0.3, 1.0]


def hedges_case(name, a, b):
    from statsmodels.stats.meta_analysis import effectsize_smd

    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    entry = {"name": name, "a": a.tolist(), "b": b.tolist()}
    sd = lambda x: float(np.std(x, ddof=1))
    if len(a) < 2 or len(b) < 2 or (sd(a) == 0 and sd(b) == 0):
        return {**entry, "g": None, "variance": None}
    g, var = effectsize_smd(a.mean(), sd(a), len(a), b.mean(), sd(b), len(b))
    return {**entry, "g": float(g), "variance": float(var)}


def tost_case(name, a, b, margin):
    from statsmodels.stats.weightstats import ttost_ind

    entry = {"name": name, "a": list(map(float, a)), "b": list(map(float, b)), "margin": margin}
    if len(a) < 2 or len(b) < 2 or (np.std(a) == 0 and np.std(b) == 0):
        return {**entry, "p": None}
    return {**entry, "p": float(ttost_ind(np.asarray(a), np.asarray(b), -margin, margin, usevar="unequal")[0])}


def bootstrap_case(samples, method):
    stat = (lambda x, axis: np.mean(x, axis=axis)) if len(samples) == 1 else (
        lambda x, y, axis: np.mean(x, axis=axis) - np.mean(y, axis=axis)
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = st.bootstrap(
            tuple(np.asarray(s, dtype=float) for s in samples),
            stat,
            n_resamples=10000,
            confidence_level=0.95,
            method=method,
            random_state=np.random.default_rng(12345),
        )
    ci = [float(r.confidence_interval.low), float(r.confidence_interval.high)]
    return {
        "samples": [list(map(float, s)) for s in samples],
        "method": method,
        "ci95": ci if all(math.isfinite(c) for c in ci) else None,
        "standard_error": float(r.standard_error),
    }


def aso_case(name, a, b, comparisons):
    import deepsig
    from deepsig.aso import compute_violation_ratio

    ratio = float(compute_violation_ratio(np.asarray(a, float), np.asarray(b, float), dt=0.005))
    eps = float(deepsig.aso(a, b, seed=1, show_progress=False, num_comparisons=comparisons))
    return {"name": name, "a": list(map(float, a)), "b": list(map(float, b)), "comparisons": comparisons,
            "violation_ratio": ratio, "epsilon_min": eps}


ASO = [
    ("relu_vs_sigmoid", RELU, SIGMOID),
    ("sigmoid_vs_relu", SIGMOID, RELU),
    ("close", [88.1, 88.3, 88.2, 88.4, 88.0], [88.2, 88.1, 88.3, 88.2, 88.25]),
    ("wikipedia", WELCH[0][1], WELCH[0][2]),
    ("wikipedia_reversed", WELCH[0][2], WELCH[0][1]),
    ("close_reversed", [88.2, 88.1, 88.3, 88.2, 88.25], [88.1, 88.3, 88.2, 88.4, 88.0]),
    ("ties", WELCH[3][1], WELCH[3][2]),
    ("n1", [88.5], [87.0, 88.0, 89.0]),
]


def test_noise_case(accuracies, n=10000):
    p = np.asarray(accuracies, dtype=float)
    m = float(p.mean())
    expected = float(np.mean(p * (1 - p) / n))
    observed = float(p.var(ddof=1)) if len(p) > 1 else None
    share = None if not observed else min(1.0, expected / observed)
    return {"accuracies": p.tolist(), "n": n, "run_se": math.sqrt(m * (1 - m) / n),
            "expected_variance": expected, "observed_variance": observed, "share": share}


def splits_grids():
    path = os.path.join(os.path.dirname(OUT), "..", "..", "..", "..", "docs", "results", "splits", "runs.csv")
    with open(path, encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    grids = []
    for act in sorted({r["act"] for r in rows}):
        runs = [r for r in rows if r["act"] == act]
        splits = sorted({r["split_seed"] for r in runs})
        seeds = sorted({r["seed"] for r in runs}, key=int)
        cell = {(r["split_seed"], r["seed"]): round(100 * float(r["test_acc"]), 10) for r in runs}
        if all((s, d) in cell for s in splits for d in seeds) and len(splits) > 1:
            grids.append((act, [[cell[(s, d)] for d in seeds] for s in splits]))
    return grids


def reml_case(name, grid):
    import pandas as pd
    import statsmodels.formula.api as smf

    g = np.asarray(grid, dtype=float)
    a, b = g.shape
    df = pd.DataFrame(
        {"y": g.ravel(), "split": np.repeat(np.arange(a), b).astype(str), "seed": np.tile(np.arange(b), a).astype(str), "g": 1}
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = smf.mixedlm("y ~ 1", df, groups="g", vc_formula={"split": "0 + C(split)", "seed": "0 + C(seed)"}, re_formula="0").fit(reml=True)
    names = list(m.model.exog_vc.names)
    vc = dict(zip(names, map(float, m.vcomp)))
    return {"name": name, "grid": g.tolist(), "row": vc["split"], "column": vc["seed"], "residual": float(m.scale)}


def mann_whitney_case(a, b):
    pooled = list(a) + list(b)
    tied = len(set(pooled)) < len(pooled)
    r = st.mannwhitneyu(a, b, method="asymptotic" if tied else "exact")
    return {"a": list(map(float, a)), "b": list(map(float, b)), "u": float(r.statistic), "p": float(r.pvalue), "exact": not tied}


MANN_WHITNEY = [
    ([1.0, 2.0, 3.0, 4.0, 5.0], [6.0, 7.0, 8.0, 9.0, 10.0]),
    ([1.5, 2.5, 7.0], [2.0, 3.0, 4.0, 5.0]),
    ([88.1, 88.3, 88.2, 88.4, 88.0], [88.2, 88.1, 88.3, 88.2, 88.25]),
    ([3.0], [1.0, 2.0]),
    ([10.0, 10.0, 10.0, 80.1, 80.4], [88.0, 88.5, 87.9, 88.2, 88.3]),
]


def spearman_case(x, y):
    """SciPy's Spearman coefficient and its paired percentile bootstrap interval (10,000 resamples)."""
    rho = float(st.spearmanr(x, y).statistic)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = st.bootstrap(
            (np.asarray(x, dtype=float), np.asarray(y, dtype=float)),
            lambda a, b: st.spearmanr(a, b).statistic,
            paired=True,
            vectorized=False,
            n_resamples=10000,
            confidence_level=0.95,
            method="percentile",
            random_state=np.random.default_rng(12345),
        )
    ci = [float(r.confidence_interval.low), float(r.confidence_interval.high)]
    finite = all(math.isfinite(c) for c in ci)
    return {"x": list(map(float, x)), "y": list(map(float, y)), "rho": rho, "ci95": ci if finite else None}


SPEARMAN = [
    # A measurement at initialization against accuracy: twelve functions, two tied values.
    (
        [-2.1, -0.4, 0.3, -1.2, 0.0, -0.4, -3.0, 0.8, -0.9, -1.5, 0.1, -0.2],
        [10.0, 86.9, 88.6, 84.1, 88.9, 87.6, 10.0, 87.3, 85.5, 80.2, 88.7, 88.0],
    ),
    ([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0], [2.0, 1.0, 4.0, 9.0, 6.0, 5.0, 3.0, 7.0, 8.0]),
    ([0.5, 0.1, 0.9, 0.3, 0.7, 0.2, 0.8, 0.4, 0.6, 0.0], [3.0, 9.0, 1.0, 7.0, 2.0, 8.0, 4.0, 6.0, 5.0, 10.0]),
]


def spending_case(spending, alpha, looks):
    """Lan-DeMets' spending functions at each look's information fraction, from SciPy's normal."""
    fractions = [k / looks for k in range(1, looks + 1)]
    if spending == "obrien-fleming":
        z = st.norm.ppf(1 - alpha / 2)
        spent = [float(2 * st.norm.sf(z / math.sqrt(t))) for t in fractions]
    else:
        spent = [float(alpha * math.log(1 + (math.e - 1) * t)) for t in fractions]
    return {"spending": spending, "alpha": alpha, "looks": looks, "spent": spent}


def power_case(d, sd, n, alpha, margin):
    from scipy.stats import norm
    from statsmodels.stats.power import NormalIndPower

    entry = {"difference": d, "sd": sd, "n": n, "alpha": alpha, "margin": margin}
    power = float(NormalIndPower().power(abs(d) / sd, n, alpha))
    z = norm.ppf(1 - alpha)
    se = sd * np.sqrt(2 / n)
    reach = margin - z * se
    eq = 0.0 if reach <= 0 else float(max(0.0, norm.cdf((reach - d) / se) - norm.cdf((-reach - d) / se)))
    runs = None
    if d != 0:
        runs = int(np.ceil(NormalIndPower().solve_power(abs(d) / sd, power=0.8, alpha=alpha)))
        runs = max(runs, 2)
    return {**entry, "power": power, "equivalence_power": eq, "runs_for_80": runs}


POWER = [(1.0, 1.0, 16, 0.05, 0.3), (0.25, 0.4, 5, 0.05, 0.3), (0.1, 0.3, 40, 0.0033, 0.3), (-0.5, 0.2, 3, 0.05, 1.0), (0.05, 0.2, 100, 0.05, 0.3)]


def profile_case(runs, tau):
    from rliable.library import create_performance_profile

    np.random.seed(0)
    point, band = create_performance_profile({"g": np.asarray(runs, dtype=float)[:, None]}, tau, reps=10000)
    return {"runs": list(map(float, runs)), "tau": tau, "share": point["g"].tolist(), "lo": band["g"][0].tolist(), "hi": band["g"][1].tolist()}


def main():
    sections = {
        "welch": [welch_case(*c) for c in WELCH],
        "t_quantile": [t_quantile_case(p, df) for df in T_DF for p in T_P],
        "holm": [
            {"p": p, "adjusted": [float(x) for x in multipletests(p, method="holm")[1]]} for p in HOLM
        ],
        "describe": [describe_case(v) for v in DESCRIBE],
        "cohens_d": [cohens_d_case(*c) for c in WELCH],
        "fisher_exact": [fisher_case(*c) for c in FISHER],
        "ks_uniform": [ks_case(*c) for c in KS],
        "iqm": [{"values": v, "iqm": float(st.trim_mean(v, 0.25))} for v in IQM],
        "probability_of_improvement": [
            {
                "a": list(map(float, a)),
                "b": list(map(float, b)),
                "p": float(st.mannwhitneyu(a, b).statistic / (len(a) * len(b))),
            }
            for _, a, b in WELCH
        ],
        "hedges": [hedges_case(*c) for c in WELCH],
        "tost": [tost_case(name, a, b, m) for name, a, b in WELCH for m in MARGINS]
        + [tost_case("bootstrap pair", a, b, m) for a, b in BOOTSTRAP_TWO[1:] for m in MARGINS],
        "bootstrap": [bootstrap_case([s], m) for s in BOOTSTRAP_ONE for m in ("percentile", "BCa")]
        + [bootstrap_case(list(p), m) for p in BOOTSTRAP_TWO for m in ("percentile", "BCa")],
        "aso": [aso_case(name, a, b, c) for name, a, b in ASO for c in (1, 15)],
        "reml": [reml_case(n, g) for n, g in splits_grids()]
        + [reml_case("synthetic_3x4", [[1.0 + 3 * i + 0.5 * j + 0.3 * ((i * 7 + j * 3) % 5) for j in range(4)] for i in range(3)])],
        "mcnemar": [
            {"b": b, "c": c, "p": float(__import__("statsmodels.stats.contingency_tables", fromlist=["mcnemar"]).mcnemar([[0, b], [c, 0]], exact=True).pvalue)}
            for b, c in [(0, 0), (10, 0), (3, 5), (40, 60), (150, 210), (1, 1), (500, 430)]
        ],
        "mann_whitney": [mann_whitney_case(a, b) for a, b in MANN_WHITNEY] + [mann_whitney_case(RELU, SIGMOID)],
        "power": [power_case(*c) for c in POWER],
        "spearman": [spearman_case(x, y) for x, y in SPEARMAN],
        "spending": [spending_case(s, a, k) for s in ("obrien-fleming", "pocock") for a in (0.05, 0.01) for k in (3, 5, 10)],
        "profile": [profile_case(SIGMOID, [10.0, 20.0, 50.0, 79.0, 80.0, 81.0]), profile_case(RELU, [88.0, 88.5, 88.8, 89.0, 89.5])],
        "test_noise": [test_noise_case([v / 100 for v in s]) for s in (RELU, SIGMOID, [89.0], [88.0, 88.0])],
    }
    # One entry a line, so that a change shows as a small diff.
    lines = ["{"]
    lines.append(
        '  "generated_by": '
        + json.dumps(
            f"scripts/stats-fixtures.py with scipy {scipy.__version__}, "
            f"statsmodels {statsmodels.__version__}, numpy {np.__version__}, mpmath {mp.__version__}, "
            f"rliable {importlib.metadata.version('rliable')}, deepsig {importlib.metadata.version('deepsig')}, "
            f"pandas {importlib.metadata.version('pandas')}"
        )
        + ","
    )
    for i, (key, entries) in enumerate(sections.items()):
        lines.append(f'  "{key}": [')
        lines.extend(
            "    " + json.dumps(e, allow_nan=False) + ("," if j + 1 < len(entries) else "")
            for j, e in enumerate(entries)
        )
        lines.append("  ]" + ("," if i + 1 < len(sections) else ""))
    lines.append("}")
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    print(f"wrote {os.path.normpath(OUT)}", file=sys.stderr)


if __name__ == "__main__":
    main()
