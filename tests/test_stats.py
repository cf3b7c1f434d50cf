"""Tests of the ordinal cohort statistics (medcyber.benchmark.stats)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as sps

from medcyber.benchmark.models import EMPLOYEE_BANDS, REVENUE_BANDS, OrgProfile, Submission
from medcyber.benchmark.stats import (
    MIN_PERMUTATIONS,
    PERMUTATIONS,
    _kendall_s,
    band_correlations,
    bin_index,
    bonett_wright_ci,
    cohort_stats,
    composite_bins,
    holm,
    median_ci,
    min_detectable_rho,
    permutation_count,
    position,
    power_statement,
    rank_among,
    rank_correlations,
    summarize,
)
from medcyber.maturity.bank import CATEGORY_IDS

scores = st.floats(min_value=0, max_value=5, allow_nan=False, allow_infinity=False)


def make_submissions(n: int, seed: int = 0, *, link: float = 0.0) -> list[Submission]:
    """Random submissions on the bank's 1/12 lattice; ``link`` ties scores to the revenue band."""
    rng = np.random.default_rng(seed)
    subs = []
    for i in range(n):
        rev = int(rng.integers(0, 6))
        emp = int(min(5, max(0, rev + rng.integers(-1, 2))))
        cats = {}
        for c in CATEGORY_IDS:
            raw = (1 - link) * rng.uniform(0, 5) + link * (rev * 0.8 + rng.uniform(0, 1))
            cats[c] = round(float(np.clip(raw, 0, 5)) * 12) / 12
        subs.append(
            Submission(
                submission_id=f"org-{i}",
                period="2022",
                profile=OrgProfile(
                    employees_band=EMPLOYEE_BANDS[emp],
                    revenue_band=REVENUE_BANDS[rev],
                    device_classes=("II",),
                    region="North America",
                ),
                composite=sum(cats.values()) / 4,
                categories=cats,
            )
        )
    return subs


# --- summaries --------------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(st.lists(scores, min_size=5, max_size=40))
def test_summary_order_statistics_and_intervals(values: list[float]) -> None:
    s = summarize(values, bootstrap=300, rng=np.random.default_rng(1))
    lo, hi = min(values), max(values)
    eps = 1e-9
    assert lo - eps <= s.q1 <= s.median + eps <= s.q3 + 2 * eps <= hi + 3 * eps
    assert s.iqr == pytest.approx(s.q3 - s.q1)
    assert s.n == len(values)
    if s.median_ci is not None:
        assert s.median_ci.low - eps <= s.median <= s.median_ci.high + eps
    assert s.mean_ci is not None
    assert s.mean_ci.low - eps <= s.mean <= s.mean_ci.high + eps
    assert "approximate" in s.mean_ci.method


def test_summary_matches_numpy_definitions() -> None:
    x = [0.5, 1.0, 1.25, 1.5, 2.0, 2.25, 3.0]
    s = summarize(x, bootstrap=0)
    assert s.median == 1.5
    assert s.q1 == pytest.approx(np.quantile(x, 0.25))  # type 7: 1.125
    assert s.q1 == pytest.approx(1.125)
    assert s.sd == pytest.approx(np.std(x, ddof=1))
    assert s.mean_ci is None


def test_median_ci_order_statistics() -> None:
    x = list(range(1, 18))  # n = 17: x(5)..x(13), coverage 95.1%
    low, high, k, coverage = median_ci(x)  # type: ignore[misc]
    assert (low, high, k) == (5, 13, 5)
    assert coverage == pytest.approx(1 - 2 * sps.binom.cdf(4, 17, 0.5))
    assert coverage >= 0.95
    assert median_ci([1, 2, 3, 4, 5]) is None  # [min, max] covers only 93.75%
    s = summarize([float(v) for v in x], bootstrap=0)
    assert s.median_ci is not None and "95.1%" in s.median_ci.method


