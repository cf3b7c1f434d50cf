"""The benchmark steward's pages: cohorts, who has submitted, the cohort statistics and charts under the
disclosure rules, the cohort report (HTML/PDF/JSON), and cohort set-up.

Everything here is platform-level (``cohort:read`` / ``cohort:manage``, the steward role): the steward sees
scores aggregated under ``benchmark.disclosure`` and which organisation submitted when, never an
organisation's answers, assessments or products (those need a membership like anyone else's).
"""

import re
import tempfile
from pathlib import Path as FsPath
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.responses import RedirectResponse, Response

from ...benchmark.models import MIN_CELL
from ...reports.render import MEDIA_TYPES, write_cohort_report
from ...services import benchmark as bench_svc
from ...services.errors import ServiceError
from .. import admin_views as views
from ..deps import DbDep, Principal, require_platform
from ..templating import render

router = APIRouter(include_in_schema=False)

ReadDep = Annotated[Principal, Depends(require_platform("cohort:read"))]
ManageDep = Annotated[Principal, Depends(require_platform("cohort:manage"))]
CohortName = Annotated[str, Path(min_length=1, max_length=120, pattern=r"^[^\x00-\x1f\x7f]+$")]
PageNo = Annotated[int, Query(ge=1, le=1_000_000)]
PER_PAGE = 50
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,119}$")
MAX_RETENTION = 50
MAX_MIN_CELL = 1000


def _cohort_rows(db: DbDep) -> list[dict[str, Any]]:
    rows = []
    for c in bench_svc.list_cohorts(db):
        rows.append(
            {
                "name": c.name,
                "title": c.title,
                "default": c.is_default,
                "synthetic": c.synthetic,
                "min_cell": c.min_cell,
                "retention": c.retention_periods,
                "n": views.submissions_in_force(db, c),
                "periods": bench_svc.periods_in_force(db, c),
            }
        )
    return rows


