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
  replacement, done as multinomial counts over the distinct values (equivalent and fast).
* **Bins**: 0.5 wide, labelled as the published report ("0-0.49", "0.5-0.99", ..., "4.5-5.0"). A score
  is first rounded to 2 decimals (numpy, half to even) and then belongs to ``[low, low + 0.5)``; 5.0 is
  in the last bin. ``Bin.high`` is the exclusive upper edge (5.0 inclusive for the last bin).
* **Rank correlations** of the ordinal size bands (``employees_band``, ``revenue_band``; rank = index in
  the ordered band tuple) with the composite and each category: Kendall tau-b and Spearman rho.
  Two-sided Monte Carlo permutation p-values ``(b + 1) / (m + 1)`` for ``n <= PERMUTATION_MAX_N``;
  above that the asymptotic test (scipy; normal approximation with tie correction for tau-b, t
  approximation for rho), which is then stated in ``Correlation.p_method``. Confidence intervals are
  Bonett & Wright (2000): Fisher z with variance ``(1 + r^2/2)/(n - 3)`` (Spearman) and
  ``0.437/(n - 4)`` (Kendall). Holm's step-down correction is applied within each family = the four
  categories for one variable and one method; the composite is the primary test and is read on its own
  (unadjusted) p-value, its ``p_holm`` is None.
* **Power**: the smallest |rho| that can reach significance at alpha (two-sided) is
  ``tanh(z_(1-alpha/2) * sqrt(1.06 / (n - 3)))`` (Fisher z, Bonett-Wright variance at rho = 0); a true
  correlation of that size is detected only about half the time.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np
from scipy import stats as sps

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
PERMUTATION_MAX_N = 100
"""Above this cohort size the permutation tests fall back to the asymptotic tests."""
NOT_STATED = "Not stated"
TIE_TOLERANCE = 1e-9
"""Scores closer than this are equal (ties) when ranking an organisation."""

_BIN_LOWS = tuple(i / 2 for i in range(10))
_VARIABLES: tuple[Literal["employees_band", "revenue_band"], ...] = ("employees_band", "revenue_band")
_SYMBOL = {"kendall_tau_b": "tau", "spearman": "rho"}


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


