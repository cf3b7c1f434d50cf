"""Recommendations, must-have flags, roadmap and practice-area extremes (maturity/recommend.py)."""

from __future__ import annotations

from typing import Any

import pytest

from medcyber.benchmark.models import OrgProfile, Submission
from medcyber.benchmark.stats import cohort_stats
from medcyber.maturity.bank import CATEGORY_IDS, QuestionBank
from medcyber.maturity.recommend import (
    DEFAULT_TARGET,
    Targets,
    default_targets,
    must_have_flags,
    practice_area_extremes,
    recommendations,
    roadmap,
)
from medcyber.maturity.scoring import Answer, score

NAMES = {
    "organizational_structure": ("Organizational Structure", "OS"),
    "risk_management": ("Risk Management", "RM"),
    "design_control": ("Design Control", "DC"),
    "complaint_handling": ("Complaint Handling", "CH"),
}


def make_bank() -> QuestionBank:
    """A small bank of the real shape: 4 categories x 2 practice areas x 2 questions."""
    cats: list[dict[str, Any]] = []
    questions: list[dict[str, Any]] = []
    for cid, (name, prefix) in NAMES.items():
        areas = [{"id": f"{prefix.lower()}-a{i}", "name": f"{name} area {i}"} for i in (1, 2)]
        cats.append({"id": cid, "name": name, "practice_areas": areas})
        for k in range(4):
            qid = f"{prefix}-{k + 1:02d}"
            questions.append(
                {
                    "id": qid,
                    "category": cid,
                    "practice_area": areas[k // 2]["id"],
                    "text": f"How mature is practice {qid}?",
                    "guidance": "Answer with the level that is in place today.",
                    "levels": [f"{qid} level {lv}: practice described at level {lv}." for lv in range(6)],
                    "references": [{"source": "JSP2", "section": f"{k + 1}.1"}],
                    "tags": ["fda-524b"] if qid in ("RM-01", "DC-02") else [],
                    "na_allowed": qid == "CH-04",
                }
            )
    return QuestionBank.model_validate(
        {
            "id": "test-bank",
            "version": "0.0.1",
            "title": "Test bank",
            "scale": [{"level": i, "name": f"L{i}", "description": f"level {i}"} for i in range(6)],
            "categories": cats,
            "questions": questions,
            "must_haves": [
                {
                    "id": "MH-SBOM",
                    "name": "SBOM",
                    "description": "A software bill of materials is maintained.",
                    "references": [{"source": "FDCA-524B", "section": "(b)(3)"}],
                    "questions": ["DC-02"],
                    "pass_level": 2,
                },
                {
                    "id": "MH-CVD",
                    "name": "Vulnerability disclosure",
                    "description": "A plan to monitor and disclose vulnerabilities.",
                    "references": [{"source": "FDCA-524B", "section": "(b)(1)"}],
                    "questions": ["CH-03", "CH-04"],
                    "pass_level": 2,
                },
            ],
            "headline_recommendations": [
                {
                    "id": "HR-1",
                    "text": "Name an owner for product security with a budget.",
                    "source": "MDIC 2022",
                    "questions": ["OS-01", "OS-02"],
                    "below_level": 2,
                }
            ],
        }
    )


def answers_from(levels: dict[str, int | None], **na: str) -> list[Answer]:
    out = [Answer(question_id=q, level=lv) for q, lv in levels.items() if lv is not None]
    out += [Answer(question_id=q, not_applicable=True, na_reason=r) for q, r in na.items()]
    return out


def flat_levels(bank: QuestionBank, level: int) -> dict[str, int | None]:
    return {q.id: level for q in bank.questions}


def make_cohort(n: int = 12):
    subs = []
    for i in range(n):
        base = 0.8 + 0.12 * i
        cats = {c: round(base + 0.1 * j, 3) for j, c in enumerate(CATEGORY_IDS)}
        subs.append(
            Submission(
                submission_id=f"s{i}",
                period="2022",
                profile=OrgProfile(employees_band="250-999", revenue_band="50M-250M"),
                composite=sum(cats.values()) / 4,
                categories=cats,
                synthetic=True,
            )
        )
    return cohort_stats(subs, cohort="test", bootstrap=200, permutations=99)


@pytest.fixture(scope="module")
def bank() -> QuestionBank:
    return make_bank()


def test_next_level_descriptor_is_the_next_step(bank: QuestionBank) -> None:
    levels = flat_levels(bank, 3)
    levels["RM-02"] = 1
    ans = answers_from(levels)
    recs = recommendations(bank, ans, score(bank, ans), cohort=None)
    rm = [r for r in recs if r.question_id == "RM-02"]
    assert len(rm) == 1
    assert rm[0].next_step == bank.question("RM-02").levels[2]
    assert rm[0].current_level == 1 and rm[0].next_level == 2 and rm[0].target_level == 3
    assert rm[0].references == ["JSP2 2.1"]
    assert [r.question_id for r in recs] == ["RM-02"]  # everything else already meets level 3


def test_raising_answer_to_target_removes_recommendation(bank: QuestionBank) -> None:
    levels = flat_levels(bank, 2)
    ans = answers_from(levels)
    before = {r.question_id for r in recommendations(bank, ans, score(bank, ans), cohort=None)}
    assert "DC-03" in before
    levels["DC-03"] = int(DEFAULT_TARGET)
    ans2 = answers_from(levels)
    after = {r.question_id for r in recommendations(bank, ans2, score(bank, ans2), cohort=None)}
    assert "DC-03" not in after
    assert after == before - {"DC-03"}


def test_priority_gap_weak_category_and_524b(bank: QuestionBank) -> None:
    levels = flat_levels(bank, 2)
    levels.update({"OS-03": 0, "CH-01": 1, "CH-02": 1, "RM-01": 2})
    ans = answers_from(levels)
    sc = score(bank, ans)
    assert sc.minimum_category == "complaint_handling"
    recs = [r for r in recommendations(bank, ans, sc, cohort=None) if r.kind == "practice"]
    by_q = {r.question_id: r for r in recs}
    assert [r.priority for r in recs] == list(range(1, len(recs) + 1))
    # a gap of 3 outranks a gap of 2 in the weakest category
    assert by_q["OS-03"].priority < by_q["CH-01"].priority
    # same gap: the weakest category first
    assert by_q["CH-03"].priority < by_q["DC-01"].priority
    # same gap and category rank: the 524B question first
    assert by_q["DC-02"].fda_524b and by_q["DC-02"].priority < by_q["DC-01"].priority
    assert recs == sorted(recs, key=lambda r: -r.priority_score)


def test_headline_recommendation_only_below_its_level(bank: QuestionBank) -> None:
    levels = flat_levels(bank, 3)
    levels["OS-02"] = 1
    ans = answers_from(levels)
    recs = recommendations(bank, ans, score(bank, ans), cohort=None)
    heads = [r for r in recs if r.kind == "headline"]
    assert [h.id for h in heads] == ["HR-1"]
    assert heads[0].next_step == "Name an owner for product security with a budget."
    assert "OS-02 at 1" in heads[0].reason
    levels["OS-02"] = 2
    ans2 = answers_from(levels)
    assert not [
        r for r in recommendations(bank, ans2, score(bank, ans2), cohort=None) if r.kind == "headline"
    ]


def test_cohort_q3_sets_targets(bank: QuestionBank) -> None:
    cohort = make_cohort()
    t = default_targets(cohort)
    assert t.source.startswith("cohort top quartile")
    assert t.composite == pytest.approx(cohort.composite.q3)
    assert t.categories["design_control"] == pytest.approx(cohort.categories["design_control"].q3)
    ans = answers_from(flat_levels(bank, 1))
    recs = recommendations(bank, ans, score(bank, ans), cohort=cohort)
    import math

    for r in recs:
        if r.kind == "practice":
            assert r.target_level == math.ceil(t.categories[r.category])


def test_must_have_flags_pass_fail_and_na(bank: QuestionBank) -> None:
    levels = flat_levels(bank, 2)
    levels["CH-04"] = None
    ans = answers_from(levels, **{"CH-04": "no connected devices"})
    flags = {f.id: f for f in must_have_flags(bank, ans)}
    assert flags["MH-SBOM"].passed
    assert not flags["MH-CVD"].passed
    assert [f.question_id for f in flags["MH-CVD"].failing] == ["CH-04"]
    assert (
        "N/A" in flags["MH-CVD"].failing[0].reason
        and "no connected devices" in flags["MH-CVD"].failing[0].reason
    )
    levels["DC-02"] = 1
    flags2 = {f.id: f for f in must_have_flags(bank, answers_from(levels))}
    assert not flags2["MH-SBOM"].passed and "DC-02" in flags2["MH-SBOM"].summary
    assert flags2["MH-CVD"].failing[0].reason == "not answered"


def test_roadmap_reaches_target_and_caps_percent(bank: QuestionBank) -> None:
    levels = flat_levels(bank, 1)
    levels.update({"OS-01": 4, "OS-02": 4, "OS-03": 4, "OS-04": 4})  # OS above target
    ans = answers_from(levels)
    sc = score(bank, ans)
    prev = score(bank, answers_from(flat_levels(bank, 0)))
    plan = roadmap(bank, ans, sc, target=2.5, previous=prev)
    cats = {c.category: c for c in plan.categories}
    assert cats["organizational_structure"].pct_to_target == 100.0  # 4 / 2.5 capped
    assert cats["organizational_structure"].gap == 0.0
    assert cats["risk_management"].pct_to_target == pytest.approx(40.0)
    assert cats["risk_management"].delta == pytest.approx(1.0)
    assert [m.label for m in plan.milestones] == ["Q1", "Q2", "Q3", "Q4"]
    assert plan.reaches_target
    final = plan.milestones[-1]
    for cid in CATEGORY_IDS:
        assert final.projected_categories[cid] >= 2.5
    assert final.projected_composite >= 2.5
    steps = [s for m in plan.milestones for s in m.steps]
    assert steps and not any(s.category == "organizational_structure" for s in steps)
    for s in steps:
        assert s.to_level == s.from_level + 1
        assert s.next_step == bank.question(s.question_id).levels[s.to_level]
    # a question's second step never comes before its first
    seen: dict[str, tuple[int, int]] = {}
    for s in steps:
        if s.question_id in seen:
            assert s.quarter > seen[s.question_id][1] and s.from_level == seen[s.question_id][0]
        seen[s.question_id] = (s.to_level, s.quarter)
    # quarters are used in order and balanced
    counts = [len(m.steps) for m in plan.milestones]
    assert max(counts) - min(counts) <= max(2, len(steps) // 2)


def test_roadmap_when_already_at_target(bank: QuestionBank) -> None:
    ans = answers_from(flat_levels(bank, 4))
    plan = roadmap(bank, ans, score(bank, ans), target=3.0)
    assert plan.reaches_target and not any(m.steps for m in plan.milestones)
    assert plan.composite_pct_to_target == 100.0


def test_roadmap_composite_target_above_category_targets(bank: QuestionBank) -> None:
    ans = answers_from(flat_levels(bank, 2))
    plan = roadmap(bank, ans, score(bank, ans), target=3.0, category_targets=dict.fromkeys(CATEGORY_IDS, 2.0))
    assert plan.milestones[-1].projected_composite >= 3.0


def test_targets_override(bank: QuestionBank) -> None:
    ans = answers_from(flat_levels(bank, 2))
    t = Targets(composite=2.0, categories=dict.fromkeys(CATEGORY_IDS, 2.0), source="test")
    assert recommendations(bank, ans, score(bank, ans), cohort=None, targets=t) == []


def test_practice_area_extremes(bank: QuestionBank) -> None:
    levels = flat_levels(bank, 2)
    levels.update({"RM-03": 5, "RM-04": 5, "DC-01": 0, "DC-02": 0})
    sc = score(bank, answers_from(levels))
    strong, weak = practice_area_extremes(bank, sc, n=3)
    assert strong[0].id == "rm-a2" and strong[0].score == 5
    assert weak[0].id == "dc-a1" and weak[0].score == 0
    assert not {a.id for a in strong} & {a.id for a in weak}


def test_target_never_below_where_the_organisation_stands() -> None:
    """A leader above the cohort's top quartile gets the next whole level as its target."""
    from medcyber.benchmark.demo import acme_assessments, demo_submissions
    from medcyber.benchmark.stats import cohort_stats
    from medcyber.maturity.bank import load_bank
    from medcyber.maturity.scoring import score as score_fn

    bank = load_bank()
    cohort = cohort_stats(demo_submissions(bank), bootstrap=200, permutations=99)
    acme = score_fn(bank, acme_assessments(bank)[-1].answers)
    t = default_targets(cohort, acme)
    assert acme.composite is not None and cohort.composite is not None
    assert acme.composite > cohort.composite.q3  # the demo organisation leads the synthetic cohort
    assert t.composite == 3.0
    for cid, target in t.categories.items():
        current = acme.categories[cid].score
        assert current is not None and target > current
        q3 = cohort.categories[cid].q3
        assert target == (q3 if current < q3 else float(int(current) + 1))