def test_bootstrap_is_deterministic_per_seed() -> None:
    x = [0.5, 1.0, 1.0, 2.0, 2.5, 3.0, 1.5]
    a = summarize(x, bootstrap=2000, rng=np.random.default_rng(3))
    b = summarize(x, bootstrap=2000, rng=np.random.default_rng(3))
    assert a.mean_ci == b.mean_ci


# --- bins -------------------------------------------------------------------------------------------


def test_bin_edges_and_labels() -> None:
    labels = [b.label for b in composite_bins([])]
    assert labels[:5] == ["0-0.49", "0.5-0.99", "1.0-1.49", "1.5-1.99", "2.0-2.49"]
    assert labels[-1] == "4.5-5.0" and len(labels) == 10
    assert bin_index(1.4999999) == 3  # rounds to 1.50 first
    assert bin_index(1.494) == 2
    assert bin_index(0.5) == 1
    assert bin_index(0.49) == 0
    assert bin_index(5.0) == 9
    assert bin_index(4.5) == 9
    with pytest.raises(ValueError):
        bin_index(5.2)


@settings(max_examples=60, deadline=None)
@given(st.lists(scores, max_size=60))
def test_bins_sum_to_n(values: list[float]) -> None:
    bins = composite_bins(values)
    assert sum(b.count or 0 for b in bins) == len(values)
    for v in values:
        b = bins[bin_index(v)]
        assert b.low <= round(v, 2) + 1e-9 and (round(v, 2) < b.high or b.high == 5.0)


# --- correlations -----------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(6))
def test_rank_correlation_estimates_match_scipy(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(8, 60))
    x = rng.integers(0, 6, n).astype(float)  # ordinal bands with ties
    y = {"composite": np.round(rng.uniform(0, 5, n) * 4) / 4, "other": rng.uniform(0, 5, n)}
    out = rank_correlations("revenue_band", x, y, permutations=99, rng=np.random.default_rng(0))
    for c in out:
        ref = sps.kendalltau(x, y[c.target]) if c.method == "kendall_tau_b" else sps.spearmanr(x, y[c.target])
        assert c.estimate == pytest.approx(float(ref.statistic), abs=1e-12)


def test_kendall_numerator_from_tables_matches_brute_force() -> None:
    rng = np.random.default_rng(5)
    n = 23
    for _ in range(50):
        x = rng.integers(0, 5, n)
        y = np.round(rng.uniform(0, 3, n), 1)  # ties in y too
        levels = np.unique(x, return_inverse=True)[1]
        codes = np.unique(y, return_inverse=True)[1]
        table = np.zeros((levels.max() + 1, codes.max() + 1), dtype=np.int64)
        np.add.at(table, (levels, codes), 1)
        brute = sum(np.sign(x[i] - x[j]) * np.sign(y[i] - y[j]) for i in range(n) for j in range(i + 1, n))
        assert _kendall_s(table[None])[0] == brute


def test_permutation_p_values_and_readings() -> None:
    subs = make_submissions(40, seed=2, link=0.9)
    cs = cohort_stats(subs, bootstrap=100, permutations=999)
    rev = [c for c in cs.correlations if c.variable == "revenue_band"]
    assert len(rev) == 10
    for c in rev:
        assert c.p_value is not None and c.p_value >= 1 / 1000
        assert c.permutations == 999 and "permutation" in (c.p_method or "")
        assert c.estimate is not None and c.estimate > 0.5
        assert c.reading.startswith("evidence of a positive correlation (n=40;")
        if c.target == "composite":
            assert c.p_holm is None
        else:
            assert c.p_holm is not None and c.p_holm >= c.p_value
    noise = cohort_stats(make_submissions(17, seed=11), bootstrap=100, permutations=999)
    for c in noise.correlations:
        assert "no correlation" not in c.reading
        if c.p_value is not None and c.p_value > 0.05:
            assert c.reading.startswith("no evidence of a correlation (n=17;")


