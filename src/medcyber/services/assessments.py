"""Organisations, assessments and answers in the store."""

from __future__ import annotations

import datetime as dt
import difflib
import secrets
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from ..benchmark.models import OrgProfile
from ..maturity.bank import QuestionBank, load_bank
from ..maturity.scoring import Answer, AnswerError, AssessmentScore, score, validate_answers
from ..store.models import AnswerRow, Assessment, Organisation
from .errors import ConflictError, NotFoundError, ServiceError

# --- organisations ---------------------------------------------------------------------------------


def find_organisation(session: Session, name: str) -> Organisation:
    org = session.scalar(select(Organisation).where(Organisation.name == name))
    if org is None:
        names = list(session.scalars(select(Organisation.name)))
        close = difflib.get_close_matches(name, names, n=3)
        hint = f" (did you mean {', '.join(repr(c) for c in close)}?)" if close else ""
        known = f"; known organisations: {', '.join(sorted(names))}" if names and not close else ""
        raise NotFoundError(f"no organisation named {name!r}{hint}{known}")
    return org


def list_organisations(session: Session) -> list[Organisation]:
    return list(session.scalars(select(Organisation).order_by(Organisation.name)))


def get_or_create_organisation(
    session: Session, name: str, profile: OrgProfile | None = None, *, benchmark_id: str | None = None
) -> Organisation:
    name = name.strip()
    if not name:
        raise ServiceError("an organisation needs a name")
    org = session.scalar(select(Organisation).where(Organisation.name == name))
    if org is None:
        org = Organisation(
            name=name, benchmark_id=benchmark_id or f"org-{secrets.token_hex(8)}", device_classes=[]
        )
        session.add(org)
    if profile is not None:
        set_profile(org, profile)
    session.flush()
    return org


def set_profile(org: Organisation, profile: OrgProfile) -> None:
    org.employees_band = profile.employees_band
    org.revenue_band = profile.revenue_band
    org.device_classes = list(profile.device_classes)
    org.region = profile.region


def profile_of(org: Organisation) -> OrgProfile | None:
    if not (org.employees_band and org.revenue_band):
        return None
    return OrgProfile(
        employees_band=org.employees_band,
        revenue_band=org.revenue_band,
        device_classes=tuple(org.device_classes or ()),
        region=org.region,
    )


# --- assessments -----------------------------------------------------------------------------------


def bank_of(assessment: Assessment) -> QuestionBank:
    """The bank the assessment was answered on (older assessments keep their bank version)."""
    return load_bank(assessment.bank_version)


def start_assessment(
    session: Session,
    org: Organisation,
    *,
    assessed_on: dt.date | None = None,
    bank_version: str | None = None,
    assessment_type: str = "self",
    source: str | None = None,
) -> Assessment:
    bank = load_bank(bank_version)
    if assessment_type not in ("self", "third-party"):
        raise ServiceError(f"assessment type must be 'self' or 'third-party', not {assessment_type!r}")
    assessment = Assessment(
        organisation=org,
        bank_id=bank.id,
        bank_version=bank.version,
        assessed_on=assessed_on or dt.date.today(),
        assessment_type=assessment_type,
        status="in_progress",
        source=source,
    )
    session.add(assessment)
    session.flush()
    return assessment


def get_assessment(session: Session, assessment_id: int) -> Assessment:
    a = session.get(Assessment, assessment_id, options=[selectinload(Assessment.answers)])
    if a is None:
        raise NotFoundError(f"no assessment with id {assessment_id}")
    return a


def open_assessment(session: Session, org: Organisation) -> Assessment | None:
    """The organisation's newest unfinished assessment, to resume."""
    return session.scalar(
        select(Assessment)
        .where(Assessment.organisation_id == org.id, Assessment.status == "in_progress")
        .order_by(Assessment.created_at.desc(), Assessment.id.desc())
    )


def assessments_of(session: Session, org: Organisation, *, complete_only: bool = False) -> list[Assessment]:
    q = select(Assessment).where(Assessment.organisation_id == org.id)
    if complete_only:
        q = q.where(Assessment.status == "complete")
    q = q.order_by(Assessment.assessed_on, Assessment.id).options(selectinload(Assessment.answers))
    return list(session.scalars(q))


