"""`medcyber assess`: the questionnaire, answering it, answer files and scores."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from ..maturity.bank import load_bank
from ..maturity.scoring import AssessmentScore
from ..services import assessments as svc
from .common import console, fail, print_json, session_scope, user_errors

app = typer.Typer(
    help="Maturity self-assessment: questionnaire, answers, import/export, scores.", no_args_is_help=True
)

OrgOpt = Annotated[str, typer.Option("--org", help="Organisation name.")]
BankOpt = Annotated[
    str | None, typer.Option("--bank-version", help="Question bank version (default: latest).")
]


@app.command("questionnaire")
def questionnaire_cmd(
    fmt: Annotated[str, typer.Option("--format", help="json, md or xlsx.")] = "json",
    out: Annotated[Path | None, typer.Option("--out", help="Output file (default: standard output).")] = None,
    bank_version: BankOpt = None,
) -> None:
    """Print the question bank: questions, level descriptors 0-5, references."""
    import json

    from ..maturity.answers_io import write_template_xlsx
    from ..maturity.questionnaire_io import questionnaire_json, questionnaire_markdown

    with user_errors():
        bank = load_bank(bank_version)
        if fmt == "json":
            text = json.dumps(questionnaire_json(bank), indent=2, ensure_ascii=False) + "\n"
        elif fmt == "md":
            text = questionnaire_markdown(bank)
        elif fmt == "xlsx":
            if out is None:
                fail("--format xlsx needs --out FILE")
            write_template_xlsx(bank, out)
            console.print(f"wrote {out}", highlight=False)
            return
        else:
            fail("--format must be json, md or xlsx")
        if out is None:
            sys.stdout.write(text)
        else:
            out.write_text(text, encoding="utf-8")
            console.print(f"wrote {out}", highlight=False)


@app.command("template")
def template_cmd(
    out: Annotated[Path, typer.Option("--out", help="Workbook to write.")],
    fmt: Annotated[
        str, typer.Option("--format", help="xlsx (fillable workbook), yaml, json or csv.")
    ] = "xlsx",
    org: Annotated[
        str | None, typer.Option("--org", help="Pre-fill with this organisation's latest answers.")
    ] = None,
    bank_version: BankOpt = None,
) -> None:
    """A file to fill in and send back: the Excel workbook has drop-downs and the level descriptors."""
    from ..maturity.answers_io import AnswerSet, write_answers, write_template_xlsx

    with user_errors():
        bank = load_bank(bank_version)
        answer_set = AnswerSet(
            bank_id=bank.id,
            bank_version=bank.version,
            organisation=org,
            assessed_on=dt.date.today(),
            answers=[],
        )
        if org:
            with session_scope() as session:
                o = svc.find_organisation(session, org)
                latest = svc.latest_complete(session, o) or svc.open_assessment(session, o)
                if latest is not None and latest.bank_version == bank.version:
                    answer_set = answer_set.model_copy(update={"answers": svc.answers_of(latest)})
        if fmt == "xlsx":
            write_template_xlsx(bank, out, answer_set)
        elif fmt in ("yaml", "json", "csv"):
            write_answers(answer_set, out, fmt)  # type: ignore[arg-type]
        else:
            fail("--format must be xlsx, yaml, json or csv")
    console.print(f"wrote {out}", highlight=False)


@app.command("import")
def import_cmd(
    path: Annotated[Path, typer.Argument(help="Answers file: xlsx, yaml, json or csv.")],
    org: Annotated[
        str | None, typer.Option("--org", help="Organisation (default: the one named in the file).")
    ] = None,
    partial: Annotated[
        bool, typer.Option("--partial", help="Accept an incomplete set (kept in progress).")
    ] = False,
    json_out: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Import an answers file as a new dated assessment. Nothing is stored if any answer is wrong."""
    from ..maturity.answers_io import read_answers

    with user_errors():
        answer_set = read_answers(path, require_complete=not partial)
    name = org or answer_set.organisation
    if not name:
        fail(f"{path}: the file names no organisation: pass --org NAME")
    with session_scope() as session:
        o = svc.get_or_create_organisation(session, name)
        a = svc.record_assessment(
            session,
            o,
            answer_set.answers,
            bank_version=answer_set.bank_version,
            assessed_on=answer_set.assessed_on or dt.date.today(),
            assessment_type=answer_set.assessment_type,
            source=path.name,
            require_complete=not partial,
        )
        result = svc.score_of(a)
        info = {"organisation": o.name, "assessment_id": a.id, "status": a.status, "answers": len(a.answers)}
    if json_out:
        print_json({**info, "score": result.model_dump()})
    else:
        console.print(
            f"imported {info['answers']} answers for [bold]{o.name}[/] as assessment {a.id} ({a.status})"
        )
        _print_score(result)