def test_permutation_p_agrees_with_scipy_permutation_test() -> None:
    subs = make_submissions(17, seed=4, link=0.3)
    cs = cohort_stats(subs, bootstrap=0, permutations=9999, seed=1)
    x = np.array([s.profile.revenue_rank() for s in subs], dtype=float)
    y = np.array([s.composite for s in subs])
    ref = sps.permutation_test(
        (x,),
        lambda a: sps.spearmanr(a, y).statistic,
        permutation_type="pairings",
        n_resamples=9999,
        random_state=0,
    )
    mine = next(
        c
        for c in cs.correlations
        if c.variable == "revenue_band" and c.target == "composite" and c.method == "spearman"
    )
    assert mine.p_value == pytest.approx(ref.pvalue, abs=0.03)


def _x_y(subs: list[Submission], variable: str, target: str) -> tuple[list[int], np.ndarray]:
    rank = "revenue_rank" if variable == "revenue_band" else "employees_rank"
    x = [getattr(s.profile, rank)() for s in subs]
    y = [s.composite if target == "composite" else s.categories[target] for s in subs]
    return x, np.round(y, 12)  # the module ties scores equal to 12 decimals


@pytest.mark.parametrize(("link", "seed"), [(0.0, 21), (0.06, 22), (0.9, 23)])
def test_permutation_p_agrees_with_asymptotic_at_n2000(link: float, seed: int) -> None:
    """At n=2,000 the asymptotic tests are accurate, so the Monte Carlo p must match them within MC error."""
    n, m = 2_000, 1_999
    subs = make_submissions(n, seed=seed, link=link)
    cs = cohort_stats(subs, bootstrap=0, permutations=m, seed=seed)
    assert len(cs.correlations) == 20
    for c in cs.correlations:
        assert c.permutations == m and f"permutation (m={m})" in (c.p_method or "")
        x, y = _x_y(subs, c.variable, c.target)
        ref = sps.kendalltau(x, y) if c.method == "kendall_tau_b" else sps.spearmanr(x, y)
        assert c.estimate == pytest.approx(float(ref.statistic), abs=1e-12)
        p_ref = float(ref.pvalue)
        assert c.p_value is not None and c.p_value >= 1 / (m + 1)
        # 4 Monte Carlo standard errors, plus a little for the asymptotic approximation itself
        assert abs(c.p_value - p_ref) <= 4 * math.sqrt(p_ref * (1 - p_ref) / m) + 0.01, (c, p_ref)
        if link == 0.9:
            assert c.p_value == 1 / (m + 1)


def test_weak_link_gives_intermediate_p_values() -> None:
    """Guard that the agreement test above also covers p-values away from 0 and 1."""
    subs = make_submissions(2_000, seed=22, link=0.06)
    cs = cohort_stats(subs, bootstrap=0, permutations=999, seed=1)
    ps = [c.p_value for c in cs.correlations if c.p_value is not None]
    assert any(0.001 < p < 0.5 for p in ps)


def test_permutation_count_rule_and_reporting() -> None:
    assert PERMUTATIONS == 9_999
    assert [permutation_count(n) for n in (5, 17, 100, 1_000, 2_000)] == [9_999] * 5
    assert permutation_count(4_000) == 4_999
    assert permutation_count(10_000) == MIN_PERMUTATIONS == 1_999
    assert permutation_count(50_000) == 1_999  # never fewer, at any n
    assert permutation_count(10_000, 999) == 999 and permutation_count(17, 199) == 199
    assert permutation_count(10_000, 0) == 0
    rng = np.random.default_rng(3)
    x = rng.integers(0, 6, 3_000)
    y = {"composite": np.round(rng.uniform(0, 5, 3_000) * 12) / 12}
    out = rank_correlations("employees_band", x, y, rng=np.random.default_rng(0))
    m = permutation_count(3_000)
    assert m == 5_999
    for c in out:
        assert c.permutations == m and c.p_method is not None and f"permutation (m={m})" in c.p_method
        assert c.p_value is not None and (c.p_value * (m + 1)) == pytest.approx(round(c.p_value * (m + 1)))


