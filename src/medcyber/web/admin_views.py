"""What the steward, organisation-settings and site-admin pages and their API share: cohort statistics and
the cohort report (cached per state of the cohort: they take seconds to compute), the submitters with the
names of the organisations of this workspace, and a readable one-line summary of an audit event."""

import datetime as dt
import re
import threading
from collections import OrderedDict
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..audit.chain import canonical_json
from ..benchmark.disclosure import protect_cohort
from ..benchmark.models import CohortStats
from ..reports import charts
from ..reports.cohort_report import CohortReport
from ..services import benchmark as bench_svc
from ..services import reports as reports_svc
from ..services.errors import ServiceError
from ..store.models import AuditEvent, Cohort, Organisation, SubmissionRow

_CACHE: OrderedDict[Hashable, Any] = OrderedDict()
_LOCK = threading.Lock()
CACHE_SIZE = 32


def _cached(key: Hashable, build: Any) -> Any:
    with _LOCK:
        if key in _CACHE:
            _CACHE.move_to_end(key)
            return _CACHE[key]
    value = build()
    with _LOCK:
        _CACHE[key] = value
        while len(_CACHE) > CACHE_SIZE:
            _CACHE.popitem(last=False)
    return value


def cohort_state(db: Session, cohort: Cohort) -> tuple[Any, ...]:
    """Everything the statistics of ``cohort`` depend on, cheaply: its settings and its submissions (a
    resubmission changes ``submitted_at``; a new or removed one the count or the largest id)."""
    count, last_id, last_at = db.execute(
        select(func.count(), func.max(SubmissionRow.id), func.max(SubmissionRow.submitted_at)).where(
            SubmissionRow.cohort_id == cohort.id
        )
    ).one()
    return (
        str(db.get_bind().engine.url),  # two stores in one process never share an entry
        cohort.id,
        cohort.name,
        cohort.min_cell,
        cohort.retention_periods,
        cohort.synthetic,
        count,
        last_id,
        last_at,
    )


def cohort_stats(db: Session, cohort: Cohort) -> CohortStats:
    """``services.benchmark.stats`` under the disclosure rules (re-applied: ``protect_cohort`` is
    idempotent)."""
    return _cached(  # type: ignore[no-any-return]
        ("stats", cohort_state(db, cohort)), lambda: protect_cohort(bench_svc.stats(db, cohort))
    )


@dataclass(frozen=True)
class ChartSvg:
    id: str
    title: str
    alt: str
    svg: str


def cohort_report(db: Session, cohort: Cohort) -> tuple[CohortReport, list[ChartSvg]]:
    """The steward's cohort report (``services.reports.cohort_report``) and its charts as SVG."""

    def build() -> tuple[CohortReport, list[ChartSvg]]:
        report = reports_svc.cohort_report(db, cohort_name=cohort.name)
        svgs = [ChartSvg(c.id, c.title, c.alt, charts.spec_to_svg(c.spec)) for c in report.charts]
        return report, svgs

    return _cached(("report", dt.date.today(), cohort_state(db, cohort)), build)  # type: ignore[no-any-return]


@dataclass(frozen=True)
class Submitter:
    submission_id: str
    organisation: str | None  # None: submitted from outside this workspace (or synthetic)
    period: str
    submitted_at: dt.datetime
    in_force: bool


def submitters(db: Session, cohort: Cohort) -> list[Submitter]:
    """Who has submitted (``services.benchmark.submitters``), newest period first, with the names of the
    organisations of this workspace (one query for all of them)."""
    rows = bench_svc.submitters(db, cohort)
    in_force = set(bench_svc.periods_in_force(db, cohort))
    ids = sorted({sid for sid, _, _ in rows})
    names: dict[str, str] = {}
    for chunk in range(0, len(ids), 500):
        part = ids[chunk : chunk + 500]
        query = select(Organisation.benchmark_id, Organisation.name).where(
            Organisation.benchmark_id.in_(part)
        )
        names.update((str(bid), str(name)) for bid, name in db.execute(query))
    out = [Submitter(sid, names.get(sid), period, at, period in in_force) for sid, period, at in rows]
    out.sort(key=lambda s: (s.period, s.submitted_at), reverse=True)
    return out


