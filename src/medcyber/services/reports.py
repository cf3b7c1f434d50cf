"""Building the benchmark reports from the store (the renderers live in medcyber.reports)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from ..benchmark.reference import load_reference
from ..reports.benchmark_report import BenchmarkReport, build_benchmark_report
from ..reports.cohort_report import CohortReport, build_cohort_report
from . import assessments as assess_svc
from . import benchmark as bench_svc
from .errors import ServiceError


def organisation_report(
    session: Session, org_name: str, *, cohort_name: str | None = None
) -> BenchmarkReport:
    org = assess_svc.find_organisation(session, org_name)
    latest = assess_svc.latest_complete(session, org)
    if latest is None:
        raise ServiceError(f"{org.name} has no complete assessment yet: answer or import one first")
    cohort = bench_svc.get_cohort(session, cohort_name)
    stats = bench_svc.stats(session, cohort)
    pos = bench_svc.org_position(session, org, cohort, latest)
    hist = assess_svc.history(session, org)
    previous = hist[-2][1] if len(hist) >= 2 else None
    return build_benchmark_report(
        assess_svc.bank_of(latest),
        org.name,
        assess_svc.answers_of(latest),
        assess_svc.score_of(latest),
        cohort=stats,
        position=pos,
        previous=previous,
        history=hist,
        assessed_on=latest.assessed_on,
        reference=load_reference(),
    )


def cohort_report(session: Session, *, cohort_name: str | None = None) -> CohortReport:
    cohort = bench_svc.get_cohort(session, cohort_name)
    return build_cohort_report(bench_svc.stats(session, cohort), load_reference())