def test_permutation_tests_deterministic_per_seed() -> None:
    subs = make_submissions(300, seed=8, link=0.1)
    a = cohort_stats(subs, bootstrap=0, permutations=499, seed=5)
    b = cohort_stats(subs, bootstrap=0, permutations=499, seed=5)
    c = cohort_stats(subs, bootstrap=0, permutations=499, seed=6)
    assert a.correlations == b.correlations
    assert [x.p_value for x in a.correlations] != [x.p_value for x in c.correlations]
    assert [x.estimate for x in a.correlations] == [x.estimate for x in c.correlations]


def test_shared_relabellings_match_single_variable_runs() -> None:
    """band_correlations (both bands at once) gives each variable the same estimates as rank_correlations,
    and p-values within Monte Carlo error of separate runs."""
    rng = np.random.default_rng(12)
    n = 60
    rev = rng.integers(0, 6, n)
    emp = np.clip(rev + rng.integers(-1, 2, n), 0, 5)
    ys = {"composite": np.round((rev * 0.3 + rng.uniform(0, 3, n)) * 12) / 12, "c1": rng.uniform(0, 5, n)}
    both = band_correlations({"employees_band": emp, "revenue_band": rev}, ys, permutations=4_999)
    for variable, x in (("employees_band", emp), ("revenue_band", rev)):
        alone = rank_correlations(variable, x, ys, permutations=4_999, rng=np.random.default_rng(99))
        shared = [c for c in both if c.variable == variable]
        for a, s in zip(alone, shared, strict=True):
            assert (a.target, a.method, a.estimate) == (s.target, s.method, s.estimate)
            assert a.p_value is not None and s.p_value is not None
            p = (a.p_value + s.p_value) / 2
            assert abs(a.p_value - s.p_value) <= 5 * math.sqrt(2 * p * (1 - p) / 5_000) + 1e-3


def test_no_permutations_means_no_p_value() -> None:
    subs = make_submissions(30, seed=2, link=0.9)
    cs = cohort_stats(subs, bootstrap=0, permutations=0)
    for c in cs.correlations:
        assert c.permutations == 0 and c.p_value is None and c.p_method is None
        assert c.estimate is not None and c.reading.startswith("not tested for significance (n=30;")


def test_float_noise_in_scores_is_a_tie() -> None:
    x = np.array([0, 0, 1, 1, 2, 2, 3, 3], dtype=float)
    y = np.array([1.5, 1.5 + 2e-16, 1.0, 2.0, 2.5, 2.5, 3.0, 3.0 - 4e-16])
    out = rank_correlations("revenue_band", x, {"composite": y}, permutations=99)
    clean = np.round(y, 12)
    for c in out:
        ref = sps.kendalltau(x, clean) if c.method == "kendall_tau_b" else sps.spearmanr(x, clean)
        assert c.estimate == pytest.approx(float(ref.statistic), abs=1e-12)


def test_composite_bins_vectorised_rule() -> None:
    values = [0.0, 0.494, 0.495, 1.4999999, 2.25, 4.5, 5.0, 0.5]
    bins = composite_bins(values)
    expected = [0] * 10
    for v in values:
        expected[bin_index(v)] += 1
    assert [b.count for b in bins] == expected
    with pytest.raises(ValueError):
        composite_bins([1.0, 5.3])
    with pytest.raises(ValueError):
        composite_bins([float("nan")])


def test_holm_known_example() -> None:
    # sorted: 0.005*4=0.02, 0.01*3=0.03, 0.03*2=0.06, max(0.06, 0.04*1)=0.06
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm([0.5, None, 0.9]) == [pytest.approx(1.0), None, pytest.approx(1.0)]
    assert holm([0.01, None, 0.02]) == [pytest.approx(0.02), None, pytest.approx(0.02)]


