"""Tests of disclosure control (medcyber.benchmark.disclosure) as applied by cohort_stats and position."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from medcyber.benchmark.disclosure import (
    COMPLEMENTARY,
    EXTREMES_MIN_N,
    PRIMARY,
    check_min_cell,
    protect_cohort,
    protect_segments,
    suppression_plan,
)
from medcyber.benchmark.models import OrgProfile, SegmentSummary, Submission
from medcyber.benchmark.stats import cohort_stats, position
from medcyber.maturity.bank import CATEGORY_IDS


def sub(i: int, score: float, *, kind: str = "self", region: str | None = "North America") -> Submission:
    return Submission(
        submission_id=f"org-{i}",
        period="2024",
        profile=OrgProfile(
            employees_band="250-999", revenue_band="50M-250M", device_classes=("II",), region=region
        ),
        assessment_type=kind,  # type: ignore[arg-type]
        composite=score,
        categories={c: score for c in CATEGORY_IDS},
    )


def cohort(n: int, **kw: object) -> list[Submission]:
    return [sub(i, round(0.5 + (i * 0.37) % 3, 2), **kw) for i in range(n)]  # type: ignore[arg-type]


def test_cohort_of_four_is_suppressed() -> None:
    cs = cohort_stats(cohort(4), bootstrap=50, permutations=49)
    assert cs.suppressed and cs.n == 4
    assert cs.suppression_reason and "fewer than 5" in cs.suppression_reason
    assert cs.composite is None and cs.categories == {}
    assert cs.bins == [] and cs.correlations == [] and cs.segments == [] and cs.composites == []
    assert cs.power is None


def test_cohort_of_five_is_shown() -> None:
    cs = cohort_stats(cohort(5), bootstrap=50, permutations=49)
    assert not cs.suppressed and cs.composite is not None
    assert cs.composites == sorted(s.composite for s in cohort(5))


def test_min_cell_below_five_is_rejected() -> None:
    with pytest.raises(ValueError):
        check_min_cell(4)
    with pytest.raises(ValueError):
        cohort_stats(cohort(10), min_cell=4)
    with pytest.raises(ValueError):
        position({"composite": 1.0}, cohort(10), min_cell=3)
    with pytest.raises(ValueError):
        suppression_plan({"a": 10}, min_cell=2)


def test_min_cell_can_be_raised() -> None:
    cs = cohort_stats(cohort(7), min_cell=8, bootstrap=50, permutations=49)
    assert cs.suppressed and cs.min_cell == 8
    pos = position({"composite": 1.0}, cohort(7), min_cell=8)
    assert pos.composite is None


def test_segment_of_three_is_suppressed_with_its_complement() -> None:
    subs = cohort(17) + [sub(100 + i, 1.5, kind="third-party") for i in range(3)]
    cs = cohort_stats(subs, bootstrap=50, permutations=49)
    seg = {s.value: s for s in cs.segments if s.dimension == "assessment_type"}
    assert (
        seg["third-party"].suppressed and seg["third-party"].n is None and seg["third-party"].median is None
    )
    assert "fewer than 5" in (seg["third-party"].reason or "")
    # self (17) would reveal third-party = 20 - 17, so it is hidden too
    assert seg["self"].suppressed and seg["self"].n is None and seg["self"].median is None
    assert "recovered" in (seg["self"].reason or "")


def test_complement_not_needed_when_hidden_cells_already_protect_each_other() -> None:
    subs = (
        cohort(12)
        + [sub(100 + i, 1.0, region="Europe") for i in range(3)]
        + [sub(200 + i, 2.0, region="Asia-Pacific") for i in range(2)]
    )
    cs = cohort_stats(subs, bootstrap=50, permutations=49)
    seg = {s.value: s for s in cs.segments if s.dimension == "region"}
    assert seg["Europe"].suppressed and seg["Asia-Pacific"].suppressed
    assert not seg["North America"].suppressed and seg["North America"].n == 12


def test_suppression_plan_rule_examples() -> None:
    assert suppression_plan({"a": 3, "b": 10, "c": 12}) == {"a": PRIMARY, "b": COMPLEMENTARY, "c": None}
    assert suppression_plan({"a": 3, "b": 4, "c": 20}) == {"a": PRIMARY, "b": PRIMARY, "c": None}
    assert suppression_plan({"a": 1, "b": 1, "c": 30, "d": 40}) == {
        "a": PRIMARY,
        "b": PRIMARY,
        "c": COMPLEMENTARY,
        "d": None,
    }
    assert suppression_plan({"a": 5, "b": 9}) == {"a": None, "b": None}
    assert suppression_plan({"a": 2}) == {"a": PRIMARY}


@settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(st.text(min_size=1, max_size=3), st.integers(1, 40), min_size=1, max_size=7),
    st.integers(5, 9),
)
def test_suppression_plan_invariants(sizes: dict[str, int], min_cell: int) -> None:
    plan = suppression_plan(sizes, min_cell)
    hidden = [v for v, r in plan.items() if r]
    for v, n in sizes.items():
        if n < min_cell:
            assert plan[v] == PRIMARY
    if hidden and len(hidden) < len(sizes):
        assert len(hidden) >= 2
        assert sum(sizes[v] for v in hidden) >= min_cell
    if not any(n < min_cell for n in sizes.values()):
        assert hidden == []


def test_protect_segments_is_idempotent_and_enforces_two_hidden_cells() -> None:
    segs = [
        SegmentSummary(dimension="region", value="Europe", n=None, suppressed=True, reason="x"),
        SegmentSummary(dimension="region", value="North America", n=30, median=1.5, q1=1.0, q3=2.0),
        SegmentSummary(dimension="region", value="Asia-Pacific", n=8, median=1.2, q1=1.0, q3=1.6),
    ]
    once = protect_segments(segs)
    by = {s.value: s for s in once}
    assert by["Asia-Pacific"].suppressed and by["Asia-Pacific"].n is None
    assert not by["North America"].suppressed
    assert protect_segments(once) == once


def test_extremes_only_for_larger_cohorts() -> None:
    small = cohort_stats(cohort(EXTREMES_MIN_N - 1), bootstrap=50, permutations=49)
    assert small.composite is not None and small.composite.minimum is None and small.composite.maximum is None
    assert all(s.minimum is None for s in small.categories.values())
    large = cohort_stats(cohort(EXTREMES_MIN_N), bootstrap=50, permutations=49)
    assert large.composite is not None and large.composite.minimum is not None


def test_median_ci_withheld_when_it_would_be_the_extremes() -> None:
    cs = cohort_stats(cohort(7), bootstrap=50, permutations=49)  # 95% CI at n=7 is [x(1), x(7)]
    assert cs.composite is not None and cs.composite.median_ci is None
    cs9 = cohort_stats(cohort(9), bootstrap=50, permutations=49)  # x(2)..x(8)
    assert cs9.composite is not None and cs9.composite.median_ci is not None


def test_protect_cohort_is_idempotent() -> None:
    cs = cohort_stats(cohort(12) + [sub(99, 1.0, kind="third-party")], bootstrap=50, permutations=49)
    assert protect_cohort(cs) == cs


def test_composites_list_is_sorted_scores_only() -> None:
    subs = cohort(11)
    cs = cohort_stats(subs, bootstrap=50, permutations=49)
    assert cs.composites == sorted(s.composite for s in subs)
    assert all(isinstance(v, float) for v in cs.composites)
    dumped = cs.model_dump_json()
    assert "org-" not in dumped  # no submission ids leak into published statistics
