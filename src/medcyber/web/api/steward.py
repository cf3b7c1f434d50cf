"""Benchmark API: the cohorts, their statistics (published under the disclosure rules, so open to every
authenticated caller, API tokens included) and, for the benchmark steward, who has submitted."""

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel, Field

from ...benchmark.models import CohortStats
from ...services import benchmark as bench_svc
from .. import admin_views as views
from ..deps import DbDep, Principal, UserDep, require_platform

router = APIRouter(tags=["benchmark"])

CohortName = Annotated[str, Path(min_length=1, max_length=120, pattern=r"^[^\x00-\x1f\x7f]+$")]
StewardDep = Annotated[Principal, Depends(require_platform("cohort:read"))]


class CohortOut(BaseModel):
    name: str
    title: str
    default: bool = Field(description="the cohort organisations submit to unless they choose another")
    synthetic: bool = Field(description="demonstration data")


class CohortList(BaseModel):
    cohorts: list[CohortOut]


class SubmitterOut(BaseModel):
    submission_id: str = Field(description="the organisation's stable anonymous benchmark id")
    organisation: str | None = Field(description="the organisation's name when it is in this workspace")
    period: str
    submitted_at: dt.datetime
    in_force: bool = Field(description="within the cohort's retention window")


class SubmitterList(BaseModel):
    cohort: str
    periods_in_force: list[str]
    submissions: list[SubmitterOut]


@router.get("/benchmark/cohorts", response_model=CohortList)
def cohorts(db: DbDep, principal: UserDep) -> CohortList:
    """The cohorts (names and titles)."""
    return CohortList(
        cohorts=[
            CohortOut(name=c.name, title=c.title, default=c.is_default, synthetic=c.synthetic)
            for c in bench_svc.list_cohorts(db)
        ]
    )


@router.get("/benchmark/cohorts/{name}/stats", response_model=CohortStats)
def cohort_stats(db: DbDep, principal: UserDep, name: CohortName) -> CohortStats:
    """The cohort's statistics under the disclosure rules: nothing below the cohort's smallest cell (never
    fewer than 5 organisations), suppressed segments without their size, no minimum or maximum that would
    be one organisation's score."""
    return views.cohort_stats(db, bench_svc.get_cohort(db, name))


@router.get("/benchmark/cohorts/{name}/submitters", response_model=SubmitterList)
def cohort_submitters(db: DbDep, principal: StewardDep, name: CohortName) -> SubmitterList:
    """Who has submitted to the cohort, newest period first (benchmark steward only; no scores)."""
    cohort = bench_svc.get_cohort(db, name)
    return SubmitterList(
        cohort=cohort.name,
        periods_in_force=bench_svc.periods_in_force(db, cohort),
        submissions=[
            SubmitterOut(
                submission_id=s.submission_id,
                organisation=s.organisation,
                period=s.period,
                submitted_at=s.submitted_at,
                in_force=s.in_force,
            )
            for s in views.submitters(db, cohort)
        ],
    )