def test_bonett_wright_intervals() -> None:
    low, high = bonett_wright_ci(0.3, 17, "spearman")  # type: ignore[misc]
    half = 1.959963984540054 * math.sqrt((1 + 0.09 / 2) / 14)
    assert (low, high) == pytest.approx(
        (math.tanh(math.atanh(0.3) - half), math.tanh(math.atanh(0.3) + half))
    )
    low, high = bonett_wright_ci(0.2, 17, "kendall_tau_b")  # type: ignore[misc]
    half = 1.959963984540054 * math.sqrt(0.437 / 13)
    assert (low, high) == pytest.approx(
        (math.tanh(math.atanh(0.2) - half), math.tanh(math.atanh(0.2) + half))
    )
    assert bonett_wright_ci(1.0, 17, "spearman") is not None


def test_power_statement_n17() -> None:
    assert min_detectable_rho(17) == pytest.approx(0.4925, abs=0.001)
    p = power_statement(17)
    assert "with n=17 only |rho| >= ~0.49 is detectable" in p.text
    assert min_detectable_rho(100) < min_detectable_rho(17)


def test_cohort_stats_deterministic_and_complete() -> None:
    subs = make_submissions(25, seed=9)
    a = cohort_stats(subs, bootstrap=500, permutations=199, seed=7)
    b = cohort_stats(subs, bootstrap=500, permutations=199, seed=7)
    assert a == b
    assert not a.suppressed and a.n == 25 and a.periods == ["2022"]
    assert set(a.categories) == set(CATEGORY_IDS)
    assert a.composite is not None and a.composite.median == pytest.approx(
        np.median([s.composite for s in subs])
    )
    assert a.power is not None and a.power.n == 25
    assert len(a.correlations) == 2 * 2 * 5


def test_cohort_rejects_duplicates() -> None:
    subs = make_submissions(6)
    with pytest.raises(ValueError):
        cohort_stats([*subs, subs[0]])


# --- position ---------------------------------------------------------------------------------------


def test_position_text_and_quintile() -> None:
    others = [0.5, 0.8, 1.0, 1.1, 1.2, 1.3, 1.4, 1.45, 1.5, 1.55, 1.6, 1.7, 1.8, 1.8, 2.2, 2.3, 2.4]
    r = rank_among(1.8, others)
    assert (r.below, r.ties, r.n_others) == (12, 2, 17)
    assert r.text == "higher than 12 of 17 (2 tied)"
    assert r.rank == 14.0
    assert r.quintile == 4  # (12 + 1) / 17 = 0.76
    assert rank_among(3.0, others).quintile == 5 and rank_among(0.0, others).quintile == 1
    assert rank_among(0.0, others).text == "higher than 0 of 17"


def test_position_excludes_the_organisation_and_needs_min_cell() -> None:
    subs = make_submissions(8, seed=1)
    me = subs[0]
    pos = position(
        {"composite": me.composite, "categories": me.categories}, subs, exclude_id=me.submission_id
    )
    assert pos.composite is not None and pos.composite.n_others == 7
    assert all(pos.categories[c] is not None for c in CATEGORY_IDS)
    small = position({"composite": 2.0}, subs[:4])
    assert small.composite is None
    assert all(v is None for v in small.categories.values())


@settings(max_examples=80, deadline=None)
@given(st.lists(scores, min_size=5, max_size=30), scores, scores)
def test_raising_the_score_never_lowers_the_rank(others: list[float], a: float, b: float) -> None:
    lo, hi = sorted((a, b))
    r_lo, r_hi = rank_among(lo, others), rank_among(hi, others)
    assert r_hi.rank >= r_lo.rank
    assert r_hi.quintile >= r_lo.quintile
    for r in (r_lo, r_hi):
        assert r.below + r.ties <= r.n_others == len(others)
        assert 1 <= r.rank <= r.n_others + 1
