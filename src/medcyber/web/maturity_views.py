"""What the maturity pages and the maturity API share: reading one answer from a form or a JSON body,
saving it through the assessment service, the questionnaire's progress, and the report cache.

Nothing here decides a score or a rule of the questionnaire: scoring is ``maturity.scoring``, storage is
``services.assessments``, the report is ``services.reports``. This module only adapts them to HTTP.
"""

import datetime as dt
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Path
from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..maturity.bank import Question, QuestionBank
from ..maturity.scoring import Answer, AnswerError, AssessmentScore
from ..reports.benchmark_report import BenchmarkReport
from ..services import assessments as assess_svc
from ..services import reports as reports_svc
from ..services.errors import NotFoundError
from ..store.models import AnswerRow, Assessment, Cohort, Organisation, SubmissionRow
from .deps import DbDep, OrgContext, assessment_in, org_access

MAX_TEXT = 10_000  # characters of an evidence note, a comment or an N/A reason
NA = "na"


MAX_ID = 2_147_483_647
Id = Annotated[int, Path(ge=1, le=MAX_ID)]


@dataclass
class Scoped:
    """An assessment of the organisation in the path, and who is asking."""

    ctx: OrgContext
    assessment: Assessment


def scoped(action: str) -> Callable[..., Scoped]:
    """Dependency: the assessment ``aid`` of the organisation in the path, for a principal who may
    ``action`` there. It is looked up before any request body is read, so another tenant's assessment id
    is a 404 whatever the request carries."""

    def dependency(ctx: Annotated[OrgContext, Depends(org_access(action))], db: DbDep, aid: Id) -> Scoped:
        return Scoped(ctx, assessment_in(db, ctx.org, aid))

    return dependency


class AnswerInputError(ValueError):
    """The answer as sent cannot be saved; the message is shown beside the question."""


def question_of(bank: QuestionBank, question_id: str) -> Question:
    if not bank.has_question(question_id):
        raise NotFoundError(f"no question {question_id!r} in question bank {bank.version}")
    return bank.question(question_id)


def _text(value: str | None, what: str) -> str | None:
    if value is None:
        return None
    value = value.replace("\r\n", "\n").strip()
    if len(value) > MAX_TEXT:
        raise AnswerInputError(f"the {what} is {len(value):,} characters long; the limit is {MAX_TEXT:,}")
    return value or None


def answer_from_form(
    question: Question, choice: str | None, na_reason: str | None, evidence: str | None, note: str | None
) -> Answer | None:
    """The answer a questionnaire form describes; None when it says nothing (the answer is cleared).

    ``choice`` is a level "0".."5", "na", or empty for "not answered yet"."""
    choice = (choice or "").strip()
    reason = _text(na_reason, "N/A reason")
    evidence_text = _text(evidence, "evidence note")
    note_text = _text(note, "comment")
    level: int | None = None
    not_applicable = False
    if choice == NA:
        not_applicable = True
    elif choice:
        if not (choice.isascii() and choice.isdigit()) or not 0 <= int(choice) <= 5:
            raise AnswerInputError(f"the level must be one of 0 to 5 (or N/A), not {choice[:20]!r}")
        level = int(choice)
    return answer_from_values(
        question,
        level=level,
        not_applicable=not_applicable,
        na_reason=reason,
        evidence=evidence_text,
        note=note_text,
    )


def answer_from_values(
    question: Question,
    *,
    level: int | None,
    not_applicable: bool,
    na_reason: str | None,
    evidence: str | None,
    note: str | None,
) -> Answer | None:
    if not_applicable and not question.na_allowed:
        raise AnswerInputError(f"{question.id} cannot be answered N/A: every organisation has to answer it")
    if not_applicable and level is not None:
        raise AnswerInputError("choose either a level or N/A, not both")
    if not_applicable and not (na_reason and na_reason.strip()):
        raise AnswerInputError("N/A needs a reason: say why the question does not apply to you")
    if level is None and not not_applicable and not evidence and not note:
        return None
    try:
        return Answer(
            question_id=question.id,
            level=level,
            not_applicable=not_applicable,
            na_reason=na_reason if not_applicable else None,
            evidence=evidence,
            note=note,
        )
    except ValidationError as exc:
        messages = (str(e["msg"]).removeprefix("Value error, ") for e in exc.errors())
        raise AnswerInputError("; ".join(messages)) from None


