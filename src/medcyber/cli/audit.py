"""`medcyber audit`: verify, export and read the hash-chained audit trail."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.table import Table

from ..audit.chain import VerifyResult, canonical_json, verify_csv, verify_lines
from ..services import audit as svc
from .common import console, fail, print_json, session_scope, user_errors

app = typer.Typer(
    help="The audit trail: every change, hash-chained so that editing or deleting an event shows.",
    no_args_is_help=True,
)

EXIT_BROKEN = 1


def _report(result: VerifyResult, json_out: bool, what: str) -> None:
    if json_out:
        print_json(result.to_dict())
    elif result.ok:
        last = f", last event {result.last_seq} ({result.last_hash})" if result.last_seq else ""
        console.print(f"[green]{what} intact[/]: {result.events} event(s){last}", highlight=False)
    else:
        console.print(
            f"[bold red]{what} BROKEN[/] at event {result.first_broken_seq}: {result.reason}", highlight=False
        )
        for problem in result.problems[1:]:
            console.print(f"  also at {problem.seq}: {problem.kind}: {problem.detail}", highlight=False)
        if result.truncated_problems:
            console.print("  (more problems not listed)")
    if not result.ok:
        raise typer.Exit(EXIT_BROKEN)


@app.command("verify")
def verify(
    json_out: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
    file: Annotated[
        Path | None,
        typer.Option(
            "--file", help="Verify an export (.jsonl or .csv) offline instead of the store.", dir_okay=False
        ),
    ] = None,
) -> None:
    """Recompute the hash chain; exit 0 when intact, 1 when broken (naming the first broken event)."""
    if file is not None:
        with user_errors(), file.open(encoding="utf-8", newline="") as handle:
            result = verify_csv(handle) if file.suffix.lower() == ".csv" else verify_lines(handle)
        _report(result, json_out, f"export {file}")
        return
    with session_scope() as session:
        result = svc.verify(session)
    _report(result, json_out, "audit trail")


@app.command("export")
def export(
    out: Annotated[Path, typer.Option("--out", help="File to write.", dir_okay=False)],
    format: Annotated[
        str, typer.Option("--format", help="jsonl (one event a line) or csv.", case_sensitive=False)
    ] = "jsonl",
) -> None:
    """Export every event with its hashes, for an auditor to re-verify offline (`audit verify --file`)."""
    fmt = format.lower()
    if fmt not in ("jsonl", "csv"):
        fail(f"--format must be jsonl or csv (got {format!r})")
    chosen: Literal["jsonl", "csv"] = "csv" if fmt == "csv" else "jsonl"
    with session_scope() as session, out.open("w", encoding="utf-8", newline="") as handle:
        summary = svc.export(session, handle, format=chosen)
    last = f"; last event {summary.last_seq}, hash {summary.last_hash}" if summary.last_seq else ""
    console.print(f"{summary.events} event(s) written to {out}{last}", highlight=False)


@app.command("log")
def log(
    limit: Annotated[int, typer.Option("--limit", min=1, help="How many of the latest events.")] = 20,
    json_out: Annotated[bool, typer.Option("--json", help="Print the events as JSON.")] = False,
) -> None:
    """Show the latest events, newest first."""
    with session_scope() as session:
        events = [svc.to_chained(e) for e in svc.recent(session, limit)]
    if json_out:
        print_json({"events": [e.to_record() for e in events]})
        return
    if not events:
        console.print("no audit events recorded")
        return
    table = Table("seq", "when (UTC)", "actor", "action", "entity", "org", "change", "hash")
    for e in events:
        change = ", ".join(
            part
            for part in (
                f"before {canonical_json(e.before)}" if e.before is not None else "",
                f"after {canonical_json(e.after)}" if e.after is not None else "",
            )
            if part
        )
        table.add_row(
            str(e.seq),
            e.occurred_at.replace("T", " ").rstrip("Z"),
            e.actor,
            e.action,
            f"{e.entity_type} {e.entity_id}",
            "" if e.organisation_id is None else str(e.organisation_id),
            change if len(change) <= 80 else change[:77] + "...",
            e.hash[:12],
        )
    console.print(table)
