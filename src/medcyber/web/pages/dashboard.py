"""The organisation dashboard: its maturity (latest scores, benchmark position, trend, the assessment in
progress) and its device portfolio at a glance (services/portfolio.py: SQL aggregates only)."""

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from ...maturity.bank import CATEGORY_IDS
from ...reports import charts
from ...reports.portfolio_charts import cached_svg, severity_chart
from ...services import portfolio
from ..deps import DbDep, OrgContext, org_access
from ..templating import render

router = APIRouter(include_in_schema=False)


def _trend_svg(m: portfolio.Maturity) -> str | None:
    points = tuple((d, s.composite) for d, s in m.history if s.composite is not None)
    if not points:
        return None
    history = m.history
    return cached_svg(
        ("trend", points), lambda: charts.progress_chart(history, title="Composite score over time")
    )


def _severity_svg(f: portfolio.FindingsSummary) -> str | None:
    if not f.open:
        return None
    counts = dict(f.by_severity)
    return cached_svg(("severity", tuple(counts.items())), lambda: severity_chart(counts))


@router.get("/orgs/{org_id}")
def dashboard(
    request: Request, db: DbDep, ctx: Annotated[OrgContext, Depends(org_access("org:read"))]
) -> Response:
    today = dt.date.today()
    maturity = portfolio.maturity(db, ctx.org)
    overview = portfolio.cached_overview(db, ctx.org.id, as_of=today)
    context: dict[str, Any] = {
        "org": ctx.org,
        "section": "dashboard",
        "m": maturity,
        "p": overview,
        "categories": CATEGORY_IDS,
        "trend_svg": _trend_svg(maturity),
        "severity_svg": _severity_svg(overview.findings),
        "can_answer": ctx.can("assessment:answer"),
        "today": today,
    }
    return render(request, "dashboard.html.j2", context)
