"""The command line end to end, on a real store (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl
import pytest
from typer.testing import CliRunner

from medcyber.cli.main import app
from medcyber.maturity.bank import load_bank

runner = CliRunner()


@pytest.fixture
def cli(store_url: str):  # type: ignore[no-untyped-def]
    def invoke(*args: str):  # type: ignore[no-untyped-def]
        return runner.invoke(
            app, list(args), env={"MEDCYBER_DATABASE_URL": store_url}, catch_exceptions=False
        )

    return invoke


@pytest.fixture
def demo_cli(cli):  # type: ignore[no-untyped-def]
    result = cli("demo", "load", "--no-portfolio")
    assert result.exit_code == 0, result.output
    return cli


def test_stats_json_reproduces_published_2022_figures(demo_cli) -> None:  # type: ignore[no-untyped-def]
    result = demo_cli("benchmark", "stats", "--json")
    assert result.exit_code == 0, result.output
    stats = json.loads(result.stdout)
    assert stats["n"] == 17
    assert stats["synthetic"] is True
    assert round(stats["composite"]["mean"], 2) == 1.51
    means = {k: round(v["mean"], 2) for k, v in stats["categories"].items()}
    assert means == {
        "organizational_structure": 1.68,
        "risk_management": 1.47,
        "design_control": 1.42,
        "complaint_handling": 1.47,
    }
    bins = {b["label"]: b["count"] for b in stats["bins"] if b["count"]}
    assert bins == {"0.5-0.99": 3, "1.0-1.49": 4, "1.5-1.99": 6, "2.0-2.49": 4}
    revenue = [
        c for c in stats["correlations"] if c["variable"] == "revenue_band" and c["target"] == "composite"
    ]
    assert revenue and all(c["p_value"] > 0.05 for c in revenue)
    assert all("no correlation" not in c["reading"] for c in stats["correlations"])


def test_demo_load_is_idempotent(demo_cli) -> None:  # type: ignore[no-untyped-def]
    again = demo_cli("demo", "load", "--no-portfolio", "--json")
    assert again.exit_code == 0
    stats = json.loads(demo_cli("benchmark", "stats", "--json").stdout)
    assert stats["n"] == 17
    hist = json.loads(demo_cli("assess", "history", "--org", "Acme Medical", "--json").stdout)
    assert len(hist["history"]) == 2
    assert hist["history"][1]["composite"] > hist["history"][0]["composite"]


def test_questionnaire_json_lists_the_bank(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("assess", "questionnaire", "--format", "json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert len(data["questions"]) == len(load_bank().questions) >= 44
    q = data["questions"][0]
    assert {"id", "category", "levels", "references"} <= set(q)
    assert len(q["levels"]) == 6


def test_xlsx_template_filled_in_and_imported(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    book = tmp_path / "answers.xlsx"
    assert cli("assess", "template", "--format", "xlsx", "--out", str(book)).exit_code == 0
    wb = openpyxl.load_workbook(book)
    ws = wb["Answers"]
    header = [c.value for c in ws[1]]
    level_col = next(i for i, h in enumerate(header) if h and str(h).lower().startswith("level")) + 1
    for row in range(2, ws.max_row + 1):
        if ws.cell(row, 1).value:
            ws.cell(row, level_col).value = "3 - Defined"
    wb.save(book)
    result = cli("assess", "import", str(book), "--org", "Filled In Excel", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["status"] == "complete"
    assert data["score"]["composite"] == pytest.approx(3.0)


def test_bad_answers_file_named_and_nothing_stored(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "bad-answers.yaml"
    bank = load_bank()
    lines = [f"bank_id: {bank.id}", f"bank_version: '{bank.version}'", "organisation: Broken Co", "answers:"]
    for i, q in enumerate(bank.questions):
        lines.append(f"  - question_id: {q.id}\n    level: {7 if i == 3 else 2}")
    bad.write_text("\n".join(lines) + "\n")
    result = cli("assess", "import", str(bad))
    assert result.exit_code == 1
    assert "bad-answers.yaml" in result.output and bank.questions[3].id in result.output
    assert "Traceback" not in result.output
    listed = json.loads(cli("org", "list", "--json").stdout)
    assert listed["organisations"] == []


def test_unknown_org_is_a_clean_error(demo_cli) -> None:  # type: ignore[no-untyped-def]
    result = demo_cli("assess", "score", "--org", "Acme Medicl")
    assert result.exit_code == 1
    assert "Acme Medical" in result.output  # suggestion


def test_report_formats(demo_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    for fmt in ("json", "html", "pdf", "docx", "xlsx"):
        out = tmp_path / f"acme.{fmt}"
        result = demo_cli("benchmark", "report", "--org", "Acme Medical", "--format", fmt, "--out", str(out))
        assert result.exit_code == 0, result.output
        assert out.stat().st_size > 1000
    assert out.read_bytes()[:2] == b"PK"
    assert (tmp_path / "acme.pdf").read_bytes()[:5] == b"%PDF-"
    report = json.loads((tmp_path / "acme.json").read_text())
    assert report["org_name"] == "Acme Medical"


def test_cohort_report(demo_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "cohort.html"
    result = demo_cli("benchmark", "cohort-report", "--format", "html", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "synthetic" in out.read_text().lower()


def test_steward_exchange_round_trip(demo_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A manufacturer exports its scores; the steward imports them; 'who has submitted' lists it."""
    out = tmp_path / "acme-submission.json"
    refused = demo_cli("benchmark", "export-submission", "--org", "Acme Medical", "--out", str(out))
    assert refused.exit_code == 1 and "--consent" in refused.output and not out.exists()
    ok = demo_cli(
        "benchmark",
        "export-submission",
        "--org",
        "Acme Medical",
        "--out",
        str(out),
        "--consent",
        "--period",
        "2026",
    )
    assert ok.exit_code == 0, ok.output
    doc = json.loads(out.read_text())
    assert "answers" not in json.dumps(doc)  # scores only
    assert demo_cli("benchmark", "create-cohort", "steward-2026", "--retention", "2").exit_code == 0
    imported = demo_cli("benchmark", "import-submissions", str(out), "--cohort", "steward-2026")
    assert imported.exit_code == 0, imported.output
    listed = json.loads(demo_cli("benchmark", "submissions", "--cohort", "steward-2026", "--json").stdout)
    assert [s["period"] for s in listed["submissions"]] == ["2026"]
    stats = json.loads(demo_cli("benchmark", "stats", "--cohort", "steward-2026", "--json").stdout)
    assert stats["n"] == 1 and stats["suppressed"] is True and stats["composite"] is None


def test_import_submissions_all_or_nothing(demo_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    good = tmp_path / "good.json"
    assert (
        demo_cli(
            "benchmark", "export-submission", "--org", "Acme Medical", "--out", str(good), "--consent"
        ).exit_code
        == 0
    )
    bad = tmp_path / "bad.json"
    doc = json.loads(good.read_text())
    doc["submission"]["profile"]["revenue_band"] = "a lot"
    bad.write_text(json.dumps(doc))
    assert demo_cli("benchmark", "create-cohort", "strict").exit_code == 0
    result = demo_cli("benchmark", "import-submissions", str(good), str(bad), "--cohort", "strict")
    assert result.exit_code == 1
    assert "bad.json" in result.output and "revenue_band" in result.output
    listed = json.loads(demo_cli("benchmark", "submissions", "--cohort", "strict", "--json").stdout)
    assert listed["submissions"] == []
