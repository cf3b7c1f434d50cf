"""Cohorts and submissions in the store; statistics and positions computed by medcyber.benchmark."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..benchmark.models import MIN_CELL, CohortStats, OrgProfile, Position, Submission
from ..benchmark.stats import cohort_stats, position
from ..maturity.bank import CATEGORY_IDS
from ..store.models import Assessment, Cohort, Organisation, SubmissionRow
from . import assessments as assess_svc
from .errors import NotFoundError, ServiceError

DEFAULT_RETENTION = 3


def create_cohort(
    session: Session,
    name: str,
    *,
    title: str | None = None,
    description: str = "",
    min_cell: int = MIN_CELL,
    retention_periods: int = DEFAULT_RETENTION,
    synthetic: bool = False,
    make_default: bool = False,
) -> Cohort:
    if min_cell < MIN_CELL:
        raise ServiceError(f"the disclosure floor is {MIN_CELL}: min_cell cannot be {min_cell}")
    if retention_periods < 1:
        raise ServiceError("retention_periods must be at least 1")
    cohort = session.scalar(select(Cohort).where(Cohort.name == name))
    if cohort is None:
        cohort = Cohort(name=name, title=title or name)
        session.add(cohort)
    cohort.title = title or cohort.title or name
    cohort.description = description
    cohort.min_cell = min_cell
    cohort.retention_periods = retention_periods
    cohort.synthetic = synthetic
    if make_default:
        for other in session.scalars(select(Cohort).where(Cohort.is_default.is_(True))):
            other.is_default = False
        cohort.is_default = True
    session.flush()
    return cohort


def list_cohorts(session: Session) -> list[Cohort]:
    return list(session.scalars(select(Cohort).order_by(Cohort.name)))


def get_cohort(session: Session, name: str | None = None) -> Cohort:
    """A cohort by name, or the default cohort."""
    if name:
        cohort = session.scalar(select(Cohort).where(Cohort.name == name))
        if cohort is None:
            known = ", ".join(c.name for c in list_cohorts(session)) or "none"
            raise NotFoundError(f"no cohort named {name!r} (cohorts: {known})")
        return cohort
    cohort = session.scalar(select(Cohort).where(Cohort.is_default.is_(True)))
    if cohort is None:
        raise NotFoundError("there is no default cohort yet: run `medcyber demo load` or create one")
    return cohort


def _to_submission(row: SubmissionRow) -> Submission:
    return Submission(
        submission_id=row.submission_id,
        period=row.period,
        profile=OrgProfile(
            employees_band=row.employees_band,
            revenue_band=row.revenue_band,
            device_classes=tuple(row.device_classes or ()),
            region=row.region,
        ),
        assessment_type=row.assessment_type,  # type: ignore[arg-type]
        composite=row.composite,
        categories={c: getattr(row, c) for c in CATEGORY_IDS},
        synthetic=row.synthetic,
    )


def add_submission(
    session: Session,
    cohort: Cohort,
    submission: Submission,
    *,
    bank_version: str,
    assessment_id: int | None = None,
    consent_at: dt.datetime | None = None,
) -> SubmissionRow:
    """Insert a submission, replacing the same submitter's entry for the same period (resubmission)."""
    row = session.scalar(
        select(SubmissionRow).where(
            SubmissionRow.cohort_id == cohort.id,
            SubmissionRow.submission_id == submission.submission_id,
            SubmissionRow.period == submission.period,
        )
    )
    if row is None:
        row = SubmissionRow(cohort=cohort, submission_id=submission.submission_id, period=submission.period)
        session.add(row)
    p = submission.profile
    row.employees_band = p.employees_band
    row.revenue_band = p.revenue_band
    row.device_classes = list(p.device_classes)
    row.region = p.region
    row.assessment_type = submission.assessment_type
    row.composite = submission.composite
    for c in CATEGORY_IDS:
        setattr(row, c, submission.categories[c])
    row.bank_version = bank_version
    row.synthetic = submission.synthetic
    row.assessment_id = assessment_id
    row.consent_at = consent_at
    row.submitted_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    session.flush()
    return row