def composite_bins(values: Sequence[float]) -> list[Bin]:
    """All ten 0.5-wide bins with their counts (zeros included, so charts keep their axis)."""
    counts = [0] * len(_BIN_LOWS)
    for v in values:
        counts[bin_index(v)] += 1
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
    covers = 1.0 - 2.0 * sps.binom.cdf(ks - 1, n, 0.5)
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
    """
    x = np.asarray(values, dtype=float)
    n = len(x)
    distinct, counts = np.unique(x, return_counts=True)
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
    half = float(sps.norm.ppf(1 - (1 - level) / 2)) * math.sqrt(var)
    return math.tanh(z - half), math.tanh(z + half)


def min_detectable_rho(n: int, alpha: float = ALPHA) -> float:
    """Smallest |rho| that can be significant at ``alpha`` (two-sided) with n pairs."""
    if n <= 3:
        raise ValueError("needs n > 3")
    return math.tanh(float(sps.norm.ppf(1 - alpha / 2)) * math.sqrt(1.06 / (n - 3)))


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


def _ties_pairs(v: np.ndarray) -> float:
    _, counts = np.unique(v, return_counts=True)
    return float((counts * (counts - 1) // 2).sum())


def _kendall_numerators(levels: np.ndarray, y: np.ndarray, perms: np.ndarray) -> np.ndarray:
    """S = sum_{i<j} sign(x_i - x_j) sign(y_i - y_j) with x = levels[perm], for every perm.

    ``levels`` are dense ranks 0..G-1 of x (few distinct values: the bands). Each pair with
    x_i < x_j contributes sign(y_j - y_i), so with the items in y order
    S = sum_j (#{i: x_i < x_j, y_i < y_j} - #{i: x_i < x_j, y_i > y_j}),
    which running counts per level give in O(n G) per permutation instead of O(n^2).
    Returns an array of len(perms).
    """
    n = len(y)
    g = int(levels.max()) + 1
    out = np.zeros(len(perms))
    if g == 1:
        return out
    order = np.argsort(y, kind="stable")
    ys = y[order]
    new_block = np.r_[True, ys[1:] != ys[:-1]]
    block_id = np.cumsum(new_block) - 1
    starts = np.flatnonzero(new_block)
    ends = np.r_[starts[1:], n]
    start_k = starts[block_id]  # items before position k's tie block have smaller y
    end_k = ends[block_id]  # items from end_k on have larger y
    chunk = max(1, 2_000_000 // ((n + 1) * g))
    for first in range(0, len(perms), chunk):
        lab = levels[perms[first : first + chunk]][:, order]  # (c, n): labels in y order
        c = len(lab)
        # lower[:, l, k]: among the first k items (y order), how many have a level below l
        lower = np.zeros((c, g, n + 1), dtype=np.int32)
        for level in range(1, g):
            lower[:, level, 1:] = lower[:, level - 1, 1:] + (lab == level - 1)
        np.cumsum(lower, axis=2, out=lower)
        rows = np.arange(c)[:, None]
        smaller = lower[rows, lab, start_k[None, :]]
        larger = lower[rows, lab, n] - lower[rows, lab, end_k[None, :]]
        out[first : first + c] = (smaller - larger).sum(axis=1)
    return out


def _reading(method: str, n: int, est: float | None, ci: tuple[float, float] | None, p: float | None) -> str:
    if est is None:
        return "not computable: no variation in the band or in the score"
    sym = _SYMBOL[method]
    ci_text = f", 95% CI {ci[0]:.2f} to {ci[1]:.2f}" if ci is not None else ""
    detail = f"(n={n}; {sym}={est:.2f}{ci_text})"
    if p is not None and p < ALPHA and est != 0:
        direction = "positive" if est > 0 else "negative"
        return f"evidence of a {direction} correlation {detail}"
    return f"no evidence of a correlation {detail}"


def rank_correlations(
    variable: Literal["employees_band", "revenue_band"],
    x: Scores,
    targets: Mapping[str, Scores],
    *,
    permutations: int = 9_999,
    rng: np.random.Generator | None = None,
) -> list[Correlation]:
    """Kendall tau-b and Spearman rho of ``x`` with each target; p-values, CIs and Holm per family.

    ``targets`` maps 'composite' and category ids to score vectors aligned with ``x``.
    """
    rng = rng or np.random.default_rng(0)
    xv = np.asarray(x, dtype=float)
    n = len(xv)
    names = list(targets)
    ymat = np.column_stack([np.asarray(targets[t], dtype=float) for t in names])  # (n, T)
    use_perm = permutations > 0 and n <= PERMUTATION_MAX_N
    est: dict[str, list[float | None]] = {}
    pvals: dict[str, list[float | None]] = {}
    p_method: str
    if use_perm:
        perms = rng.permuted(np.tile(np.arange(n), (permutations, 1)), axis=1)
        p_method = f"two-sided Monte Carlo permutation test, {permutations} permutations, p = (b + 1)/(m + 1)"
        # Spearman: Pearson correlation of mid-ranks; denominators do not change under permutation.
        rx = sps.rankdata(xv)
        rx = rx - rx.mean()
        ry = np.column_stack([sps.rankdata(ymat[:, j]) for j in range(ymat.shape[1])])
        ry = ry - ry.mean(axis=0)
        denom = np.sqrt((rx**2).sum() * (ry**2).sum(axis=0))
        obs = rx @ ry
        perm_stats = rx[perms] @ ry
        est["spearman"], pvals["spearman"] = _perm_results(obs, perm_stats, denom)
        # Kendall tau-b: numerator S by pair signs; the tie-corrected denominator is permutation-invariant.
        levels = np.unique(xv, return_inverse=True)[1].astype(np.int64)
        identity = np.arange(n)[None, :]
        obs_k = np.array([_kendall_numerators(levels, ymat[:, j], identity)[0] for j in range(len(names))])
        perm_k = np.column_stack([_kendall_numerators(levels, ymat[:, j], perms) for j in range(len(names))])
        n0 = n * (n - 1) / 2
        n1 = _ties_pairs(xv)
        denom_k = np.array(
            [math.sqrt(max(0.0, (n0 - n1) * (n0 - _ties_pairs(ymat[:, j])))) for j in range(len(names))]
        )
        est["kendall_tau_b"], pvals["kendall_tau_b"] = _perm_results(obs_k, perm_k, denom_k)
    else:
        p_method = "asymptotic test (normal approximation for tau-b, t approximation for rho)"
        for method in ("kendall_tau_b", "spearman"):
            est[method], pvals[method] = [], []
            for j in range(len(names)):
                y = ymat[:, j]
                if np.ptp(xv) == 0 or np.ptp(y) == 0:
                    est[method].append(None)
                    pvals[method].append(None)
                    continue
                res: Any = sps.kendalltau(xv, y) if method == "kendall_tau_b" else sps.spearmanr(xv, y)
                est[method].append(float(res.statistic))
                pvals[method].append(float(res.pvalue))

    out: list[Correlation] = []
    for method in ("kendall_tau_b", "spearman"):
        family = [pvals[method][j] if names[j] != "composite" else None for j in range(len(names))]
        adjusted = holm(family)
        for j, target in enumerate(names):
            e = est[method][j]
            p = pvals[method][j]
            ci = bonett_wright_ci(e, n, method) if e is not None else None  # type: ignore[arg-type]
            p_read = p if target == "composite" else adjusted[j]
            out.append(
                Correlation(
                    variable=variable,
                    target=target,
                    method=method,  # type: ignore[arg-type]
                    n=n,
                    estimate=e,
                    ci=Interval(low=ci[0], high=ci[1], level=LEVEL, method="Bonett-Wright (Fisher z)")
                    if ci is not None
                    else None,
                    p_value=p,
                    p_holm=adjusted[j] if target != "composite" else None,
                    permutations=permutations if use_perm else 0,
                    reading=_reading(method, n, e, ci, p_read),
                    p_method=p_method if e is not None else None,
                )
            )
    return out


def _perm_results(
    obs: np.ndarray, perm_stats: np.ndarray, denom: np.ndarray
) -> tuple[list[float | None], list[float | None]]:
    estimates: list[float | None] = []
    pvalues: list[float | None] = []
    m = perm_stats.shape[0]
    for j in range(len(obs)):
        if denom[j] <= 0:
            estimates.append(None)
            pvalues.append(None)
            continue
        estimates.append(float(obs[j] / denom[j]))
        tol = 1e-9 * max(1.0, abs(float(obs[j])))
        b = int((np.abs(perm_stats[:, j]) >= abs(float(obs[j])) - tol).sum())
        pvalues.append((b + 1) / (m + 1))
    return estimates, pvalues


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
    permutations: int = 9_999,
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
    correlations: list[Correlation] = []
    for k, variable in enumerate(_VARIABLES):
        bands = EMPLOYEE_BANDS if variable == "employees_band" else REVENUE_BANDS
        x = [_band_rank(getattr(s.profile, variable), bands, variable) for s in subs]
        correlations += rank_correlations(
            variable, x, targets, permutations=permutations, rng=np.random.default_rng([seed, 2, k])
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
