"""Renderers of the reports: HTML (self-contained), PDF (WeasyPrint), DOCX, the XLSX action plan, JSON."""

from __future__ import annotations

import datetime as dt
import io
import re
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from . import charts
from .benchmark_report import BenchmarkReport
from .cohort_report import CohortReport

STATUS_CHOICES = ("Not started", "In progress", "Done", "Blocked")


@cache
def _env() -> Environment:
    return Environment(
        loader=PackageLoader("medcyber.reports", "templates"),
        autoescape=select_autoescape(["html", "j2"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


@cache
def _css() -> str:
    return (resources.files("medcyber.reports") / "static" / "report.css").read_text(encoding="utf-8")


_ID = re.compile(r'\bid="([^"]+)"')


def _inline_svg(spec: dict[str, Any], prefix: str) -> Markup:
    """The chart as inline SVG; element ids are prefixed so that several charts can share one page."""
    svg = charts.spec_to_svg(spec)
    ids = set(_ID.findall(svg))
    for i in ids:
        svg = svg.replace(f'id="{i}"', f'id="{prefix}-{i}"').replace(f"url(#{i})", f"url(#{prefix}-{i})")
        svg = svg.replace(f'href="#{i}"', f'href="#{prefix}-{i}"')
    svg = re.sub(r"<svg ", '<svg role="img" focusable="false" ', svg, count=1)
    return Markup(svg)  # noqa: S704 - produced by vl-convert from our own spec


# --- organisation report ---------------------------------------------------------------------------
def render_html(report: BenchmarkReport, *, downloads: dict[str, str] | None = None) -> str:
    """A self-contained HTML page: inline CSS and inline SVG charts, no external resources.

    ``downloads`` (label -> URL) adds a toolbar of download links, as the web page shows it; it is
    hidden when printed.
    """
    rendered = [
        {"id": c.id, "title": c.title, "alt": c.alt, "svg": _inline_svg(c.spec, f"c-{c.id}")}
        for c in report.charts
    ]
    return (
        _env()
        .get_template("benchmark_report.html.j2")
        .render(r=report, charts=rendered, css=_css(), downloads=downloads or {})
    )


def _write_pdf(html: str, path: Path | str) -> Path:
    from weasyprint import HTML

    path = Path(path)
    HTML(string=html, base_url=None).write_pdf(path)
    return path


def render_pdf(report: BenchmarkReport, path: Path | str) -> Path:
    """A4 PDF from the same HTML (running header, page numbers)."""
    return _write_pdf(render_html(report), path)


def render_json(report: BenchmarkReport) -> str:
    return report.model_dump_json(indent=2, by_alias=True)


def _fmt(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.2f}"


def render_docx(report: BenchmarkReport, path: Path | str) -> Path:
    """An editable Word document: headings, tables, charts as PNG."""
    from docx import Document
    from docx.enum.table import WD_TABLE_ALIGNMENT
    from docx.shared import Cm, Pt, RGBColor

    doc = Document()
    section = doc.sections[0]
    section.page_height, section.page_width = Cm(29.7), Cm(21.0)
    for side in ("left_margin", "right_margin"):
        setattr(section, side, Cm(2.0))
    style = doc.styles["Normal"]
    style.font.name = "DejaVu Sans"
    style.font.size = Pt(10)
    section.header.paragraphs[0].text = f"{report.org_name} · Product security maturity benchmark"

    def table(headers: list[str], rows: list[list[str]]) -> None:
        t = doc.add_table(rows=1, cols=len(headers))
        t.style = "Light Grid Accent 1"
        t.alignment = WD_TABLE_ALIGNMENT.CENTER
        for cell, h in zip(t.rows[0].cells, headers, strict=True):
            cell.text = h
            for run in cell.paragraphs[0].runs:
                run.font.bold = True
        for row in rows:
            cells = t.add_row().cells
            for cell, v in zip(cells, row, strict=True):
                cell.text = v
        for row in t.rows:
            for cell in row.cells:
                for p in cell.paragraphs:
                    for run in p.runs:
                        run.font.size = Pt(8.5)

    s = report.executive_summary
    doc.add_heading(report.org_name, level=0)
    doc.add_paragraph(
        f"Product security maturity benchmark · assessed {report.assessed_on.isoformat()} · cohort "
        f"“{report.cohort.name}” (n = {report.cohort.n}) · "
        f"question bank {report.bank_id} {report.bank_version}"
    )
    if report.cohort.synthetic:
        p = doc.add_paragraph()
        run = p.add_run(
            "Synthetic cohort: the comparison data is synthetic demonstration data; "
            "it describes no real organisation."
        )
        run.font.bold = True
        run.font.color.rgb = RGBColor(0xD5, 0x5E, 0x00)

    doc.add_heading("Executive summary", level=1)
    table(
        ["Composite", "Weakest category", "Position", "524B must-haves"],
        [
            [
                f"{_fmt(s.composite)} ({s.composite_level_name or 'not scored'})",
                f"{s.minimum_category_name or 'n/a'}: {_fmt(s.minimum_category_score)}",
                f"{s.k} of {s.n} ({s.quintile_text})" if s.k is not None else "no comparison shown",
                f"{s.must_haves_passed} of {s.must_haves_total} pass",
            ]
        ],
    )
    for para in s.paragraphs:
        doc.add_paragraph(para)
    if s.top_actions:
        doc.add_heading("Top actions", level=2)
        for a in s.top_actions:
            doc.add_paragraph(a, style="List Number")

    doc.add_heading("Scores", level=1)
    table(
        ["Category", "Score", "Level", "Cohort median", "Position", "Target"],
        [
            [
                c.name + (" (minimum)" if c.is_minimum else ""),
                _fmt(c.score),
                c.level_name or "",
                _fmt(c.cohort_median),
                c.rank_text or "",
                _fmt(c.target),
            ]
            for c in report.categories
        ]
        + [
            [
                "Composite",
                _fmt(report.composite),
                report.composite_level_name or "",
                "",
                s.position_text or "",
                _fmt(report.targets.composite),
            ]
        ],
    )
    for c in report.charts:
        doc.add_picture(io.BytesIO(charts.spec_to_png(c.spec, scale=2.0)), width=Cm(15))
        cap = doc.add_paragraph(f"{c.title}. {c.alt}")
        cap.runs[0].font.size = Pt(8)

    doc.add_heading("Strongest and weakest practice areas", level=1)
    table(
        ["", "Practice area", "Category", "Score"],
        [["Strongest", a.name, a.category_name, _fmt(a.score)] for a in report.strongest_areas]
        + [["Weakest", a.name, a.category_name, _fmt(a.score)] for a in report.weakest_areas],
    )

    doc.add_heading("FD&C 524B must-haves", level=1)
    table(
        ["Must-have", "Result", "Detail"],
        [[m.name, "Pass" if m.passed else "Fail", m.summary] for m in report.must_haves],
    )

    doc.add_heading("Prioritised recommendations", level=1)
    table(
        ["#", "Area", "Now → target", "Next step", "References"],
        [
            [
                str(x.priority),
                (
                    f"{x.practice_area_name} ({x.question_id})"
                    if x.kind == "practice"
                    else "Benchmark recommendation"
                )
                + (" [524B]" if x.fda_524b else ""),
                f"{'–' if x.current_level is None else x.current_level} → {x.target_level}",
                x.next_step,
                "; ".join(x.references),
            ]
            for x in report.recommendations
        ],
    )

    rm = report.roadmap
    doc.add_heading(f"Roadmap ({rm.months} months)", level=1)
    table(
        ["Category", "Current", "Target", "Gap", "% to target", "Since previous"],
        [
            [
                c.name,
                _fmt(c.current),
                _fmt(c.target),
                _fmt(c.gap),
                f"{c.pct_to_target:.0f}%",
                "" if c.delta is None else f"{c.delta:+.2f}",
            ]
            for c in rm.categories
        ],
    )
    for m in rm.milestones:
        doc.add_heading(
            f"{m.label} ({m.months}) · projected composite {_fmt(m.projected_composite)}", level=2
        )
        if m.steps:
            table(
                ["Question", "Practice area", "Level", "Practice to put in place"],
                [
                    [st.question_id, st.practice_area_name, f"{st.from_level} → {st.to_level}", st.next_step]
                    for st in m.steps
                ],
            )
        else:
            doc.add_paragraph("No new step: consolidate and measure.")

    doc.add_heading("Methods", level=1)
    for m_text in report.methods:
        doc.add_paragraph(m_text, style="List Bullet")
    doc.add_heading("Limitations", level=1)
    for m_text in report.limitations:
        doc.add_paragraph(m_text, style="List Bullet")
    path = Path(path)
    doc.save(str(path))
    return path


def _quarter_due(assessed_on: dt.date, quarter: int) -> dt.date:
    """The last day of the quarter's third month, counted from the assessment date."""
    month_index = assessed_on.month - 1 + 3 * quarter
    year, month = assessed_on.year + month_index // 12, month_index % 12 + 1
    return dt.date(year, month, 1) - dt.timedelta(days=1)


def write_action_plan_xlsx(report: BenchmarkReport, path: Path | str) -> Path:
    """The action plan as an Excel sheet: one row per roadmap step, then the headline recommendations
    and any recommendation left outside the roadmap; status is a drop-down."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.worksheet.datavalidation import DataValidation

    wb = Workbook()
    ws = wb.active
    ws.title = "Action plan"
    headers = [
        "Priority",
        "Category",
        "Practice area",
        "Question",
        "Current",
        "Target",
        "Next step",
        "Quarter",
        "Owner",
        "Status",
        "Due date",
        "References",
    ]
    ws.append(headers)
    for cell in ws[1]:
        cell.font = Font(bold=True, color="FFFFFF")
        cell.fill = PatternFill("solid", fgColor="0072B2")
        cell.alignment = Alignment(vertical="center", wrap_text=True)

    scheduled: set[str] = set()
    first_quarter: dict[str, int] = {}
    for m in report.roadmap.milestones:
        for st in m.steps:
            scheduled.add(st.question_id)
            first_quarter.setdefault(st.question_id, m.quarter)
            ws.append(
                [
                    st.priority or None,
                    st.category_name,
                    st.practice_area_name,
                    f"{st.question_id}: {st.question_text}",
                    st.from_level,
                    st.to_level,
                    st.next_step,
                    m.label,
                    None,
                    "Not started",
                    _quarter_due(report.assessed_on, m.quarter),
                    "; ".join(st.references),
                ]
            )
    for x in report.recommendations:
        if x.kind == "practice" and x.question_id in scheduled:
            continue
        quarters = [first_quarter[q] for q in x.linked_questions if q in first_quarter]
        q = min(quarters) if quarters else None
        ws.append(
            [
                x.priority,
                x.category_name,
                x.practice_area_name or "Benchmark recommendation",
                f"{x.question_id}: {x.question_text}" if x.question_id else ", ".join(x.linked_questions),
                x.current_level,
                x.target_level,
                x.next_step,
                f"Q{q}" if q else "after the plan",
                None,
                "Not started",
                _quarter_due(report.assessed_on, q) if q else None,
                "; ".join(x.references),
            ]
        )
    last = ws.max_row
    dv = DataValidation(
        type="list",
        formula1='"' + ",".join(STATUS_CHOICES) + '"',
        allow_blank=True,
        showErrorMessage=True,
        errorTitle="Status",
        error="Choose a status from the list.",
    )
    ws.add_data_validation(dv)
    dv.add(f"J2:J{max(last, 2) + 200}")
    widths = {
        "A": 9,
        "B": 22,
        "C": 28,
        "D": 45,
        "E": 9,
        "F": 8,
        "G": 60,
        "H": 12,
        "I": 18,
        "J": 14,
        "K": 12,
        "L": 30,
    }
    for col, w in widths.items():
        ws.column_dimensions[col].width = w
    for row in ws.iter_rows(min_row=2, max_row=last):
        for cell in row:
            cell.alignment = Alignment(vertical="top", wrap_text=True)
        row[10].number_format = "yyyy-mm-dd"
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = f"A1:L{last}"

    about = wb.create_sheet("About")
    for row in (
        ("Organisation", report.org_name),
        ("Assessed on", report.assessed_on),
        ("Question bank", f"{report.bank_id} {report.bank_version}"),
        ("Composite", report.composite),
        ("Target composite", report.targets.composite),
        ("Targets from", report.targets.source),
        (
            "Cohort",
            f"{report.cohort.name} (n = {report.cohort.n})"
            + (" — synthetic" if report.cohort.synthetic else ""),
        ),
        ("Generated", report.generated_on),
    ):
        about.append(list(row))
    about.column_dimensions["A"].width = 20
    about.column_dimensions["B"].width = 60
    path = Path(path)
    wb.save(path)
    return path


# --- cohort report ------------------------------------------------------------------------------------
def render_cohort_html(report: CohortReport) -> str:
    rendered = [
        {"id": c.id, "title": c.title, "alt": c.alt, "svg": _inline_svg(c.spec, f"c-{c.id}")}
        for c in report.charts
    ]
    return _env().get_template("cohort_report.html.j2").render(r=report, charts=rendered, css=_css())


def render_cohort_pdf(report: CohortReport, path: Path | str) -> Path:
    return _write_pdf(render_cohort_html(report), path)


def render_cohort_json(report: CohortReport) -> str:
    return report.model_dump_json(indent=2, by_alias=True)


# --- one entry point per report for the CLI and the web -------------------------------------------------
def write_report(report: BenchmarkReport, path: Path | str, fmt: str) -> Path:
    """Write the organisation report as html, pdf, json, docx or xlsx (the action plan)."""
    path = Path(path)
    if fmt == "html":
        path.write_text(render_html(report), encoding="utf-8")
    elif fmt == "json":
        path.write_text(render_json(report), encoding="utf-8")
    elif fmt == "pdf":
        render_pdf(report, path)
    elif fmt == "docx":
        render_docx(report, path)
    elif fmt == "xlsx":
        write_action_plan_xlsx(report, path)
    else:
        raise ValueError(f"unknown report format {fmt!r}: use html, pdf, json, docx or xlsx")
    return path


def write_cohort_report(report: CohortReport, path: Path | str, fmt: str) -> Path:
    path = Path(path)
    if fmt == "html":
        path.write_text(render_cohort_html(report), encoding="utf-8")
    elif fmt == "json":
        path.write_text(render_cohort_json(report), encoding="utf-8")
    elif fmt == "pdf":
        render_cohort_pdf(report, path)
    else:
        raise ValueError(f"unknown cohort report format {fmt!r}: use html, pdf or json")
    return path


MEDIA_TYPES = {
    "html": "text/html; charset=utf-8",
    "pdf": "application/pdf",
    "json": "application/json",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def report_bytes(report: BenchmarkReport, fmt: str) -> bytes:
    """The organisation report in one format, as bytes (for downloads)."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="medcyber-report-") as tmp:
        return write_report(report, Path(tmp) / f"report.{fmt}", fmt).read_bytes()