def submit_assessment(
    session: Session, assessment: Assessment, cohort: Cohort, *, period: str, consent: bool
) -> SubmissionRow:
    """Submit a complete assessment's scores (never its answers) to a cohort, with explicit consent."""
    if not consent:
        raise ServiceError("submitting to a benchmark cohort needs the organisation's explicit consent")
    submission = submission_of(assessment, period=period)
    return add_submission(
        session,
        cohort,
        submission,
        bank_version=assessment.bank_version,
        assessment_id=assessment.id,
        consent_at=dt.datetime.now(dt.UTC).replace(tzinfo=None),
    )


def periods_in_force(session: Session, cohort: Cohort) -> list[str]:
    """The most recent `retention_periods` periods; older ones have aged out."""
    periods = sorted(
        set(session.scalars(select(SubmissionRow.period).where(SubmissionRow.cohort_id == cohort.id)))
    )
    return periods[-cohort.retention_periods :]


def cohort_submissions(session: Session, cohort: Cohort, *, exclude: str | None = None) -> list[Submission]:
    """Submissions in force: within the retention window, one (the newest) per submitter."""
    in_force = periods_in_force(session, cohort)
    rows = session.scalars(
        select(SubmissionRow).where(SubmissionRow.cohort_id == cohort.id, SubmissionRow.period.in_(in_force))
    )
    newest: dict[str, SubmissionRow] = {}
    for row in rows:
        kept = newest.get(row.submission_id)
        if kept is None or row.period > kept.period:
            newest[row.submission_id] = row
    return [_to_submission(r) for sid, r in sorted(newest.items()) if sid != exclude]


def stats(session: Session, cohort: Cohort, **kwargs: object) -> CohortStats:
    subs = cohort_submissions(session, cohort)
    result = cohort_stats(subs, cohort=cohort.name, min_cell=cohort.min_cell, **kwargs)  # type: ignore[arg-type]
    if cohort.synthetic and not result.synthetic:
        result = result.model_copy(update={"synthetic": True})
    return result


def org_position(session: Session, org: Organisation, cohort: Cohort, assessment: Assessment) -> Position:
    """The organisation's rank among the *other* submissions of the cohort."""
    others = cohort_submissions(session, cohort, exclude=org.benchmark_id)
    return position(assess_svc.score_of(assessment), others, min_cell=cohort.min_cell)


def submitters(session: Session, cohort: Cohort) -> list[tuple[str, str, dt.datetime]]:
    """(submission id, period, submitted at) for the steward's 'who has submitted' view."""
    rows: Sequence[SubmissionRow] = list(
        session.scalars(
            select(SubmissionRow)
            .where(SubmissionRow.cohort_id == cohort.id)
            .order_by(SubmissionRow.period, SubmissionRow.submission_id)
        )
    )
    return [(r.submission_id, r.period, r.submitted_at) for r in rows]


def organisation_for_submission(session: Session, submission_id: str) -> Organisation | None:
    return session.scalar(select(Organisation).where(Organisation.benchmark_id == submission_id))


# --- exchanging submissions with a benchmark steward --------------------------------------------------

SUBMISSION_FORMAT = "medcyber-benchmark-submission"
MAX_SUBMISSION_FILE = 5 * 1024 * 1024


def submission_of(assessment: Assessment, *, period: str) -> Submission:
    """The scores (never the answers) and banded profile of a complete assessment, as a submission."""
    if assessment.status != "complete":
        raise ServiceError("only a complete assessment can be submitted to a cohort")
    org = assessment.organisation
    profile = assess_svc.profile_of(org)
    if profile is None:
        raise ServiceError(
            f"{org.name} has no organisation profile (employees band, revenue band): "
            "set it with `medcyber org set`"
        )
    result = assess_svc.score_of(assessment)
    assert result.composite is not None
    return Submission(
        submission_id=org.benchmark_id,
        period=period,
        profile=profile,
        assessment_type=assessment.assessment_type,  # type: ignore[arg-type]
        composite=result.composite,
        categories={c: float(result.categories[c].score or 0.0) for c in CATEGORY_IDS},
    )