def apply_answer(db: Session, assessment: Assessment, question_id: str, answer: Answer | None) -> None:
    """Save (or, for None, clear) one answer of an open assessment through the assessment service."""
    if answer is None:
        assess_svc.clear_answer(db, assessment, question_id)
        assessment.updated_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        db.flush()
        return
    try:
        assess_svc.save_answer(db, assessment, answer)
    except AnswerError as exc:
        raise AnswerInputError("; ".join(m for _, m in exc.problems)) from None


# --- progress -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Count:
    done: int  # answered with a level or marked N/A
    total: int

    @property
    def percent(self) -> int:
        return round(100 * self.done / self.total) if self.total else 0

    @property
    def complete(self) -> bool:
        return self.done >= self.total


def progress(result: AssessmentScore) -> tuple[Count, dict[str, Count]]:
    """Overall and per-category progress of an assessment (answered or N/A, of all questions)."""
    per = {cid: Count(c.answered + c.not_applicable, c.total) for cid, c in result.categories.items()}
    return Count(sum(c.done for c in per.values()), sum(c.total for c in per.values())), per


def unanswered(bank: QuestionBank, assessment: Assessment) -> list[Question]:
    """Questions with neither a level nor N/A (an evidence note alone does not answer a question)."""
    done = {r.question_id for r in assessment.answers if r.level is not None or r.not_applicable}
    return [q for q in bank.questions if q.id not in done]


# --- the organisation report, cached -------------------------------------------------------------------

T = TypeVar("T")
_CACHE: OrderedDict[Hashable, Any] = OrderedDict()
_LOCK = threading.Lock()
CACHE_SIZE = 48


def cached(key: Hashable, build: Callable[[], T]) -> T:
    """``build()`` once per ``key`` (an LRU of recent values shared by the threads of the process)."""
    with _LOCK:
        if key in _CACHE:
            _CACHE.move_to_end(key)
            return _CACHE[key]  # type: ignore[no-any-return]
    value = build()
    with _LOCK:
        _CACHE[key] = value
        _CACHE.move_to_end(key)
        while len(_CACHE) > CACHE_SIZE:
            _CACHE.popitem(last=False)
    return value


def organisation_report(db: Session, org: Organisation, cohort_name: str | None = None) -> BenchmarkReport:
    """services.reports.organisation_report, built once per state of what it reads."""
    key = ("report", report_state(db, org, cohort_name))
    return cached(key, lambda: reports_svc.organisation_report(db, org.name, cohort_name=cohort_name))


def report_state(db: Session, org: Organisation, cohort_name: str | None = None) -> tuple[Hashable, ...]:
    """Everything the organisation report depends on, cheaply (aggregates): a key for :func:`cached`.

    The report (services.reports.organisation_report) reads the organisation's complete assessments and
    their answers, and the cohort's settings and submissions; any change to them changes this key."""
    complete = (Assessment.organisation_id == org.id, Assessment.status == "complete")
    assessments = db.execute(
        select(func.count(Assessment.id), func.max(Assessment.id), func.max(Assessment.updated_at)).where(
            *complete
        )
    ).one()
    answers = db.execute(
        select(func.count(AnswerRow.id), func.max(AnswerRow.updated_at))
        .join(Assessment, Assessment.id == AnswerRow.assessment_id)
        .where(*complete)
    ).one()
    cohort_q = select(Cohort.id, Cohort.min_cell, Cohort.retention_periods, Cohort.synthetic)
    cohort_q = cohort_q.where(Cohort.name == cohort_name if cohort_name else Cohort.is_default.is_(True))
    cohort = db.execute(cohort_q).first()
    subs: tuple[Any, ...] = ()
    if cohort is not None:
        subs = tuple(
            db.execute(
                select(func.count(SubmissionRow.id), func.max(SubmissionRow.submitted_at)).where(
                    SubmissionRow.cohort_id == cohort[0]
                )
            ).one()
        )
    return (
        id(db.get_bind()),  # which store (engine): ids repeat across stores
        org.id,
        org.name,
        dt.date.today(),
        cohort_name,
        tuple(assessments),
        tuple(answers),
        tuple(cohort) if cohort is not None else None,
        subs,
    )
