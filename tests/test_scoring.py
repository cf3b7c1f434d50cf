"""Scoring: property tests on the real bank (scores in 0-5, monotone, N/A leaves the denominator)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from medcyber.maturity.bank import CATEGORY_IDS, level_name, load_bank
from medcyber.maturity.scoring import Answer, AnswerError, score

BANK = load_bank()
NA_OK = [q.id for q in BANK.questions if q.na_allowed]


@st.composite
def answer_sets(draw: st.DrawFn) -> dict[str, Answer]:
    answers: dict[str, Answer] = {}
    for q in BANK.questions:
        choice = draw(
            st.sampled_from(
                ["level", "level", "level", "missing", "na"]
                if q.na_allowed
                else ["level", "level", "level", "missing"]
            )
        )
        if choice == "level":
            answers[q.id] = Answer(question_id=q.id, level=draw(st.integers(0, 5)))
        elif choice == "na":
            answers[q.id] = Answer(question_id=q.id, not_applicable=True, na_reason="no wireless interface")
    return answers


@settings(max_examples=150, deadline=None)
@given(answer_sets())
def test_scores_stay_within_scale(answers: dict[str, Answer]) -> None:
    result = score(BANK, answers)
    for c in result.categories.values():
        assert c.score is None or 0.0 <= c.score <= 5.0
        assert c.answered + (c.total - c.applicable) <= c.total
    if result.composite is not None:
        assert 0.0 <= result.composite <= 5.0
        assert result.minimum_category_score is not None
        assert result.minimum_category_score <= result.composite + 1e-12


@settings(max_examples=150, deadline=None)
@given(answer_sets(), st.data())
def test_raising_one_answer_never_lowers_a_score(answers: dict[str, Answer], data: st.DataObject) -> None:
    leveled = [a for a in answers.values() if a.level is not None and a.level < 5]
    if not leveled:
        return
    target = data.draw(st.sampled_from(leveled))
    higher = dict(answers)
    higher[target.question_id] = Answer(
        question_id=target.question_id, level=data.draw(st.integers(target.level + 1, 5))
    )  # type: ignore[operator]
    before, after = score(BANK, answers), score(BANK, higher)
    for cid in CATEGORY_IDS:
        b, a = before.categories[cid].score, after.categories[cid].score
        assert b is None or a is not None and a >= b - 1e-12
    if before.composite is not None:
        assert after.composite is not None and after.composite >= before.composite - 1e-12
    for area, s in before.practice_areas.items():
        if s.score is not None:
            assert after.practice_areas[area].score >= s.score - 1e-12  # type: ignore[operator]


def test_category_is_mean_and_composite_is_mean_of_categories() -> None:
    answers = []
    expected = {}
    for i, cid in enumerate(CATEGORY_IDS):
        qs = BANK.questions_in(cid)
        levels = [(i + j) % 6 for j in range(len(qs))]
        answers += [Answer(question_id=q.id, level=lv) for q, lv in zip(qs, levels, strict=True)]
        expected[cid] = sum(levels) / len(levels)
    result = score(BANK, answers)
    for cid in CATEGORY_IDS:
        assert result.categories[cid].score == pytest.approx(expected[cid])
    assert result.composite == pytest.approx(sum(expected.values()) / 4)
    assert result.complete


@pytest.mark.skipif(not NA_OK, reason="bank has no N/A-able question")
def test_na_leaves_the_denominator_and_never_earns_marks() -> None:
    qid = NA_OK[0]
    cid = BANK.question(qid).category
    base = [Answer(question_id=q.id, level=1) for q in BANK.questions if q.id != qid]
    with_na = score(BANK, base + [Answer(question_id=qid, not_applicable=True, na_reason="no such feature")])
    with_five = score(BANK, base + [Answer(question_id=qid, level=5)])
    cat = with_na.categories[cid]
    assert cat.score == pytest.approx(1.0)  # N/A is neither 0 nor 5: it leaves the mean
    assert cat.applicable == cat.total - 1 and cat.not_applicable == 1
    assert with_five.categories[cid].score > cat.score


def test_na_needs_reason_and_permission() -> None:
    with pytest.raises(ValueError, match="reason"):
        Answer(question_id="OS-01", not_applicable=True)
    forbidden = next(q for q in BANK.questions if not q.na_allowed)
    with pytest.raises(AnswerError, match="N/A is not allowed"):
        score(BANK, [Answer(question_id=forbidden.id, not_applicable=True, na_reason="x")])


def test_unknown_question_and_bad_level_rejected() -> None:
    with pytest.raises(AnswerError, match="ZZ-01"):
        score(BANK, [Answer(question_id="ZZ-01", level=2)])
    with pytest.raises(ValueError):
        Answer(question_id="OS-01", level=6)


def test_level_names() -> None:
    assert [level_name(x) for x in (0, 1.51, 2.0, 3.99, 4.2, 5)] == [
        "Not initiated",
        "Initiated",
        "Managed",
        "Defined",
        "Quantitatively managed",
        "Optimizing",
    ]
