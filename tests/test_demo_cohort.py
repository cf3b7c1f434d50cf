"""The synthetic demo cohort reproduces the published 2022 figures; the Acme demo assessments."""

from __future__ import annotations

import pytest

from medcyber.benchmark.demo import acme_assessments, demo_cohort
from medcyber.benchmark.reference import load_reference
from medcyber.benchmark.stats import cohort_stats
from medcyber.maturity.bank import CATEGORY_IDS, QuestionBank, load_bank
from medcyber.maturity.scoring import score

REF = load_reference("mdic-2022")


def build_bank(
    per_category: dict[str, int], *, weights: tuple[float, ...] = (1.0,), na_every: int = 5
) -> QuestionBank:
    """A bank built in the test: ``per_category`` questions each, cycling ``weights``."""
    categories = []
    questions = []
    k = 0
    for cid in CATEGORY_IDS:
        area = f"{cid}-area"
        categories.append(
            {
                "id": cid,
                "name": cid.replace("_", " ").title(),
                "practice_areas": [{"id": area, "name": "Area"}],
            }
        )
        for i in range(per_category[cid]):
            questions.append(
                {
                    "id": f"{cid[:2].upper()}-{i + 1:02d}",
                    "category": cid,
                    "practice_area": area,
                    "text": f"Question {i + 1}",
                    "guidance": "g",
                    "levels": [f"level {j}" for j in range(6)],
                    "references": [{"source": "JSP", "section": "1"}],
                    "weight": weights[k % len(weights)],
                    "na_allowed": (k % na_every == 3),
                }
            )
            k += 1
    return QuestionBank.model_validate(
        {
            "id": "test-bank",
            "version": "0.0.1",
            "title": "Test bank",
            "scale": [{"level": j, "name": f"L{j}", "description": "d"} for j in range(6)],
            "categories": categories,
            "questions": questions,
        }
    )


BANKS = {
    "real": load_bank,
    "uniform-12": lambda: build_bank({c: 12 for c in CATEGORY_IDS}),
    "weighted-uneven": lambda: build_bank(
        dict(zip(CATEGORY_IDS, (10, 12, 14, 11), strict=True)), weights=(1.0, 2.0, 1.0, 1.5), na_every=7
    ),
}


@pytest.fixture(params=list(BANKS), scope="module")
def bank(request: pytest.FixtureRequest) -> QuestionBank:
    return BANKS[request.param]()


def test_reference_data() -> None:
    assert REF.respondents == 17 and REF.questions == 44
    assert REF.category_means() == {
        "organizational_structure": 1.68,
        "risk_management": 1.47,
        "design_control": 1.42,
        "complaint_handling": 1.47,
    }
    assert REF.composite_mean == 1.51
    assert [(b.label, b.count) for b in REF.composite_bins] == [
        ("0.5-0.99", 3),
        ("1.0-1.49", 4),
        ("1.5-1.99", 6),
        ("2.0-2.49", 4),
    ]
    assert "revenue" in REF.finding("no-revenue-correlation").text
    assert REF.later_editions[0].edition == "2023" and REF.later_editions[0].composite_mean == 1.86
    assert "Cybersecurity Maturity" in REF.title


def test_demo_cohort_reproduces_published_figures(bank: QuestionBank) -> None:
    cohort = demo_cohort(bank)
    assert len(cohort) == 17
    scores = [score(bank, r.answers) for r in cohort]
    assert all(s.complete and s.composite is not None for s in scores)
    for cid, target in REF.category_means().items():
        mean = sum(s.categories[cid].score for s in scores) / 17  # type: ignore[misc]
        assert round(mean, 2) == target, cid
    composite_mean = sum(s.composite for s in scores) / 17  # type: ignore[misc]
    assert round(composite_mean, 2) == 1.51

    stats = cohort_stats([r.submission(bank) for r in cohort])
    assert stats.synthetic and stats.n == 17 and not stats.suppressed
    counts = {b.label: b.count for b in stats.bins}
    assert counts == {
        "0-0.49": 0,
        "0.5-0.99": 3,
        "1.0-1.49": 4,
        "1.5-1.99": 6,
        "2.0-2.49": 4,
        "2.5-2.99": 0,
        "3.0-3.49": 0,
        "3.5-3.99": 0,
        "4.0-4.49": 0,
        "4.5-5.0": 0,
    }
    assert stats.composite is not None and round(stats.composite.mean, 2) == 1.51
    for cid, target in REF.category_means().items():
        assert round(stats.categories[cid].mean, 2) == target
    revenue = [c for c in stats.correlations if c.variable == "revenue_band" and c.target == "composite"]
    assert {c.method for c in revenue} == {"kendall_tau_b", "spearman"}
    for c in revenue:
        assert c.p_value is not None and c.p_value > 0.2
        assert c.reading.startswith("no evidence of a correlation (n=17;")


def test_demo_cohort_is_labelled_complete_and_deterministic(bank: QuestionBank) -> None:
    a, b = demo_cohort(bank), demo_cohort(bank)
    assert a == b
    assert [r.submission_id for r in a] == [f"synthetic-2022-{k:02d}" for k in range(1, 18)]
    assert all(r.synthetic and r.period == "2022" and r.assessed_on.year == 2022 for r in a)
    na = 0
    for r in a:
        assert [x.question_id for x in r.answers] == [q.id for q in bank.questions]
        for x in r.answers:
            if x.not_applicable:
                na += 1
                assert bank.question(x.question_id).na_allowed and x.na_reason
            else:
                assert isinstance(x.level, int) and 0 <= x.level <= 5
        assert r.submission(bank).synthetic
    assert na == (3 if any(q.na_allowed for q in bank.questions) else 0)
    # realistic spread: not every respondent answers every question at the same level
    assert all(len({x.level for x in r.answers if x.level is not None}) >= 2 for r in a)


def test_acme_assessments_show_progress_and_a_weak_spot(bank: QuestionBank) -> None:
    first, second = acme_assessments(bank)
    assert first.organisation == second.organisation == "Acme Medical"
    assert first.submission_id not in {r.submission_id for r in demo_cohort(bank)}
    assert first.assessed_on.isoformat() == "2025-11-15" and second.assessed_on.isoformat() == "2026-11-10"
    s1, s2 = score(bank, first.answers), score(bank, second.answers)
    assert s1.complete and s2.complete
    assert s1.composite is not None and s2.composite is not None
    assert 1.85 <= s1.composite < s2.composite <= 2.25
    for s, answers in ((s1, first.answers), (s2, second.answers)):
        cats = s.category_scores()
        weakest = min(cats, key=lambda c: cats[c])  # type: ignore[arg-type, return-value]
        assert weakest == "complaint_handling"
        others = sorted(v for c, v in cats.items() if c != weakest)  # type: ignore[type-var]
        assert others[0] - cats[weakest] >= 0.4  # type: ignore[operator]
        low = [
            x
            for x in answers
            if bank.question(x.question_id).category == weakest and x.level is not None and x.level <= 1
        ]
        assert len(low) >= 2
    # progress only: no answer got worse
    before = {x.question_id: x.level for x in first.answers}
    assert all(x.level is None or x.level >= (before[x.question_id] or 0) for x in second.answers)