@app.command("export")
def export_cmd(
    org: OrgOpt,
    out: Annotated[Path, typer.Option("--out", help="File to write.")],
    fmt: Annotated[str, typer.Option("--format", help="yaml, json, csv or xlsx.")] = "yaml",
    assessment: Annotated[
        int | None, typer.Option("--assessment", help="Assessment id (default: latest).")
    ] = None,
) -> None:
    """Export an assessment's answers."""
    from ..maturity.answers_io import AnswerSet, write_answers, write_template_xlsx

    if fmt not in ("yaml", "json", "csv", "xlsx"):
        fail("--format must be yaml, json, csv or xlsx")
    with session_scope() as session:
        o = svc.find_organisation(session, org)
        a = (
            svc.get_assessment(session, assessment)
            if assessment
            else (svc.latest_complete(session, o) or svc.open_assessment(session, o))
        )
        if a is None or a.organisation_id != o.id:
            fail(f"{o.name} has no such assessment")
        answer_set = AnswerSet(
            bank_id=a.bank_id,
            bank_version=a.bank_version,
            organisation=o.name,
            assessed_on=a.assessed_on,
            assessment_type=a.assessment_type,  # type: ignore[arg-type]
            answers=svc.answers_of(a),
        )
        bank = svc.bank_of(a)
    with user_errors():
        if fmt == "xlsx":
            write_template_xlsx(bank, out, answer_set)
        else:
            write_answers(answer_set, out, fmt)  # type: ignore[arg-type]
    console.print(f"wrote {out}", highlight=False)


@app.command("run")
def run_cmd(
    org: OrgOpt,
    new: Annotated[bool, typer.Option("--new", help="Start a new assessment even if one is open.")] = False,
    date: Annotated[str | None, typer.Option(help="Assessment date YYYY-MM-DD (default: today).")] = None,
    assessment_type: Annotated[str, typer.Option("--type", help="self or third-party.")] = "self",
    bank_version: BankOpt = None,
) -> None:
    """Answer the questionnaire in the terminal. Each answer is saved at once: quit any time, resume later."""
    from ..maturity.interactive import run_questionnaire
    from ..maturity.scoring import Answer

    assessed_on = None
    if date:
        try:
            assessed_on = dt.date.fromisoformat(date)
        except ValueError:
            fail(f"--date must be YYYY-MM-DD, got {date!r}")
    with session_scope() as session:
        o = svc.get_or_create_organisation(session, org)
        a = None if new else svc.open_assessment(session, o)
        if a is None:
            a = svc.start_assessment(
                session,
                o,
                assessed_on=assessed_on,
                bank_version=bank_version,
                assessment_type=assessment_type,
            )
            console.print(f"new assessment {a.id} for [bold]{o.name}[/] ({a.assessed_on})")
        else:
            console.print(f"resuming assessment {a.id} for [bold]{o.name}[/] started {a.assessed_on}")
        session.commit()
        bank = svc.bank_of(a)
        existing = {ans.question_id: ans for ans in svc.answers_of(a)}

        def save(answer: Answer) -> None:
            svc.save_answer(session, a, answer)
            session.commit()  # every answer is durable at once

        outcome = run_questionnaire(bank, existing, save, console=console)
        if outcome.complete:
            result = svc.finish_assessment(session, a)
            console.print("[green]assessment complete[/]")
            _print_score(result)
        else:
            console.print(
                f"saved; {outcome.answered} answered. Resume with: medcyber assess run --org {o.name!r}"
            )


@app.command("score")
def score_cmd(
    org: OrgOpt,
    json_out: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Score the organisation's latest assessment (complete, or the open one)."""
    with session_scope() as session:
        o = svc.find_organisation(session, org)
        a = svc.latest_complete(session, o) or svc.open_assessment(session, o)
        if a is None:
            fail(f"{o.name} has no assessment yet")
        result = svc.score_of(a)
        meta = {
            "organisation": o.name,
            "assessment_id": a.id,
            "assessed_on": a.assessed_on.isoformat(),
            "status": a.status,
        }
    if json_out:
        print_json({**meta, **result.model_dump()})
    else:
        console.print(f"[bold]{o.name}[/] assessment {a.id} of {a.assessed_on} ({a.status})")
        _print_score(result)


@app.command("history")
def history_cmd(org: OrgOpt, json_out: Annotated[bool, typer.Option("--json")] = False) -> None:
    """The organisation's trend over its dated, complete assessments."""
    with session_scope() as session:
        o = svc.find_organisation(session, org)
        hist = svc.history(session, o)
    rows: list[dict[str, Any]] = [
        {"assessed_on": d.isoformat(), "composite": s.composite, **s.category_scores()} for d, s in hist
    ]
    if json_out:
        print_json({"organisation": org, "history": rows})
        return
    table = Table("date", "composite", "org. structure", "risk mgmt", "design control", "complaint handling")
    for r in rows:
        table.add_row(
            r["assessed_on"],
            *(
                f"{r[k]:.2f}" if r[k] is not None else "-"
                for k in (
                    "composite",
                    "organizational_structure",
                    "risk_management",
                    "design_control",
                    "complaint_handling",
                )
            ),
        )
    console.print(table)


def _print_score(result: AssessmentScore) -> None:
    table = Table("category", "score", "level", "answered", "N/A")
    for c in result.categories.values():
        table.add_row(
            c.name,
            "-" if c.score is None else f"{c.score:.2f}",
            c.level_name or "-",
            f"{c.answered}/{c.applicable}",
            str(c.not_applicable),
        )
    table.add_row(
        "[bold]composite[/]",
        "-" if result.composite is None else f"[bold]{result.composite:.2f}[/]",
        result.composite_level_name or "-",
        f"{result.answered}/{result.applicable}",
        "",
    )
    console.print(table)
    if result.minimum_category:
        console.print(
            f"lowest category: {result.categories[result.minimum_category].name} "
            f"({result.minimum_category_score:.2f})"
        )