def _list_page(
    request: Request,
    db: DbDep,
    principal: Principal,
    *,
    form: dict[str, str] | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    context = {
        "section": "steward",
        "cohorts": _cohort_rows(db),
        "can_manage": principal.can(None, "cohort:manage"),
        "form": form or {"min_cell": str(MIN_CELL), "retention": str(bench_svc.DEFAULT_RETENTION)},
        "form_error": error,
        "floor": MIN_CELL,
    }
    return render(request, "steward_cohorts.html.j2", context, status_code)


@router.get("/steward")
def cohorts(request: Request, db: DbDep, principal: ReadDep) -> Response:
    return _list_page(request, db, principal)


def _int_field(value: str, what: str, low: int, high: int) -> int:
    try:
        number = int(value.strip())
    except ValueError:
        raise ServiceError(f"{what} must be a whole number, not {value!r}") from None
    if not low <= number <= high:
        raise ServiceError(f"{what} must be between {low} and {high} (got {number})")
    return number


@router.post("/steward/cohorts")
def create_cohort(
    request: Request,
    db: DbDep,
    principal: ManageDep,
    name: Annotated[str, Form(max_length=200)] = "",
    title: Annotated[str, Form(max_length=300)] = "",
    min_cell: Annotated[str, Form(max_length=20)] = str(MIN_CELL),
    retention: Annotated[str, Form(max_length=20)] = "3",
    default: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    form = {"name": name, "title": title, "min_cell": min_cell, "retention": retention, "default": default}
    name = name.strip()
    try:
        title = views.plain_text(title, "title")
        if not NAME_RE.match(name):
            raise ServiceError(
                "a cohort name is 1-120 letters, digits, '.', '_' or '-', starting with a letter or digit "
                "(it appears in addresses, e.g. mdic-2026)"
            )
        if any(c.name == name for c in bench_svc.list_cohorts(db)):
            raise ServiceError(f"a cohort named {name!r} exists already: change its settings on its page")
        floor = _int_field(min_cell, "the smallest cell (min_cell)", MIN_CELL, MAX_MIN_CELL)
        periods = _int_field(retention, "the retention (periods)", 1, MAX_RETENTION)
        cohort = bench_svc.create_cohort(
            db,
            name,
            title=title.strip() or None,
            min_cell=floor,
            retention_periods=periods,
            make_default=bool(default),
        )
    except ServiceError as exc:
        return _list_page(request, db, principal, form=form, error=str(exc), status_code=400)
    return RedirectResponse(f"/steward/cohorts/{cohort.name}?created=1", status_code=303)


def _cohort_page(
    request: Request,
    db: DbDep,
    principal: Principal,
    name: str,
    *,
    page: int = 1,
    flash: str | None = None,
    flash_kind: str = "ok",
    form: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    cohort = bench_svc.get_cohort(db, name)
    report, chart_svgs = views.cohort_report(db, cohort)
    who = views.submitters(db, cohort)
    path = f"/steward/cohorts/{cohort.name}"
    paging = views.pager(path, page, PER_PAGE, len(who))
    shown = who[(page - 1) * PER_PAGE : page * PER_PAGE]
    segments: dict[str, list[Any]] = {}
    for s in report.segments:
        segments.setdefault(s.dimension, []).append(s)
    context = {
        "section": "steward",
        "cohort": cohort,
        "r": report,
        "charts": chart_svgs,
        "segments": segments,
        "evidence": [c for c in report.correlations if c.reading.startswith("evidence")],
        "submitters": shown,
        "submitter_count": len(who),
        "organisations": len({s.submission_id for s in who}),
        "paging": paging,
        "can_manage": principal.can(None, "cohort:manage"),
        "form": form
        or {
            "title": cohort.title,
            "min_cell": str(cohort.min_cell),
            "retention": str(cohort.retention_periods),
        },
        "floor": MIN_CELL,
        "flash": flash,
        "flash_kind": flash_kind,
    }
    return render(request, "steward_cohort.html.j2", context, status_code)


@router.get("/steward/cohorts/{name}")
def cohort_page(
    request: Request,
    db: DbDep,
    principal: ReadDep,
    name: CohortName,
    page: PageNo = 1,
    created: Annotated[int, Query(ge=0, le=1)] = 0,
    saved: Annotated[int, Query(ge=0, le=1)] = 0,
) -> Response:
    flash = "Cohort created." if created else "Cohort settings saved." if saved else None
    return _cohort_page(request, db, principal, name, page=page, flash=flash)


@router.post("/steward/cohorts/{name}")
def reconfigure_cohort(
    request: Request,
    db: DbDep,
    principal: ManageDep,
    name: CohortName,
    title: Annotated[str, Form(max_length=300)] = "",
    min_cell: Annotated[str, Form(max_length=20)] = str(MIN_CELL),
    retention: Annotated[str, Form(max_length=20)] = "3",
    default: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    cohort = bench_svc.get_cohort(db, name)
    form = {"title": title, "min_cell": min_cell, "retention": retention}
    try:
        title = views.plain_text(title, "title")
        floor = _int_field(min_cell, "the smallest cell (min_cell)", MIN_CELL, MAX_MIN_CELL)
        periods = _int_field(retention, "the retention (periods)", 1, MAX_RETENTION)
        bench_svc.create_cohort(  # the service creates or reconfigures; keep what the form does not show
            db,
            cohort.name,
            title=title.strip() or cohort.title,
            description=cohort.description,
            min_cell=floor,
            retention_periods=periods,
            synthetic=cohort.synthetic,
            make_default=bool(default),
        )
    except ServiceError as exc:
        return _cohort_page(
            request, db, principal, name, flash=str(exc), flash_kind="error", form=form, status_code=400
        )
    return RedirectResponse(f"/steward/cohorts/{cohort.name}?saved=1", status_code=303)


@router.get("/steward/cohorts/{name}/report.{fmt}")
def cohort_report_download(
    db: DbDep, principal: ReadDep, name: CohortName, fmt: Literal["html", "pdf", "json"]
) -> Response:
    cohort = bench_svc.get_cohort(db, name)
    report, _ = views.cohort_report(db, cohort)
    with tempfile.TemporaryDirectory(prefix="medcyber-cohort-") as tmp:
        body = write_cohort_report(report, FsPath(tmp) / f"cohort.{fmt}", fmt).read_bytes()
    filename = f"cohort-{cohort.name}-{report.generated_on.isoformat()}.{fmt}"
    disposition = "inline" if fmt == "html" else "attachment"
    return Response(
        body,
        media_type=MEDIA_TYPES[fmt],
        headers={"Content-Disposition": f'{disposition}; filename="{filename}"'},
    )
