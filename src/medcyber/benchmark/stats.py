"""Ordinal cohort statistics for the benchmark (pure numpy/scipy).

Maturity scores are ordinal (CMMI levels averaged over questions), so order statistics lead:
median and interquartile range first, mean and SD alongside because the published benchmark reports
means.

Definitions used throughout:

* **Quartiles** q1, q3 (and the median) use the linear-interpolation quantile, Hyndman & Fan (1996)
  definition 7 (numpy's default ``method="linear"``): the p-quantile of sorted ``x[0..n-1]`` is
  ``x[h] + (h - floor(h)) * (x[floor(h)+1] - x[floor(h)])`` with ``h = (n - 1) p``.
* **Median CI**: distribution-free order-statistic interval ``[x(k), x(n-k+1)]`` (1-based order
  statistics) with the largest ``k`` whose binomial coverage ``1 - 2 P(B <= k-1)``, ``B ~ Bin(n, 1/2)``,
  is at least 95%; the achieved coverage is stated in the interval's ``method``. None when even
  ``[min, max]`` covers less than 95% (n < 6), and withheld when its ends are the extremes of a cohort
  too small to show extremes (see :mod:`.disclosure`).
* **Mean CI**: bootstrap percentile interval (approximate). Resampling is exact resampling with
  replacement, done as multinomial counts over the distinct values (equivalent and fast); values equal
  to ``SCORE_DECIMALS`` (12) decimals count as one value.
* **Bins**: 0.5 wide, labelled as the published report ("0-0.49", "0.5-0.99", ..., "4.5-5.0"). A score
  is first rounded to 2 decimals (numpy, half to even) and then belongs to ``[low, low + 0.5)``; 5.0 is
  in the last bin. ``Bin.high`` is the exclusive upper edge (5.0 inclusive for the last bin).
* **Rank correlations** of the ordinal size bands (``employees_band``, ``revenue_band``; rank = index in
  the ordered band tuple) with the composite and each category: Kendall tau-b and Spearman rho (mid-ranks).
  Scores equal to 12 decimals are ties (float noise is not a difference). p-values are two-sided Monte
  Carlo permutation p-values ``(b + 1) / (m + 1)`` at every cohort size (there is no asymptotic path),
  b = number of the m random relabellings whose ``|statistic|`` is at least the observed one.
  A relabelling is a uniformly random arrangement of the band values over the submissions
  (``Generator.permuted``); one set of m relabellings of the joint (employees, revenue) band is shared
  by both variables, all five targets and both methods. Under a relabelling both statistics depend only
  on the band x score contingency table, so each relabelling costs one ``bincount`` per target plus
  O(bands x distinct scores) for the Kendall numerator S and the Spearman numerator (computed in
  integers: doubled centred mid-ranks), and the denominators do not change. m is
  ``permutation_count(n, permutations)``: the requested count (default 9,999) up to n = 2,000; above, cut
  so that m x n <= 2e7 (rounded down to k * 1000 - 1) but never below 1,999 (e.g. 4,999 at n = 4,000,
  1,999 at n = 10,000 and beyond). At m = 1,999 the Monte Carlo standard error of a p-value near 0.05 is
  about 0.005. The m used is stated in ``Correlation.permutations`` and ``p_method``
  ("permutation (m=...)"); with ``permutations=0`` no test is run (p-values None). Results are
  deterministic for a given seed. Confidence intervals are Bonett & Wright (2000): Fisher z with
  variance ``(1 + r^2/2)/(n - 3)`` (Spearman) and ``0.437/(n - 4)`` (Kendall). Holm's step-down
  correction is applied within each family = the four categories for one variable and one method; the
  composite is the primary test and is read on its own (unadjusted) p-value, its ``p_holm`` is None.
* **Power**: the smallest |rho| that can reach significance at alpha (two-sided) is
  ``tanh(z_(1-alpha/2) * sqrt(1.06 / (n - 3)))`` (Fisher z, Bonett-Wright variance at rho = 0); a true
  correlation of that size is detected only about half the time.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from statistics import NormalDist
from typing import Any, Literal

import numpy as np

from ..maturity.bank import CATEGORY_IDS
from ..maturity.scoring import AssessmentScore
from .disclosure import (
    check_min_cell,
    cohort_suppression_reason,
    extremes_allowed,
    protect_cohort,
    suppression_plan,
    suppression_reason_text,
)
from .models import (
    ASSESSMENT_TYPES,
    DEVICE_CLASSES,
    EMPLOYEE_BANDS,
    MIN_CELL,
    REGIONS,
    REVENUE_BANDS,
    Bin,
    CohortStats,
    Correlation,
    Interval,
    Position,
    PowerStatement,
    Rank,
    SegmentSummary,
    Submission,
    Summary,
)

LEVEL = 0.95
ALPHA = 0.05
QUANTILE_METHOD: Literal["linear"] = "linear"  # Hyndman & Fan definition 7
Scores = Sequence[float] | np.ndarray
PERMUTATIONS = 9_999
"""Default number of Monte Carlo permutations (relabellings) per test."""
PERMUTATION_FULL_N = 2_000
"""Up to this cohort size the requested number of permutations is used as is."""
PERMUTATION_BUDGET = 20_000_000
"""Above ``PERMUTATION_FULL_N``: permutations x n is kept within this many relabelled items ..."""
MIN_PERMUTATIONS = 1_999
"""... but never fewer permutations than this (unless fewer are requested)."""
SCORE_DECIMALS = 12
"""Scores equal to this many decimals are ties (float noise such as 1.5 vs 1.5000000000000002)."""
NOT_STATED = "Not stated"
TIE_TOLERANCE = 1e-9
"""Scores closer than this are equal (ties) when ranking an organisation."""

_BIN_LOWS = tuple(i / 2 for i in range(10))
_VARIABLES: tuple[Literal["employees_band", "revenue_band"], ...] = ("employees_band", "revenue_band")
_SYMBOL = {"kendall_tau_b": "tau", "spearman": "rho"}
_CHUNK_ITEMS = 1 << 18  # relabelled items per chunk (keeps the working set in cache)
_CHUNK_BINS = 1 << 18  # contingency-table bins per chunk


# --------------------------------------------------------------------------------------------------
# Bins


def bin_label(index: int) -> str:
    low = _BIN_LOWS[index]
    if index == 0:
        return "0-0.49"
    if index == len(_BIN_LOWS) - 1:
        return f"{low:.1f}-5.0"
    return f"{low:g}-{low + 0.49:.2f}" if low < 1 else f"{low:.1f}-{low + 0.49:.2f}"


def bin_index(score: float) -> int:
    """Index of the 0.5-wide bin of ``score`` (rounded to 2 decimals first; 5.0 in the last bin)."""
    if not 0 <= score <= 5 + 1e-9:
        raise ValueError(f"score {score} outside 0-5")
    rounded = float(np.round(score, 2))
    return min(int(math.floor(rounded * 2 + 1e-9)), len(_BIN_LOWS) - 1)


def composite_bins(values: Scores) -> list[Bin]:
    """All ten 0.5-wide bins with their counts (zeros included, so charts keep their axis).

    Same rule as :func:`bin_index`, vectorised.
    """
    x = np.asarray(values, dtype=float).reshape(-1)
    bad = ~((x >= 0) & (x <= 5 + 1e-9))
    if bad.any():
        raise ValueError(f"score {x[bad][0]} outside 0-5")
    index = np.minimum(np.floor(np.round(x, 2) * 2 + 1e-9).astype(np.intp), len(_BIN_LOWS) - 1)
    counts = np.bincount(index, minlength=len(_BIN_LOWS)).tolist()
    return [
        Bin(low=low, high=5.0 if i == len(_BIN_LOWS) - 1 else low + 0.5, label=bin_label(i), count=counts[i])
        for i, low in enumerate(_BIN_LOWS)
    ]


# --------------------------------------------------------------------------------------------------
# Summaries


def median_ci(values: Scores, level: float = LEVEL) -> tuple[float, float, int, float] | None:
    """Order-statistic CI for the median: (low, high, k, achieved coverage), k the 1-based lower index.

    None when no symmetric pair of order statistics reaches ``level`` (n < 6 at 95%).
    """
    x = np.sort(np.asarray(values, dtype=float))
    n = len(x)
    if n == 0:
        return None
    ks = np.arange(1, (n + 1) // 2 + 1)
    from scipy.special import bdtr  # binomial CDF; imported here to keep the CLI start-up light

    covers = 1.0 - 2.0 * bdtr(ks - 1, n, 0.5)
    ok = np.nonzero(covers >= level - 1e-12)[0]
    best = (int(ks[ok[-1]]), float(covers[ok[-1]])) if len(ok) else None
    if best is None:
        return None
    k, coverage = best
    return float(x[k - 1]), float(x[n - k]), k, coverage


def bootstrap_means(values: Scores, resamples: int, rng: np.random.Generator) -> np.ndarray:
    """Means of ``resamples`` exact with-replacement resamples of ``values``.

    Drawing n items with replacement from the sample is the same as drawing multinomial counts over the
    distinct values with probabilities equal to their relative frequencies; cost is resamples x distinct.
    Values equal to ``SCORE_DECIMALS`` decimals count as one distinct value (their mean), which moves a
    resample mean by less than 1e-12 and avoids paying for float noise (1.5 vs 1.5000000000000002).
    """
    x = np.asarray(values, dtype=float).reshape(-1)
    n = len(x)
    codes, counts = _tie_codes(x)
    distinct = np.bincount(codes, weights=x) / counts  # values equal to SCORE_DECIMALS decimals: their mean
    if len(distinct) == 1:
        return np.full(resamples, distinct[0])
    p = counts / n
    out = np.empty(resamples)
    chunk = max(1, 2_000_000 // len(distinct))
    for start in range(0, resamples, chunk):
        stop = min(resamples, start + chunk)
        draws = rng.multinomial(n, p, size=stop - start)
        out[start:stop] = draws @ distinct / n
    return out


def summarize(values: Scores, *, bootstrap: int = 10_000, rng: np.random.Generator | None = None) -> Summary:
    """Summary of one score over a cohort (no disclosure control here; see ``protect_cohort``)."""
    x = np.sort(np.asarray(values, dtype=float))
    n = len(x)
    if n == 0:
        raise ValueError("cannot summarise an empty cohort")
    q1, med, q3 = (float(v) for v in np.quantile(x, [0.25, 0.5, 0.75], method=QUANTILE_METHOD))
    mci = median_ci(x)
    median_interval = None
    if mci is not None:
        low, high, k, coverage = mci
        if not (k == 1 and not extremes_allowed(n)):
            median_interval = Interval(
                low=low,
                high=high,
                level=LEVEL,
                method=(
                    f"distribution-free order-statistic (binomial) interval x({k}) to x({n - k + 1}); "
                    f"achieved coverage {coverage:.1%}"
                ),
            )
    mean = float(x.mean())
    sd = float(x.std(ddof=1)) if n > 1 else 0.0
    mean_interval = None
    if bootstrap > 0:
        means = bootstrap_means(x, bootstrap, rng or np.random.default_rng(0))
        low, high = (float(v) for v in np.quantile(means, [(1 - LEVEL) / 2, 1 - (1 - LEVEL) / 2]))
        mean_interval = Interval(
            low=low,
            high=high,
            level=LEVEL,
            method=f"bootstrap percentile interval, {bootstrap} resamples (approximate)",
        )
    show_extremes = extremes_allowed(n)
    return Summary(
        n=n,
        median=med,
        q1=q1,
        q3=q3,
        iqr=q3 - q1,
        median_ci=median_interval,
        mean=mean,
        sd=sd,
        mean_ci=mean_interval,
        minimum=float(x[0]) if show_extremes else None,
        maximum=float(x[-1]) if show_extremes else None,
    )


# --------------------------------------------------------------------------------------------------
# Correlations


def holm(pvalues: Sequence[float | None]) -> list[float | None]:
    """Holm step-down adjusted p-values (None entries are not part of the family and stay None)."""
    idx = [i for i, p in enumerate(pvalues) if p is not None]
    m = len(idx)
    order = sorted(idx, key=lambda i: pvalues[i])  # type: ignore[arg-type, return-value]
    adjusted: list[float | None] = [None] * len(pvalues)
    running = 0.0
    for rank, i in enumerate(order):
        p = pvalues[i]
        assert p is not None
        running = max(running, min(1.0, (m - rank) * p))
        adjusted[i] = running
    return adjusted


def bonett_wright_ci(
    r: float, n: int, method: Literal["kendall_tau_b", "spearman"], level: float = LEVEL
) -> tuple[float, float] | None:
    """Fisher-z interval with the Bonett-Wright variance; None when n is too small."""
    if method == "spearman":
        if n <= 3:
            return None
        var = (1 + r * r / 2) / (n - 3)
    else:
        if n <= 4:
            return None
        var = 0.437 / (n - 4)
    z = math.atanh(max(-1 + 1e-12, min(1 - 1e-12, r)))
    half = NormalDist().inv_cdf(1 - (1 - level) / 2) * math.sqrt(var)
    return math.tanh(z - half), math.tanh(z + half)


def min_detectable_rho(n: int, alpha: float = ALPHA) -> float:
    """Smallest |rho| that can be significant at ``alpha`` (two-sided) with n pairs."""
    if n <= 3:
        raise ValueError("needs n > 3")
    return math.tanh(NormalDist().inv_cdf(1 - alpha / 2) * math.sqrt(1.06 / (n - 3)))


def power_statement(n: int, alpha: float = ALPHA) -> PowerStatement:
    r = min_detectable_rho(n, alpha)
    return PowerStatement(
        n=n,
        alpha=alpha,
        min_detectable_rho=r,
        text=(
            f"with n={n} only |rho| >= ~{r:.2f} is detectable "
            f"(alpha={alpha:g}, two-sided); smaller correlations cannot be told apart from none"
        ),
    )


def permutation_count(n: int, requested: int = PERMUTATIONS) -> int:
    """Number of Monte Carlo permutations used for a cohort of ``n`` when ``requested`` are asked for.

    ``requested`` up to ``PERMUTATION_FULL_N`` submissions; above that it is cut so that
    permutations x n stays within ``PERMUTATION_BUDGET`` (rounded down to k * 1000 - 1), but never below
    ``MIN_PERMUTATIONS`` (nor above ``requested``). The count used is reported in
    ``Correlation.permutations``.
    """
    if requested <= 0:
        return 0
    if n <= PERMUTATION_FULL_N:
        return requested
    budget = (PERMUTATION_BUDGET // n // 1000) * 1000 - 1
    return min(requested, max(MIN_PERMUTATIONS, budget))


def _tie_codes(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Dense codes 0..D-1 in increasing order of value, and the count of each code.

    Values equal to ``SCORE_DECIMALS`` decimals share a code (are tied): averaging the same levels in a
    different order must not make two organisations' scores differ.
    """
    keys = np.round(values, SCORE_DECIMALS)
    keys = np.where(np.isfinite(keys), keys, values)
    _, codes, counts = np.unique(keys, return_inverse=True, return_counts=True)
    return codes.reshape(-1).astype(np.intp), counts


