"""`medcyber benchmark`: cohort statistics, submissions and reports."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from sqlalchemy.orm import Session

from ..benchmark.models import CohortStats
from ..services import assessments as assess_svc
from ..services import benchmark as svc
from ..store.models import Assessment, Organisation
from .common import console, fail, print_json, session_scope

app = typer.Typer(
    help="Industry benchmark: cohorts, submissions, statistics and reports.", no_args_is_help=True
)

CohortOpt = Annotated[str | None, typer.Option("--cohort", help="Cohort name (default: the default cohort).")]
OrgOpt = Annotated[str, typer.Option("--org", help="Organisation name.")]
ConsentOpt = Annotated[
    bool, typer.Option("--consent", help="Explicit consent to share the scores (not answers).")
]
PeriodOpt = Annotated[str | None, typer.Option(help="Benchmark period, default the current year.")]


def _latest_complete(session: Session, org: str) -> tuple[Organisation, Assessment]:
    o = assess_svc.find_organisation(session, org)
    latest = assess_svc.latest_complete(session, o)
    if latest is None:
        fail(f"{o.name} has no complete assessment to submit")
    return o, latest


def _period(period: str | None) -> str:
    return period or str(dt.date.today().year)


def _fmt(x: float | None) -> str:
    return "-" if x is None else f"{x:.2f}"


def _print_stats(stats: CohortStats) -> None:
    title = f"cohort {stats.cohort} (periods {', '.join(stats.periods) or '-'}): n = {stats.n}"
    if stats.synthetic:
        title += "  [yellow]SYNTHETIC demo data[/]"
    console.print(f"[bold]{title}[/]")
    if stats.suppressed:
        console.print(f"[yellow]statistics suppressed:[/] {stats.suppression_reason}")
        return
    table = Table("score", "median", "IQR", "median 95% CI", "mean", "SD", "mean 95% CI (approx.)")
    rows = [("composite", stats.composite)] + list(stats.categories.items())
    for name, s in rows:
        if s is None:
            continue
        table.add_row(
            name.replace("_", " "),
            _fmt(s.median),
            f"{_fmt(s.q1)}-{_fmt(s.q3)}",
            f"{_fmt(s.median_ci.low)}-{_fmt(s.median_ci.high)}" if s.median_ci else "-",
            _fmt(s.mean),
            _fmt(s.sd),
            f"{_fmt(s.mean_ci.low)}-{_fmt(s.mean_ci.high)}" if s.mean_ci else "-",
        )
    console.print(table)
    bins = Table("composite bin", "count")
    for b in stats.bins:
        bins.add_row(b.label, "suppressed" if b.count is None else str(b.count))
    console.print(bins)
    if stats.correlations:
        corr = Table(
            "relation", "method", "estimate [95% CI]", "p (perm.)", "p (Holm)", title="Size and revenue"
        )
        for c in stats.correlations:
            corr.add_row(
                f"{c.variable.replace('_band', '')} ~ {c.target.replace('_', ' ')}",
                "tau-b" if c.method == "kendall_tau_b" else "rho",
                f"{_fmt(c.estimate)} [{_fmt(c.ci.low)}, {_fmt(c.ci.high)}]" if c.ci else _fmt(c.estimate),
                "-" if c.p_value is None else f"{c.p_value:.3f}",
                "-" if c.p_holm is None else f"{c.p_holm:.3f}",
            )
        console.print(corr)
        evidence = [c for c in stats.correlations if c.reading.startswith("evidence")]
        if evidence:
            for c in evidence:
                console.print(f"{c.variable} ~ {c.target}: {c.reading}")
        else:
            console.print("Reading: no evidence of a correlation with size or revenue in any score.")
    if stats.power:
        console.print(stats.power.text)


@app.command("stats")
def stats_cmd(
    cohort: CohortOpt = None,
    json_out: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Cohort statistics: medians and IQR first (scores are ordinal), means, bins, size/revenue relations."""
    with session_scope() as session:
        result = svc.stats(session, svc.get_cohort(session, cohort))
    if json_out:
        print_json(result)
    else:
        _print_stats(result)


