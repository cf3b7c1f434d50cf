"""Maturity API: an organisation's assessments (answers and scores), answering one question, and the
organisation's benchmark report as JSON.

Reads need ``org:read`` (an API token with the ``read`` scope may read). Answering needs
``assessment:answer``, which no API token scope grants: answers are given by people, signed in.
"""

import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, Body, Depends, HTTPException, Path, Query
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from ...maturity.scoring import AssessmentScore
from ...reports.benchmark_report import BenchmarkReport
from ...services import assessments as assess_svc
from ...services import evidence as evidence_svc
from ...store.models import AnswerRow, Assessment
from .. import maturity_views as mv
from ..deps import DbDep, OrgContext, org_access

router = APIRouter(tags=["maturity"])

ReadCtx = Annotated[OrgContext, Depends(org_access("org:read"))]
ReadA = Annotated[mv.Scoped, Depends(mv.scoped("org:read"))]
AnswerA = Annotated[mv.Scoped, Depends(mv.scoped("assessment:answer"))]
QuestionId = Annotated[str, Path(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9._-]+$")]
Text = Annotated[str | None, Field(default=None, max_length=mv.MAX_TEXT)]


# --- models --------------------------------------------------------------------------------------------


class Progress(BaseModel):
    done: int = Field(description="questions answered with a level or marked N/A")
    total: int


class AssessmentSummary(BaseModel):
    id: int
    bank_id: str
    bank_version: str
    assessed_on: dt.date
    assessment_type: str = Field(description="self or third-party")
    status: Literal["in_progress", "complete"]
    source: str | None = Field(description="the file it was imported from, if any")
    created_at: dt.datetime
    updated_at: dt.datetime
    progress: Progress
    composite: float | None = Field(description="mean of the four category scores; null until all four")
    composite_level_name: str | None


class AssessmentList(BaseModel):
    assessments: list[AssessmentSummary] = Field(description="oldest first")


class AnswerOut(BaseModel):
    question_id: str
    level: int | None = Field(ge=0, le=5)
    not_applicable: bool
    na_reason: str | None
    evidence: str | None = Field(description="the evidence note")
    note: str | None = Field(description="a comment")
    updated_at: dt.datetime | None


class AttachmentOut(BaseModel):
    id: int
    question_id: str
    file_name: str
    media_type: str = Field(description="sniffed from the content")
    size: int
    sha256: str
    uploaded_by: str | None
    uploaded_at: dt.datetime | None


class AssessmentDetail(AssessmentSummary):
    answers: list[AnswerOut]
    attachments: list[AttachmentOut] = Field(description="evidence files (metadata only)")
    score: AssessmentScore


class AnswerIn(BaseModel):
    """One answer: a level 0-5, or N/A with a reason where the question allows it. A body with no level,
    no N/A, no evidence note and no comment clears the answer."""

    model_config = ConfigDict(extra="forbid")

    level: int | None = Field(default=None, ge=0, le=5)
    not_applicable: bool = False
    na_reason: Text = None
    evidence: Text = None
    note: Text = None


class AnswerSaved(BaseModel):
    question_id: str
    answer: AnswerOut | None = Field(description="null when the answer was cleared")
    progress: Progress
    score: AssessmentScore = Field(description="the assessment's (provisional) score after this answer")


# --- helpers -------------------------------------------------------------------------------------------


def _answer_out(row: AnswerRow) -> AnswerOut:
    return AnswerOut(
        question_id=row.question_id,
        level=row.level,
        not_applicable=row.not_applicable,
        na_reason=row.na_reason,
        evidence=row.evidence,
        note=row.note,
        updated_at=row.updated_at,
    )


def _summary_fields(a: Assessment, result: AssessmentScore) -> dict[str, object]:
    overall, _ = mv.progress(result)
    return {
        "id": a.id,
        "bank_id": a.bank_id,
        "bank_version": a.bank_version,
        "assessed_on": a.assessed_on,
        "assessment_type": a.assessment_type,
        "status": a.status,
        "source": a.source,
        "created_at": a.created_at,
        "updated_at": a.updated_at,
        "progress": Progress(done=overall.done, total=overall.total),
        "composite": result.composite,
        "composite_level_name": result.composite_level_name,
    }


def _detail(db: Session, a: Assessment) -> AssessmentDetail:
    result = assess_svc.score_of(a)
    return AssessmentDetail(
        **_summary_fields(a, result),  # type: ignore[arg-type]
        answers=[_answer_out(r) for r in a.answers],
        attachments=[
            AttachmentOut.model_validate(evidence_svc.describe(att))
            for att in evidence_svc.list_attachments(db, a)
        ],
        score=result,
    )


# --- endpoints -----------------------------------------------------------------------------------------


@router.get("/orgs/{org_id}/assessments", response_model=AssessmentList)
def list_assessments(db: DbDep, ctx: ReadCtx) -> AssessmentList:
    """The organisation's assessments, oldest first, with their progress and composite score."""
    out = []
    for a in assess_svc.assessments_of(db, ctx.org):
        out.append(AssessmentSummary(**_summary_fields(a, assess_svc.score_of(a))))  # type: ignore[arg-type]
    return AssessmentList(assessments=out)


@router.get("/orgs/{org_id}/assessments/{aid}", response_model=AssessmentDetail)
def get_assessment(db: DbDep, s: ReadA) -> AssessmentDetail:
    """One assessment: its answers, its evidence files (metadata) and its score."""
    return _detail(db, s.assessment)


@router.put(
    "/orgs/{org_id}/assessments/{aid}/answers/{question_id}",
    response_model=AnswerSaved,
    responses={409: {"description": "the assessment is complete"}, 422: {"description": "invalid answer"}},
)
def put_answer(
    db: DbDep, s: AnswerA, question_id: QuestionId, body: Annotated[AnswerIn, Body()]
) -> AnswerSaved:
    """Save (or clear) the answer to one question of an assessment in progress."""
    a = s.assessment
    q = mv.question_of(assess_svc.bank_of(a), question_id)
    try:
        answer = mv.answer_from_values(
            q,
            level=body.level,
            not_applicable=body.not_applicable,
            na_reason=(body.na_reason or "").strip() or None,
            evidence=(body.evidence or "").strip() or None,
            note=(body.note or "").strip() or None,
        )
        mv.apply_answer(db, a, q.id, answer)
    except mv.AnswerInputError as exc:
        raise HTTPException(422, str(exc)) from None
    result = assess_svc.score_of(a)
    overall, _ = mv.progress(result)
    row = next((r for r in a.answers if r.question_id == q.id), None)
    return AnswerSaved(
        question_id=q.id,
        answer=_answer_out(row) if row is not None else None,
        progress=Progress(done=overall.done, total=overall.total),
        score=result,
    )


@router.get(
    "/orgs/{org_id}/report",
    response_model=BenchmarkReport,
    responses={409: {"description": "the organisation has no complete assessment yet"}},
)
def get_report(
    db: DbDep,
    ctx: ReadCtx,
    cohort: Annotated[str | None, Query(max_length=120, description="a cohort name; default cohort")] = None,
) -> BenchmarkReport:
    """The organisation's benchmark report for its latest complete assessment (the report's JSON format)."""
    return mv.organisation_report(db, ctx.org, cohort or None)