def export_submission(assessment: Assessment, *, period: str, consent: bool) -> dict[str, object]:
    """A submission file for a steward's cohort run elsewhere (scores and banded profile only)."""
    if not consent:
        raise ServiceError(
            "sharing scores with a benchmark steward needs the organisation's explicit consent"
        )
    sub = submission_of(assessment, period=period)
    return {
        "format": SUBMISSION_FORMAT,
        "version": 1,
        "bank_id": assessment.bank_id,
        "bank_version": assessment.bank_version,
        "consent_at": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
        "submission": sub.model_dump(mode="json"),
    }


def import_submission_files(session: Session, cohort: Cohort, paths: Sequence[Path]) -> int:
    """Import submission files into a cohort: all or nothing (every file is checked before any write)."""
    import json

    from pydantic import ValidationError

    parsed: list[tuple[Submission, str]] = []
    problems: list[str] = []
    for path in paths:
        try:
            if path.stat().st_size > MAX_SUBMISSION_FILE:
                problems.append(f"{path}: larger than {MAX_SUBMISSION_FILE // 1024 // 1024} MB")
                continue
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            problems.append(f"{path}: not a readable JSON submission file ({exc})")
            continue
        items = data if isinstance(data, list) else [data]
        for i, item in enumerate(items):
            where = f"{path}" + (f" item {i + 1}" if isinstance(data, list) else "")
            if not isinstance(item, dict) or item.get("format") != SUBMISSION_FORMAT:
                problems.append(f"{where}: not a {SUBMISSION_FORMAT} document (missing 'format')")
                continue
            try:
                sub = Submission.model_validate(item.get("submission"))
                _check_bands(sub)
            except (ValidationError, ValueError) as exc:
                detail = exc.errors()[0] if isinstance(exc, ValidationError) else None
                msg = f"{'.'.join(str(p) for p in detail['loc'])}: {detail['msg']}" if detail else str(exc)
                problems.append(f"{where}: submission.{msg}")
                continue
            if set(sub.categories) != set(CATEGORY_IDS):
                problems.append(f"{where}: categories must be exactly {', '.join(CATEGORY_IDS)}")
                continue
            parsed.append((sub, str(item.get("bank_version") or "")))
    if problems:
        raise ServiceError("nothing imported:\n  " + "\n  ".join(problems))
    for sub, bank_version in parsed:
        add_submission(
            session,
            cohort,
            sub,
            bank_version=bank_version or "unknown",
            consent_at=dt.datetime.now(dt.UTC).replace(tzinfo=None),
        )
    return len(parsed)


def _check_bands(sub: Submission) -> None:
    from ..benchmark.models import DEVICE_CLASSES, EMPLOYEE_BANDS, REGIONS, REVENUE_BANDS

    p = sub.profile
    if p.employees_band not in EMPLOYEE_BANDS:
        raise ValueError(
            f"profile.employees_band: {p.employees_band!r} is not one of {', '.join(EMPLOYEE_BANDS)}"
        )
    if p.revenue_band not in REVENUE_BANDS:
        raise ValueError(f"profile.revenue_band: {p.revenue_band!r} is not one of {', '.join(REVENUE_BANDS)}")
    if p.region is not None and p.region not in REGIONS:
        raise ValueError(f"profile.region: {p.region!r} is not one of {', '.join(REGIONS)}")
    for dc in p.device_classes:
        if dc not in DEVICE_CLASSES:
            raise ValueError(f"profile.device_classes: {dc!r} is not one of {', '.join(DEVICE_CLASSES)}")
    for c, v in sub.categories.items():
        if not 0 <= v <= 5:
            raise ValueError(f"categories.{c}: {v} is outside 0-5")