def _doubled_midranks(counts: np.ndarray) -> np.ndarray:
    """2 x (mid-rank - (n + 1)/2) of each code: integers, so sums of products stay exact in float64."""
    before = np.cumsum(counts) - counts
    return (2 * before + counts - counts.sum()).astype(float)


def _tie_pairs(counts: np.ndarray) -> float:
    return float((counts * (counts - 1) // 2).sum())


def _kendall_s(tables: np.ndarray) -> np.ndarray:
    """Kendall numerator S = sum_{i<j} sign(x_i - x_j) sign(y_i - y_j) of contingency tables.

    ``tables[..., g, d]`` counts the items with x level g and y code d (both in increasing order). An
    item in cell (g, d) is concordant with the items of lower level and lower y code and discordant with
    those of lower level and higher y code; each pair is counted once, from its higher-level member.
    Cost O(G D) per table, whatever n. Exact for integer counts.
    """
    total = np.zeros(tables.shape[:-2], dtype=tables.dtype)
    lower = np.zeros_like(tables[..., 0, :])  # items of a lower level, per y code
    for g in range(1, tables.shape[-2]):
        lower += tables[..., g - 1, :]
        below = np.cumsum(lower, axis=-1)  # lower level, y code <= d
        # lower level and lower y: below - lower; lower level and higher y: lower.sum() - below
        score = 2 * below - lower - below[..., -1:]
        total += np.einsum("...d,...d->...", tables[..., g, :], score)
    return total


def _permutation_tests(
    levels: Sequence[np.ndarray], codes: Sequence[np.ndarray], permutations: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Observed Kendall S and Spearman numerators and permutation counts b, each shaped (V, T).

    ``levels[v]`` are the dense levels of x variable v, ``codes[t]`` the dense tie codes of target t.
    One set of random relabellings (a uniformly random arrangement of the joint x levels over the
    items) serves every variable, every target and both methods. Under a relabelling, the statistics of a
    (variable, target) pair depend only on its contingency table, which one ``bincount`` per target
    gives for all variables at once (joint level x y code); the tables per variable are sums over it.
    Spearman's numerator is ``sum N[d, g] rx[g] ry[d]`` in doubled centred mid-ranks (integers), so both
    statistics are exact and ``|stat| >= |observed|`` is decided without tolerance trouble.
    """
    n = len(codes[0])
    joint = np.zeros(n, dtype=np.intp)
    for lev in levels:
        joint = joint * (int(lev.max()) + 1) + lev
    _, first, zcode = np.unique(joint, return_index=True, return_inverse=True)
    zcode = zcode.reshape(-1)
    n_joint = len(first)
    # per variable: joint codes grouped by level, so a table is a reduceat over the joint axis
    groupings = []
    for lev in levels:
        level_of_joint = lev[first]
        order = np.argsort(level_of_joint, kind="stable")
        starts = np.searchsorted(level_of_joint[order], np.arange(int(lev.max()) + 1))
        groupings.append((None if np.array_equal(order, np.arange(n_joint)) else order, starts))
    rx = [_doubled_midranks(np.bincount(lev)) for lev in levels]
    ry = [_doubled_midranks(np.bincount(code)) for code in codes]
    dims = [int(code.max()) + 1 for code in codes]
    width = n_joint * max(dims)  # bins per relabelling: joint level x y code (padded to the widest target)

    def statistics(arrangement: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Kendall S and Spearman numerators (V, T, rows) of the rows of joint-level ``arrangement``."""
        rows = len(arrangement)
        scaled = np.multiply(arrangement, max(dims), dtype=np.intp)
        offsets = (np.arange(rows, dtype=np.intp) * width)[:, None]
        s_out = np.empty((len(levels), len(codes), rows))
        r_out = np.empty((len(levels), len(codes), rows))
        for t, code in enumerate(codes):
            index = scaled + (code[None, :] + offsets)
            joint_tables = np.bincount(index.ravel(), minlength=rows * width).reshape(rows, n_joint, -1)
            joint_tables = joint_tables[:, :, : dims[t]]
            for v, (order, starts) in enumerate(groupings):
                grouped = joint_tables if order is None else joint_tables[:, order, :]
                tables = np.add.reduceat(grouped, starts, axis=1)  # (rows, G, D), int64
                s_out[v, t] = _kendall_s(tables)
                r_out[v, t] = (tables @ ry[t]) @ rx[v]
        return s_out, r_out

    obs_s, obs_r = statistics(zcode[None, :])
    obs_s, obs_r = obs_s[:, :, 0], obs_r[:, :, 0]
    b_s = np.zeros(obs_s.shape, dtype=np.int64)
    b_r = np.zeros(obs_r.shape, dtype=np.int64)
    chunk = max(1, min(permutations, _CHUNK_ITEMS // n, _CHUNK_BINS // width))
    block = np.tile(zcode.astype(np.int8 if n_joint <= 127 else np.int32), (chunk, 1))
    # Statistics are integers (held exactly in float64): being at least as extreme is |stat| > |obs| - 1/2.
    s_limit, r_limit = np.abs(obs_s)[:, :, None] - 0.5, np.abs(obs_r)[:, :, None] - 0.5
    for start in range(0, permutations, chunk):
        rows = block[: min(chunk, permutations - start)]
        # Shuffling each row again gives a fresh uniform arrangement, independent of the previous one.
        rng.permuted(rows, axis=1, out=rows)
        perm_s, perm_r = statistics(rows)
        b_s += (np.abs(perm_s) > s_limit).sum(axis=2)
        b_r += (np.abs(perm_r) > r_limit).sum(axis=2)
    return obs_s, obs_r, b_s, b_r


def _reading(method: str, n: int, est: float | None, ci: tuple[float, float] | None, p: float | None) -> str:
    if est is None:
        return "not computable: no variation in the band or in the score"
    sym = _SYMBOL[method]
    ci_text = f", 95% CI {ci[0]:.2f} to {ci[1]:.2f}" if ci is not None else ""
    detail = f"(n={n}; {sym}={est:.2f}{ci_text})"
    if p is None:
        return f"not tested for significance {detail}"
    if p < ALPHA and est != 0:
        direction = "positive" if est > 0 else "negative"
        return f"evidence of a {direction} correlation {detail}"
    return f"no evidence of a correlation {detail}"


def band_correlations(
    bands: Mapping[Literal["employees_band", "revenue_band"], Scores],
    targets: Mapping[str, Scores],
    *,
    permutations: int = PERMUTATIONS,
    rng: np.random.Generator | None = None,
) -> list[Correlation]:
    """Kendall tau-b and Spearman rho of each band variable with each target, with permutation p-values.

    ``bands`` maps each variable to its band ranks, ``targets`` maps 'composite' and category ids to
    score vectors (all aligned). One set of ``permutation_count(n, permutations)`` random relabellings
    is shared by all variables, targets and both methods. Holm per family (one variable, one method, the
    categories). Deterministic for a given ``rng`` state.
    """
    if permutations < 0:
        raise ValueError("permutations must be >= 0")
    rng = rng or np.random.default_rng(0)
    variables = list(bands)
    names = list(targets)
    xs = [np.asarray(bands[v], dtype=float) for v in variables]
    ys = [np.asarray(targets[t], dtype=float) for t in names]
    n = len(xs[0]) if xs else 0
    if not xs or not ys or any(len(a) != n for a in (*xs, *ys)):
        raise ValueError("band and target vectors must be non-empty and of the same length")
    x_codes = [_tie_codes(x) for x in xs]
    y_codes = [_tie_codes(y) for y in ys]
    m = permutation_count(n, permutations)
    obs_s, obs_r, b_s, b_r = _permutation_tests([c for c, _ in x_codes], [c for c, _ in y_codes], m, rng)
    p_method = (
        f"two-sided Monte Carlo permutation (m={m}) test: random relabellings of the band, "
        "p = (b + 1)/(m + 1)"
        if m > 0
        else None
    )
    n0 = n * (n - 1) / 2
    out: list[Correlation] = []
    for v, variable in enumerate(variables):
        x_counts = x_codes[v][1]
        rx = _doubled_midranks(x_counts)
        for method in ("kendall_tau_b", "spearman"):
            est: list[float | None] = []
            pvals: list[float | None] = []
            for t in range(len(names)):
                y_counts = y_codes[t][1]
                if method == "kendall_tau_b":
                    denom = math.sqrt(max(0.0, (n0 - _tie_pairs(x_counts)) * (n0 - _tie_pairs(y_counts))))
                    obs, b = obs_s[v, t], b_s[v, t]
                else:
                    ry = _doubled_midranks(y_counts)
                    denom = math.sqrt(float(x_counts @ rx**2) * float(y_counts @ ry**2))
                    obs, b = obs_r[v, t], b_r[v, t]
                if denom <= 0:
                    est.append(None)
                    pvals.append(None)
                    continue
                est.append(max(-1.0, min(1.0, float(obs) / denom)))
                pvals.append((int(b) + 1) / (m + 1) if m > 0 else None)
            family = [pvals[j] if names[j] != "composite" else None for j in range(len(names))]
            adjusted = holm(family)
            for j, target in enumerate(names):
                e, p = est[j], pvals[j]
                ci = bonett_wright_ci(e, n, method) if e is not None else None
                p_read = p if target == "composite" else adjusted[j]
                out.append(
                    Correlation(
                        variable=variable,
                        target=target,
                        method=method,
                        n=n,
                        estimate=e,
                        ci=Interval(low=ci[0], high=ci[1], level=LEVEL, method="Bonett-Wright (Fisher z)")
                        if ci is not None
                        else None,
                        p_value=p,
                        p_holm=adjusted[j] if target != "composite" else None,
                        permutations=m,
                        reading=_reading(method, n, e, ci, p_read),
                        p_method=p_method if e is not None else None,
                    )
                )
    return out


def rank_correlations(
    variable: Literal["employees_band", "revenue_band"],
    x: Scores,
    targets: Mapping[str, Scores],
    *,
    permutations: int = PERMUTATIONS,
    rng: np.random.Generator | None = None,
) -> list[Correlation]:
    """Kendall tau-b and Spearman rho of one band variable ``x`` with each target (see band_correlations).

    ``targets`` maps 'composite' and category ids to score vectors aligned with ``x``.
    """
    return band_correlations({variable: x}, targets, permutations=permutations, rng=rng)


# --------------------------------------------------------------------------------------------------
# Segments


def _ordered_values(present: set[str], canonical: Sequence[str]) -> list[str]:
    known = [v for v in canonical if v in present]
    extra = sorted(v for v in present if v not in canonical and v != NOT_STATED)
    tail = [NOT_STATED] if NOT_STATED in present else []
    return known + extra + tail


def _segment_members(subs: Sequence[Submission]) -> dict[str, dict[str, list[float]]]:
    dims: dict[str, tuple[Sequence[str], dict[str, list[float]]]] = {
        "employees_band": (EMPLOYEE_BANDS, {}),
        "revenue_band": (REVENUE_BANDS, {}),
        "region": (REGIONS, {}),
        "device_class": (DEVICE_CLASSES, {}),
        "assessment_type": (ASSESSMENT_TYPES, {}),
    }
    for s in subs:
        p = s.profile
        values: dict[str, list[str]] = {
            "employees_band": [p.employees_band],
            "revenue_band": [p.revenue_band],
            "region": [p.region or NOT_STATED],
            "device_class": sorted(set(p.device_classes)) or [NOT_STATED],
            "assessment_type": [s.assessment_type],
        }
        for dim, vals in values.items():
            for v in vals:
                dims[dim][1].setdefault(v, []).append(s.composite)
    out: dict[str, dict[str, list[float]]] = {}
    for dim, (canonical, members) in dims.items():
        out[dim] = {v: members[v] for v in _ordered_values(set(members), canonical)}
    return out


def segment_summaries(subs: Sequence[Submission], min_cell: int = MIN_CELL) -> list[SegmentSummary]:
    """Composite median and quartiles per segment, with primary and complementary suppression.

    The suppression plan uses the true segment sizes (see :func:`.disclosure.suppression_plan`).
    """
    segs: list[SegmentSummary] = []
    for dim, members in _segment_members(subs).items():
        plan = suppression_plan({v: len(scores) for v, scores in members.items()}, min_cell)
        for value, scores in members.items():
            kind = plan[value]
            if kind is not None:
                segs.append(
                    SegmentSummary(
                        dimension=dim,
                        value=value,
                        n=None,
                        suppressed=True,
                        reason=suppression_reason_text(kind, min_cell),
                    )
                )
                continue
            q1, med, q3 = (float(v) for v in np.quantile(scores, [0.25, 0.5, 0.75], method=QUANTILE_METHOD))
            segs.append(SegmentSummary(dimension=dim, value=value, n=len(scores), median=med, q1=q1, q3=q3))
    return segs


# --------------------------------------------------------------------------------------------------
# Cohort


def _band_rank(value: str, bands: Sequence[str], what: str) -> int:
    try:
        return bands.index(value)
    except ValueError:
        raise ValueError(f"unknown {what} {value!r}; expected one of {tuple(bands)}") from None


def cohort_stats(
    submissions: Sequence[Submission],
    *,
    cohort: str = "default",
    min_cell: int = MIN_CELL,
    bootstrap: int = 10_000,
    permutations: int = PERMUTATIONS,
    seed: int = 0,
) -> CohortStats:
    """Statistics of a cohort of submissions, disclosure control applied.

    The caller chooses the cohort (e.g. one period); an organisation may appear once per period.
    Deterministic for a given ``seed``.
    """
    check_min_cell(min_cell)
    if bootstrap < 0 or permutations < 0:
        raise ValueError("bootstrap and permutations must be >= 0")
    subs = list(submissions)
    keys = [(s.submission_id, s.period) for s in subs]
    if len(set(keys)) != len(keys):
        raise ValueError("a submission id appears more than once for the same period")
    for s in subs:
        missing = [c for c in CATEGORY_IDS if c not in s.categories]
        if missing:
            raise ValueError(f"submission {s.submission_id} lacks category scores {missing}")
    n = len(subs)
    base = CohortStats(
        cohort=cohort,
        periods=sorted({s.period for s in subs}),
        n=n,
        min_cell=min_cell,
        suppressed=False,
        synthetic=any(s.synthetic for s in subs),
    )
    reason = cohort_suppression_reason(n, min_cell)
    if reason is not None:
        return protect_cohort(base.model_copy(update={"suppressed": True, "suppression_reason": reason}))

    composite = np.array([s.composite for s in subs], dtype=float)
    cats = {c: np.array([s.categories[c] for s in subs], dtype=float) for c in CATEGORY_IDS}
    targets: dict[str, np.ndarray] = {"composite": composite, **cats}

    summaries = {
        name: summarize(values, bootstrap=bootstrap, rng=np.random.default_rng([seed, 1, k]))
        for k, (name, values) in enumerate(targets.items())
    }
    band_ranks = {
        variable: [
            _band_rank(
                getattr(s.profile, variable),
                EMPLOYEE_BANDS if variable == "employees_band" else REVENUE_BANDS,
                variable,
            )
            for s in subs
        ]
        for variable in _VARIABLES
    }
    correlations = band_correlations(
        band_ranks, targets, permutations=permutations, rng=np.random.default_rng([seed, 2])
    )
    stats = base.model_copy(
        update={
            "composite": summaries["composite"],
            "categories": {c: summaries[c] for c in CATEGORY_IDS},
            "bins": composite_bins(composite.tolist()),
            "correlations": correlations,
            "power": power_statement(n) if n > 3 else None,
            "segments": segment_summaries(subs, min_cell),
            "composites": sorted(composite.tolist()),
        }
    )
    return protect_cohort(stats)


# --------------------------------------------------------------------------------------------------
# Position of one organisation


def rank_among(score: float, others: Sequence[float]) -> Rank:
    """Rank of ``score`` among ``others`` (the organisation itself not included); ties averaged."""
    arr = np.asarray(others, dtype=float)
    n_others = len(arr)
    if n_others == 0:
        raise ValueError("no other submissions to rank against")
    ties = int((np.abs(arr - score) <= TIE_TOLERANCE).sum())
    below = int((arr < score - TIE_TOLERANCE).sum())
    text = f"higher than {below} of {n_others}" + (f" ({ties} tied)" if ties else "")
    quintile = min(5, (5 * (2 * below + ties)) // (2 * n_others) + 1)
    return Rank(
        score=score,
        below=below,
        ties=ties,
        n_others=n_others,
        rank=1 + below + ties / 2,
        text=text,
        quintile=quintile,
    )


def _scores_of(scores: AssessmentScore | Mapping[str, Any]) -> tuple[float | None, dict[str, float | None]]:
    if isinstance(scores, AssessmentScore):
        return scores.composite, scores.category_scores()
    comp = scores.get("composite")
    nested = scores.get("categories")
    source = nested if isinstance(nested, Mapping) else scores
    cats: dict[str, float | None] = {}
    for c in CATEGORY_IDS:
        v = source.get(c)
        if isinstance(v, Mapping):  # e.g. a dumped CategoryScore
            v = v.get("score")
        cats[c] = None if v is None else float(v)
    return (None if comp is None else float(comp)), cats


def position(
    scores: AssessmentScore | Mapping[str, Any],
    others: Sequence[Submission],
    *,
    min_cell: int = MIN_CELL,
    exclude_id: str | None = None,
) -> Position:
    """Where an organisation stands among the OTHER submissions.

    ``scores`` is an ``AssessmentScore`` or a mapping ``{"composite": x, "categories": {id: y}}`` (a flat
    mapping of category ids also works). ``exclude_id`` drops the organisation's own submission from
    ``others`` if the caller passes the whole cohort. Each rank is None when the score is missing or
    fewer than ``min_cell`` others are available.
    """
    check_min_cell(min_cell)
    pool = [s for s in others if exclude_id is None or s.submission_id != exclude_id]
    comp, cats = _scores_of(scores)

    def one(value: float | None, pool_values: list[float]) -> Rank | None:
        if value is None or len(pool_values) < min_cell:
            return None
        return rank_among(value, pool_values)

    return Position(
        composite=one(comp, [s.composite for s in pool]),
        categories={
            c: one(cats[c], [s.categories[c] for s in pool if c in s.categories]) for c in CATEGORY_IDS
        },
    )