def latest_complete(session: Session, org: Organisation) -> Assessment | None:
    done = assessments_of(session, org, complete_only=True)
    return done[-1] if done else None


def answers_of(assessment: Assessment) -> list[Answer]:
    return [
        Answer(
            question_id=r.question_id,
            level=r.level,
            not_applicable=r.not_applicable,
            na_reason=r.na_reason,
            evidence=r.evidence,
            note=r.note,
        )
        for r in assessment.answers
    ]


def score_of(assessment: Assessment) -> AssessmentScore:
    return score(bank_of(assessment), answers_of(assessment))


def _copy_answer(answer: Answer, row: AnswerRow) -> AnswerRow:
    row.level = answer.level
    row.not_applicable = answer.not_applicable
    row.na_reason = answer.na_reason
    row.evidence = answer.evidence
    row.note = answer.note
    return row


class AssessmentClosedError(ConflictError):
    """The assessment is finished: its answers and evidence are part of the record and no longer change."""


def require_open(assessment: Assessment, doing: str = "change its answers") -> None:
    if assessment.status != "in_progress":
        raise AssessmentClosedError(
            f"the assessment of {assessment.assessed_on.isoformat()} is "
            f"{assessment.status.replace('_', ' ')}: its answers and evidence no longer change, so it cannot "
            f"{doing} (start a new assessment to re-assess)"
        )


def save_answer(session: Session, assessment: Assessment, answer: Answer) -> None:
    """Insert or replace one answer (validated against the assessment's own bank) of an open assessment."""
    require_open(assessment)
    validate_answers(bank_of(assessment), [answer])
    row = next((r for r in assessment.answers if r.question_id == answer.question_id), None)
    if row is None:
        row = AnswerRow(question_id=answer.question_id)
        assessment.answers.append(row)
    _copy_answer(answer, row)
    assessment.updated_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    session.flush()


def clear_answer(session: Session, assessment: Assessment, question_id: str) -> None:
    require_open(assessment)
    for r in list(assessment.answers):
        if r.question_id == question_id:
            assessment.answers.remove(r)
    session.flush()


def finish_assessment(session: Session, assessment: Assessment) -> AssessmentScore:
    """Mark complete; refuses while a required question has neither a level nor N/A."""
    require_open(assessment, "finish it again")
    bank = bank_of(assessment)
    answers = answers_of(assessment)
    try:
        validate_answers(bank, answers, require_complete=True)
    except AnswerError as exc:
        missing = [q for q, m in exc.problems if "missing" in m]
        raise ServiceError(
            f"assessment {assessment.id} is not complete: {len(missing)} required answers missing "
            f"({', '.join(missing[:8])}{'...' if len(missing) > 8 else ''})"
        ) from exc
    assessment.status = "complete"
    session.flush()
    return score(bank, answers)


def record_assessment(
    session: Session,
    org: Organisation,
    answers: Sequence[Answer],
    *,
    bank_version: str,
    assessed_on: dt.date,
    assessment_type: str = "self",
    source: str | None = None,
    require_complete: bool = True,
) -> Assessment:
    """Store a whole answer set as one assessment (validated first; nothing is written on error)."""
    bank = load_bank(bank_version)
    validate_answers(bank, answers, require_complete=require_complete)
    assessment = start_assessment(
        session,
        org,
        assessed_on=assessed_on,
        bank_version=bank.version,
        assessment_type=assessment_type,
        source=source,
    )
    for a in answers:
        assessment.answers.append(_copy_answer(a, AnswerRow(question_id=a.question_id)))
    try:
        validate_answers(bank, answers, require_complete=True)
        assessment.status = "complete"
    except AnswerError:
        assessment.status = "in_progress"
    session.flush()
    return assessment


def history(session: Session, org: Organisation) -> list[tuple[dt.date, AssessmentScore]]:
    """Dated scores of the organisation's complete assessments, oldest first (its trend)."""
    return [(a.assessed_on, score_of(a)) for a in assessments_of(session, org, complete_only=True)]