def submissions_in_force(db: Session, cohort: Cohort) -> int:
    return len(bench_svc.cohort_submissions(db, cohort))


# --- audit events -------------------------------------------------------------------------------------

SUMMARY_MAX = 200
# Shown by the entity column or the row itself: left out of a create's or delete's summary.
NOISE = frozenset({"id", "created_at", "updated_at"})
_ISO = re.compile(r"^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})(:\d{2}(\.\d+)?)?$")


def _short(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        text = ", ".join(str(v) for v in value) or "none"
    else:
        text = str(value)
        m = _ISO.match(text)
        if m:
            text = f"{m.group(1)} {m.group(2)}"
    return text if len(text) <= 48 else text[:45] + "…"


def change_summary(before: Mapping[str, Any] | None, after: Mapping[str, Any] | None) -> str:
    """``role: viewer → admin`` for an update, ``name=…, role=…`` for a create, ``deleted: …`` for a
    delete (empty values and the row's id and timestamps left out)."""
    if before and after:
        keys = sorted(set(before) | set(after))
        parts = [f"{k}: {_short(before.get(k))} → {_short(after.get(k))}" for k in keys]
    elif after or before:
        values = after or before or {}
        shown = [f"{k}={_short(v)}" for k, v in sorted(values.items()) if k not in NOISE and v is not None]
        parts = [("" if after else "deleted: ") + ", ".join(shown)] if shown else []
    else:
        parts = []
    text = "; ".join(parts)
    return text if len(text) <= SUMMARY_MAX else text[: SUMMARY_MAX - 1] + "…"


def change_detail(before: Mapping[str, Any] | None, after: Mapping[str, Any] | None) -> str:
    """The whole change as canonical JSON (for a tooltip), cut at 2,000 characters."""
    text = canonical_json({"before": before, "after": after})
    return text if len(text) <= 2000 else text[:1999] + "…"


def actor_label(actor: str) -> str:
    """``user:ann@x`` → ``ann@x``; ``token:3:ann@x`` → ``ann@x (API token 3)``; others as they are."""
    kind, _, rest = actor.partition(":")
    if kind == "user" and rest:
        return rest
    if kind == "token" and rest:
        token_id, _, email = rest.partition(":")
        return f"{email} (API token {token_id})"
    if kind == "cli" and rest:
        return f"{rest} (command line)"
    return actor


@dataclass(frozen=True)
class EventLine:
    seq: int
    occurred_at: dt.datetime
    actor: str
    action: str
    entity: str
    organisation_id: int | None
    organisation: str | None
    summary: str
    detail: str


def event_lines(events: list[AuditEvent], org_names: Mapping[int, str] | None = None) -> list[EventLine]:
    names = org_names or {}
    return [
        EventLine(
            e.seq,
            e.occurred_at,
            actor_label(e.actor),
            e.action,
            f"{e.entity_type} {e.entity_id}",
            e.organisation_id,
            names.get(e.organisation_id) if e.organisation_id is not None else None,
            change_summary(e.before, e.after),
            change_detail(e.before, e.after),
        )
        for e in events
    ]


def pager(path: str, page: int, per_page: int, total: int) -> dict[str, Any]:
    pages = max(1, -(-total // per_page))
    sep = "&" if "?" in path else "?"
    return {
        "page": page,
        "pages": pages,
        "total": total,
        "first": (page - 1) * per_page + 1 if total else 0,
        "last": min(total, page * per_page),
        "prev": f"{path}{sep}page={page - 1}" if page > 1 else None,
        "next": f"{path}{sep}page={page + 1}" if page < pages else None,
    }


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def plain_text(value: str, what: str) -> str:
    """``value`` stripped; ServiceError when it holds control characters (PostgreSQL refuses NUL in text,
    and nothing typed in a one-line field has them)."""
    if _CONTROL.search(value):
        raise ServiceError(f"the {what} contains control characters")
    return value.strip()