@app.command("cohorts")
def cohorts_cmd(json_out: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List cohorts."""
    with session_scope() as session:
        rows: list[dict[str, Any]] = [
            {
                "name": c.name,
                "title": c.title,
                "default": c.is_default,
                "synthetic": c.synthetic,
                "min_cell": c.min_cell,
                "retention_periods": c.retention_periods,
                "submissions_in_force": len(svc.cohort_submissions(session, c)),
            }
            for c in svc.list_cohorts(session)
        ]
    if json_out:
        print_json({"cohorts": rows})
        return
    table = Table("name", "title", "default", "synthetic", "in force", "min cell", "retention")
    for r in rows:
        table.add_row(
            r["name"],
            r["title"],
            "yes" if r["default"] else "",
            "yes" if r["synthetic"] else "",
            str(r["submissions_in_force"]),
            str(r["min_cell"]),
            str(r["retention_periods"]),
        )
    console.print(table)


@app.command("create-cohort")
def create_cohort_cmd(
    name: Annotated[str, typer.Argument()],
    title: Annotated[str | None, typer.Option()] = None,
    min_cell: Annotated[
        int, typer.Option(help="Smallest group any statistic is shown for (never below 5).")
    ] = 5,
    retention: Annotated[int, typer.Option(help="How many recent periods count.")] = 3,
    default: Annotated[bool, typer.Option("--default", help="Make it the default cohort.")] = False,
) -> None:
    """Create (or reconfigure) a cohort, as a benchmark steward."""
    with session_scope() as session:
        c = svc.create_cohort(
            session, name, title=title, min_cell=min_cell, retention_periods=retention, make_default=default
        )
        console.print(f"cohort [bold]{c.name}[/] ready")


@app.command("submit")
def submit_cmd(
    org: OrgOpt,
    consent: ConsentOpt = False,
    cohort: CohortOpt = None,
    period: PeriodOpt = None,
) -> None:
    """Submit the organisation's latest complete assessment's scores to a cohort."""
    if not consent:
        fail("submitting shares your scores with the cohort: add --consent to confirm")
    with session_scope() as session:
        o, latest = _latest_complete(session, org)
        c = svc.get_cohort(session, cohort)
        row = svc.submit_assessment(session, latest, c, period=_period(period), consent=True)
        console.print(
            f"submitted {o.name}'s assessment of {latest.assessed_on} to {c.name} for period {row.period}"
        )


@app.command("export-submission")
def export_submission_cmd(
    org: OrgOpt,
    out: Annotated[Path, typer.Option("--out", help="Submission file to send to the benchmark steward.")],
    consent: ConsentOpt = False,
    period: PeriodOpt = None,
) -> None:
    """Write the latest complete assessment's scores and banded profile as a file for a steward's cohort."""
    import json

    if not consent:
        fail("the file shares your scores with the benchmark steward: add --consent to confirm")
    with session_scope() as session:
        _org, latest = _latest_complete(session, org)
        doc = svc.export_submission(latest, period=_period(period), consent=True)
        anonymous_id = latest.organisation.benchmark_id
    out.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    console.print(
        f"wrote {out}: scores and banded profile only, under the anonymous id {anonymous_id}",
        highlight=False,
    )


@app.command("import-submissions")
def import_submissions_cmd(
    files: Annotated[list[Path], typer.Argument(help="Submission files (JSON) sent by manufacturers.")],
    cohort: CohortOpt = None,
) -> None:
    """As the steward: add manufacturers' submission files to a cohort (all or nothing)."""
    with session_scope() as session:
        c = svc.get_cohort(session, cohort)
        count = svc.import_submission_files(session, c, files)
        console.print(f"imported {count} submission(s) into {c.name}")


@app.command("submissions")
def submissions_cmd(
    cohort: CohortOpt = None,
    json_out: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """As the steward: who has submitted (anonymous ids and periods; no scores are shown here)."""
    with session_scope() as session:
        c = svc.get_cohort(session, cohort)
        rows = [
            {"submission_id": sid, "period": period, "submitted_at": at.isoformat(timespec="seconds")}
            for sid, period, at in svc.submitters(session, c)
        ]
        in_force = svc.periods_in_force(session, c)
    if json_out:
        print_json({"cohort": c.name, "periods_in_force": in_force, "submissions": rows})
        return
    table = Table("submission id", "period", "submitted at", "counts", title=f"{c.name}")
    for r in rows:
        table.add_row(
            r["submission_id"],
            r["period"],
            r["submitted_at"],
            "yes" if r["period"] in in_force else "aged out",
        )
    console.print(table)


REPORT_FORMATS = ("html", "pdf", "json", "docx", "xlsx")


@app.command("report")
def report_cmd(
    org: OrgOpt,
    out: Annotated[Path, typer.Option("--out", help="Output file.")],
    fmt: Annotated[
        str, typer.Option("--format", help="html, pdf, json, docx, or xlsx (the action plan).")
    ] = "pdf",
    cohort: CohortOpt = None,
) -> None:
    """One organisation's benchmark report: scores, position, charts, recommendations, roadmap."""
    from ..reports import render
    from ..services.reports import organisation_report

    if fmt not in REPORT_FORMATS:
        fail(f"--format must be one of {', '.join(REPORT_FORMATS)}")
    with session_scope() as session:
        report = organisation_report(session, org, cohort_name=cohort)
    render.write_report(report, out, fmt)
    console.print(f"wrote {fmt} report for {org} to {out}")


@app.command("cohort-report")
def cohort_report_cmd(
    out: Annotated[Path, typer.Option("--out", help="Output file.")],
    fmt: Annotated[str, typer.Option("--format", help="html, pdf or json.")] = "pdf",
    cohort: CohortOpt = None,
) -> None:
    """The steward's cohort report (disclosure control applied)."""
    from ..reports import render
    from ..services.reports import cohort_report

    if fmt not in ("html", "pdf", "json"):
        fail("--format must be one of html, pdf, json")
    with session_scope() as session:
        report = cohort_report(session, cohort_name=cohort)
    render.write_cohort_report(report, out, fmt)
    console.print(f"wrote {fmt} cohort report to {out}")
