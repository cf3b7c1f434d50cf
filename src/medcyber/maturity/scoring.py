"""Scoring of one assessment against its question bank.

Category score = weighted mean of the answered, applicable questions of the category (N/A leaves the
denominator and never earns marks); composite = plain mean of the four category scores, as the
published benchmark computes it. Coverage (answered / applicable) is reported beside every score.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from pydantic import BaseModel, ConfigDict, Field, model_validator

from .bank import CATEGORY_IDS, QuestionBank, level_name


class Answer(BaseModel):
    """One answer: a level 0-5, or N/A with a reason (only where the question allows it)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    question_id: str
    level: int | None = Field(default=None, ge=0, le=5)
    not_applicable: bool = False
    na_reason: str | None = None
    evidence: str | None = None
    note: str | None = None

    @model_validator(mode="after")
    def _check(self) -> Answer:
        if self.not_applicable:
            if self.level is not None:
                raise ValueError("an N/A answer cannot also carry a level")
            if not (self.na_reason and self.na_reason.strip()):
                raise ValueError("an N/A answer needs a reason")
        return self

    @property
    def answered(self) -> bool:
        return self.level is not None or self.not_applicable


class AnswerError(ValueError):
    """An answer set that does not fit its bank; ``problems`` lists (question id, message)."""

    def __init__(self, problems: list[tuple[str, str]]):
        self.problems = problems
        super().__init__("; ".join(f"{q}: {m}" for q, m in problems))


class AreaScore(BaseModel):
    id: str
    name: str
    category: str
    score: float | None
    answered: int
    applicable: int


class CategoryScore(BaseModel):
    id: str
    name: str
    score: float | None = Field(description="weighted mean of answered applicable questions, 0-5")
    level_name: str | None
    answered: int
    applicable: int
    not_applicable: int
    total: int

    @property
    def coverage(self) -> float:
        return self.answered / self.applicable if self.applicable else 0.0


class AssessmentScore(BaseModel):
    bank_id: str
    bank_version: str
    composite: float | None = Field(
        description="mean of the four category scores; None until all four have one"
    )
    composite_level_name: str | None
    minimum_category: str | None
    minimum_category_score: float | None
    categories: dict[str, CategoryScore]
    practice_areas: dict[str, AreaScore]
    answered: int
    applicable: int
    complete: bool = Field(description="every required applicable question answered")

    @property
    def coverage(self) -> float:
        return self.answered / self.applicable if self.applicable else 0.0

    def category_scores(self) -> dict[str, float | None]:
        return {cid: self.categories[cid].score for cid in CATEGORY_IDS}


def validate_answers(
    bank: QuestionBank, answers: Iterable[Answer], *, require_complete: bool = False
) -> None:
    """Raise AnswerError listing every answer that does not fit the bank."""
    answers_list = list(answers)
    problems: list[tuple[str, str]] = []
    seen: set[str] = set()
    for a in answers_list:
        if not bank.has_question(a.question_id):
            problems.append((a.question_id, f"unknown question id for bank {bank.id} {bank.version}"))
            continue
        if a.question_id in seen:
            problems.append((a.question_id, "answered more than once"))
        seen.add(a.question_id)
        q = bank.question(a.question_id)
        if a.not_applicable and not q.na_allowed:
            problems.append((a.question_id, "N/A is not allowed for this question"))
    if require_complete:
        # an evidence note or comment alone does not answer a question: it needs a level or N/A
        answered = {a.question_id for a in answers_list if a.level is not None or a.not_applicable}
        for q in bank.questions:
            if q.required and q.id not in answered:
                problems.append((q.id, "required answer is missing (a level or N/A)"))
    if problems:
        raise AnswerError(problems)


def _weighted_mean(pairs: list[tuple[float, int]]) -> float | None:
    total_w = sum(w for w, _ in pairs)
    if not pairs or total_w <= 0:
        return None
    return sum(w * v for w, v in pairs) / total_w


def score(bank: QuestionBank, answers: Iterable[Answer] | Mapping[str, Answer]) -> AssessmentScore:
    """Score an answer set (validated against the bank first)."""
    items = list(answers.values()) if isinstance(answers, Mapping) else list(answers)
    validate_answers(bank, items)
    by_id = {a.question_id: a for a in items}

    categories: dict[str, CategoryScore] = {}
    areas: dict[str, AreaScore] = {}
    complete = True
    for cat in bank.categories:
        qs = bank.questions_in(cat.id)
        pairs: list[tuple[float, int]] = []
        na = 0
        for q in qs:
            a = by_id.get(q.id)
            if a is not None and a.not_applicable:
                na += 1
            elif a is not None and a.level is not None:
                pairs.append((q.weight, a.level))
            elif q.required:
                complete = False
        s = _weighted_mean(pairs)
        categories[cat.id] = CategoryScore(
            id=cat.id,
            name=cat.name,
            score=s,
            level_name=level_name(s) if s is not None else None,
            answered=len(pairs),
            applicable=len(qs) - na,
            not_applicable=na,
            total=len(qs),
        )
        for area in cat.practice_areas:
            aqs = [q for q in qs if q.practice_area == area.id]
            apairs = [
                (q.weight, by_id[q.id].level) for q in aqs if q.id in by_id and by_id[q.id].level is not None
            ]
            a_na = sum(1 for q in aqs if q.id in by_id and by_id[q.id].not_applicable)
            areas[area.id] = AreaScore(
                id=area.id,
                name=area.name,
                category=cat.id,
                score=_weighted_mean(apairs),  # type: ignore[arg-type]
                answered=len(apairs),
                applicable=len(aqs) - a_na,
            )

    cat_scores = [categories[c].score for c in CATEGORY_IDS]
    composite = None if any(s is None for s in cat_scores) else sum(cat_scores) / len(cat_scores)  # type: ignore[arg-type,misc]
    scored = [(categories[c].score, c) for c in CATEGORY_IDS if categories[c].score is not None]
    minimum = min(scored) if scored else None
    return AssessmentScore(
        bank_id=bank.id,
        bank_version=bank.version,
        composite=composite,
        composite_level_name=level_name(composite) if composite is not None else None,
        minimum_category=minimum[1] if minimum else None,
        minimum_category_score=minimum[0] if minimum else None,
        categories=categories,
        practice_areas=areas,
        answered=sum(c.answered for c in categories.values()),
        applicable=sum(c.applicable for c in categories.values()),
        complete=complete,
    )
