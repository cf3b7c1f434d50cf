"""Benchmark and cohort reports: build, then render to HTML/PDF/DOCX/XLSX/JSON and read them back."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pytest
from docx import Document
from openpyxl import load_workbook
from pypdf import PdfReader

from medcyber.benchmark.models import OrgProfile, Submission
from medcyber.benchmark.stats import cohort_stats, position
from medcyber.maturity.bank import CATEGORY_IDS, QuestionBank
from medcyber.maturity.scoring import score
from medcyber.reports import charts
from medcyber.reports.benchmark_report import BenchmarkReport, build_benchmark_report
from medcyber.reports.cohort_report import build_cohort_report
from medcyber.reports.render import (
    render_cohort_html,
    render_cohort_pdf,
    render_docx,
    render_html,
    render_json,
    render_pdf,
    write_action_plan_xlsx,
)
from test_recommend import answers_from, flat_levels, make_bank

ORG = "Acme Medical"
REFERENCE = {
    "id": "mdic-2022",
    "title": "MDIC/Booz Allen medical device cybersecurity maturity benchmark",
    "year": 2022,
    "n": 17,
    "questions": 44,
    "composite": 1.51,
    "categories": {
        "organizational_structure": 1.68,
        "risk_management": 1.47,
        "design_control": 1.42,
        "complaint_handling": 1.47,
    },
    "bins": [{"label": "0.5-0.99", "count": 3}, {"label": "1.0-1.49", "count": 4}],
}


def _submissions(n: int) -> list[Submission]:
    bands = ["1-49", "50-249", "250-999", "1000-4999", "5000-19999", "20000+"]
    subs = []
    for i in range(n):
        base = 0.6 + 0.11 * i
        cats = {c: round(min(5.0, base + 0.15 * ((i + j) % 3)), 3) for j, c in enumerate(CATEGORY_IDS)}
        subs.append(
            Submission(
                submission_id=f"org-{i}",
                period="2022",
                profile=OrgProfile(employees_band=bands[i % 6], revenue_band="50M-250M"),
                composite=sum(cats.values()) / 4,
                categories=cats,
                synthetic=True,
            )
        )
    return subs


@pytest.fixture(scope="module")
def bank() -> QuestionBank:
    return make_bank()


@pytest.fixture(scope="module")
def report(bank: QuestionBank) -> BenchmarkReport:
    subs = _submissions(17)
    stats = cohort_stats(subs, cohort="demo-2022", bootstrap=300, permutations=199)
    levels = flat_levels(bank, 2)
    levels.update({"RM-01": 1, "RM-02": 1, "DC-02": 1, "OS-01": 3, "OS-02": 3, "CH-03": 1})
    answers = answers_from(levels)
    sc = score(bank, answers)
    prev_answers = answers_from(flat_levels(bank, 1))
    prev = score(bank, prev_answers)
    hist = [(dt.date(2025, 3, 1), prev), (dt.date(2026, 3, 1), sc)]
    return build_benchmark_report(
        bank,
        ORG,
        answers,
        sc,
        cohort=stats,
        position=position(sc, subs),
        previous=prev,
        history=hist,
        assessed_on=dt.date(2026, 3, 1),
        reference=REFERENCE,
    )


def test_report_content(report: BenchmarkReport) -> None:
    s = report.executive_summary
    assert s.composite == pytest.approx(report.composite)
    assert s.k is not None and s.n == 17 and 1 <= (s.quintile or 0) <= 5
    assert s.position_text and f"{s.k} of 17" in s.position_text
    assert s.minimum_category == "risk_management"
    assert len(s.top_actions) == 3
    assert s.must_haves_total == 2 and s.must_haves_passed == 0  # DC-02 and CH-03 at 1
    assert {c.id for c in report.charts} == {"radar", "categories", "histogram", "strip", "progress"}
    assert any("SYNTHETIC" in x for x in report.limitations)
    assert report.composite_delta == pytest.approx(report.composite - 1.0)
    assert report.reference is not None and report.reference.categories["design_control"] == 1.42
    data = json.loads(render_json(report))
    assert data["schema"] == "medcyber.benchmark-report/1"
    assert data["bank_version"] == "0.0.1"
    assert BenchmarkReport.model_validate(data).org_name == ORG


def test_html_is_self_contained(report: BenchmarkReport) -> None:
    html = render_html(report)
    assert "<svg" in html and html.count("<svg") == len(report.charts)
    assert not re.search(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", html, re.I)
    assert "@import" not in html and "url(http" not in html
    assert "<script" not in html
    assert ORG in html


def _pdf_text(path: Path) -> str:
    text = "\n".join(p.extract_text() or "" for p in PdfReader(str(path)).pages)
    return re.sub(r"\s+", " ", text)


def test_pdf_text(report: BenchmarkReport, tmp_path: Path) -> None:
    out = render_pdf(report, tmp_path / "report.pdf")
    reader = PdfReader(str(out))
    assert len(reader.pages) >= 3
    assert reader.pages[0].mediabox.width == pytest.approx(595.3, abs=1)  # A4
    text = _pdf_text(out)
    s = report.executive_summary
    assert ORG in text
    assert f"{report.composite:.2f}" in text
    assert report.composite_level_name in text
    assert f"{s.k} of {s.n}" in text
    first = report.recommendations[0].next_step
    assert first[:40] in text
    assert "Page 1 of" in text


def test_docx(report: BenchmarkReport, tmp_path: Path) -> None:
    out = render_docx(report, tmp_path / "report.docx")
    doc = Document(str(out))
    headings = [
        p.text for p in doc.paragraphs if p.style.name.startswith("Heading") or p.style.name == "Title"
    ]
    assert ORG in headings and "Executive summary" in headings and "Prioritised recommendations" in headings
    cells = " ".join(c.text for t in doc.tables for r in t.rows for c in r.cells)
    assert f"{report.composite:.2f}" in cells
    assert report.recommendations[0].next_step in cells
    assert len(doc.inline_shapes) == len(report.charts)


def test_action_plan_xlsx(report: BenchmarkReport, tmp_path: Path) -> None:
    out = write_action_plan_xlsx(report, tmp_path / "plan.xlsx")
    wb = load_workbook(out)
    ws = wb["Action plan"]
    header = [c.value for c in ws[1]]
    for col in ("Priority", "Category", "Practice area", "Question", "Current", "Target", "Next step"):
        assert col in header
    for col in ("Quarter", "Owner", "Status", "Due date"):
        assert col in header
    rows = list(ws.iter_rows(min_row=2, values_only=True))
    steps = sum(len(m.steps) for m in report.roadmap.milestones)
    assert len(rows) >= steps > 0
    status_col = header.index("Status")
    assert all(r[status_col] == "Not started" for r in rows)
    assert all(r[header.index("Owner")] is None for r in rows)
    dvs = ws.data_validations.dataValidation
    assert any(dv.type == "list" and "In progress" in dv.formula1 and "J2" in str(dv.sqref) for dv in dvs)
    quarters = {r[header.index("Quarter")] for r in rows[:steps]}
    assert quarters <= {"Q1", "Q2", "Q3", "Q4"}
    due = [r[header.index("Due date")] for r in rows[:steps]]
    assert all(d is not None for d in due)


def test_charts_render_to_svg_and_spec(report: BenchmarkReport) -> None:
    for item in report.charts:
        svg = charts.spec_to_svg(item.spec)
        assert svg.lstrip().startswith("<svg") and "DejaVu Sans" in svg
    radar = charts.radar_chart(ORG, {c: 2.0 for c in CATEGORY_IDS}, None)
    assert charts.to_spec(radar)["layer"]
    assert "<svg" in charts.to_svg(radar)


def test_cohort_report_with_reference(tmp_path: Path) -> None:
    stats = cohort_stats(_submissions(17), cohort="demo-2022", bootstrap=300, permutations=199)
    rep = build_cohort_report(stats, REFERENCE)
    comp = next(s for s in rep.summaries if s.id == "composite")
    assert comp.reference_mean == 1.51 and comp.difference == pytest.approx(comp.mean - 1.51, abs=1e-3)
    assert rep.correlations and all(c.reading for c in rep.correlations) and rep.power is not None
    html = render_cohort_html(rep)
    assert "Holm" in html and rep.power.text.split()[0] in html
    out = render_cohort_pdf(rep, tmp_path / "cohort.pdf")
    text = _pdf_text(out)
    assert "demo-2022" in text and "1.51" in text


def test_cohort_report_suppressed(tmp_path: Path) -> None:
    stats = cohort_stats(_submissions(3), cohort="tiny", bootstrap=50, permutations=19)
    assert stats.suppressed
    rep = build_cohort_report(stats, REFERENCE)
    assert rep.suppressed and not rep.summaries and not rep.bins and not rep.charts
    html = render_cohort_html(rep)
    assert "Statistics withheld" in html and "Median" not in html


def test_suppressed_segments_are_labelled() -> None:
    stats = cohort_stats(_submissions(17), cohort="demo-2022", bootstrap=100, permutations=19)
    rep = build_cohort_report(stats)
    suppressed = [g for g in rep.segments if g.suppressed]
    assert suppressed, "the 6 employee bands of 17 organisations leave cells below 5"
    assert all(g.shown_n == "suppressed (<5)" and g.median is None for g in suppressed)


def test_real_bank_and_published_reference(tmp_path: Path) -> None:
    """The shipped bank (48 questions, must-haves, headline recommendations) and the shipped mdic-2022
    figures, end to end through the PDF."""
    from medcyber.benchmark.reference import load_reference
    from medcyber.maturity.bank import load_bank

    real = load_bank()
    answers = answers_from({q.id: (i * 5) % 4 for i, q in enumerate(real.questions)})
    sc = score(real, answers)
    subs = _submissions(17)
    stats = cohort_stats(subs, cohort="demo-2022", bootstrap=200, permutations=99)
    rep = build_benchmark_report(
        real,
        ORG,
        answers,
        sc,
        cohort=stats,
        position=position(sc, subs),
        assessed_on=dt.date(2026, 3, 1),
        reference=load_reference(),
    )
    assert rep.bank_version == real.version and len(rep.must_haves) == len(real.must_haves)
    assert rep.reference is not None and rep.reference.composite == 1.51 and rep.reference.n == 17
    assert any(r.kind == "headline" for r in rep.recommendations)
    for r in rep.recommendations:
        if r.kind == "practice":
            assert r.next_step == real.question(r.question_id).levels[r.current_level + 1]
    text = _pdf_text(render_pdf(rep, tmp_path / "real.pdf"))
    assert rep.must_haves[0].name[:30] in text
    assert "1.51" in text


def test_demo_cohort_and_acme(tmp_path: Path) -> None:
    """The shipped demo cohort (17 synthetic respondents) and Acme Medical's two assessments."""
    from medcyber.benchmark.demo import acme_assessments, demo_cohort
    from medcyber.benchmark.reference import load_reference
    from medcyber.maturity.bank import load_bank

    real = load_bank()
    subs = [r.submission(real) for r in demo_cohort(real)]
    first, second = acme_assessments(real)[:2]
    s0, s1 = first.score(real), second.score(real)
    stats = cohort_stats(subs, cohort="demo-2022", bootstrap=300, permutations=199)
    assert stats.synthetic and stats.n == 17
    rep = build_benchmark_report(
        real,
        ORG,
        second.answers,
        s1,
        cohort=stats,
        position=position(s1, subs),
        previous=s0,
        history=[(first.assessed_on, s0), (second.assessed_on, s1)],
        assessed_on=second.assessed_on,
        reference=load_reference(),
    )
    assert rep.executive_summary.minimum_category == "complaint_handling"
    assert rep.composite_delta is not None and rep.composite_delta > 0
    assert rep.chart("progress") is not None
    text = _pdf_text(render_pdf(rep, tmp_path / "acme.pdf"))
    s = rep.executive_summary
    assert f"{s.k} of 17" in text and f"{rep.composite:.2f}" in text and "Synthetic cohort" in text
