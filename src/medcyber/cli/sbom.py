"""`medcyber sbom`: check SBOMs (validity and FDA/NTIA/CISA quality); import, export and diff are added to
this same sub-app by their own module.

Exit codes of `check`: 0 every file is valid (and scores at least --fail-under); 1 any file is invalid or
unreadable -- also with --lenient, which only changes how much of an invalid file is read and scored, since
a CI pipeline must fail on an invalid SBOM -- or any score is below --fail-under; 2 usage (bad option, a
path that does not exist).
"""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

if TYPE_CHECKING:
    from ..sbom.quality import FileCheck, QualityReport

app = typer.Typer(help="SBOMs: check, import, export, diff.", no_args_is_help=True, add_completion=False)


@app.callback()
def _group() -> None:
    """SBOMs: check, import, export, diff."""
    # An explicit callback keeps `sbom` a command group even when `check` is its only command.


ERRORS_SHOWN = 20  # per file, in table output
GAPS_SHOWN = 5  # per file, in table output of several files without --components
PROGRESS_FROM = 4  # files: show a progress bar on stderr from this many on


class OutputFormat(StrEnum):
    TABLE = "table"
    JSON = "json"
    HTML = "html"


def _check_files(paths: list[Path], *, lenient: bool, max_bytes: int | None) -> list[FileCheck]:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from ..sbom.model import SbomError
    from ..sbom.quality import FileCheck, check_read_result
    from ..sbom.reader import Limits, iter_sbom_files, read_sbom

    limits = Limits() if max_bytes is None else Limits(max_bytes=max_bytes)
    files = list(iter_sbom_files(paths))
    results: list[FileCheck] = []

    def one(path: Path) -> FileCheck:
        name = str(path)
        try:
            result = read_sbom(path, name=name, lenient=lenient, limits=limits)
        except SbomError as exc:
            return FileCheck.unreadable(name, str(exc).removeprefix(f"{name}: "))
        except OSError as exc:
            return FileCheck.unreadable(name, f"cannot read the file: {exc.strerror or exc}")
        except Exception as exc:  # noqa: BLE001 - no traceback ever reaches the user; the file is reported
            return FileCheck.unreadable(name, f"the reader failed: {exc.__class__.__name__}: {exc}")
        return check_read_result(result, file=name)

    if len(files) < PROGRESS_FROM:
        return [one(p) for p in files]
    err = Console(stderr=True)
    with Progress(
        TextColumn("checking"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.description}"),
        console=err,
        transient=True,
    ) as progress:
        task = progress.add_task("", total=len(files))
        for path in files:
            progress.update(task, description=escape(path.name))
            results.append(one(path))
            progress.advance(task)
    return results


_SHORT_HEADERS = {"identifier": "identifier", "dependencies": "in graph", "end_of_support": "end of support"}
_SHORT_FLAGS = {"no-date": "no date", "declared-unknown": "unknown", "unrecognised": "not an FDA level"}


def _mark(ok: bool) -> str:
    return "[green]yes[/]" if ok else "[red]no[/]"


def _fmt_score(q: QualityReport | None) -> str:
    return "-" if q is None else f"{q.score:.1f}"


def _format_label(fc: FileCheck) -> str:
    if not fc.format:
        return "-"
    return " ".join(x for x in (fc.format, fc.spec_version, fc.encoding) if x)


def _print_summary(console: Console, checks: list[FileCheck]) -> None:
    table = Table(title="SBOM check", title_justify="left")
    table.add_column("file", overflow="fold")
    table.add_column("valid")
    table.add_column("format")
    table.add_column("components", justify="right")
    table.add_column("errors", justify="right")
    table.add_column("score", justify="right")
    for fc in checks:
        table.add_row(
            escape(fc.file),
            _mark(fc.valid),
            _format_label(fc),
            "-" if fc.components is None else str(fc.components),
            str(len(fc.errors)),
            _fmt_score(fc.quality),
        )
    console.print(table)
    invalid = sum(not fc.valid for fc in checks)
    console.print(f"{len(checks)} file(s), {len(checks) - invalid} valid, {invalid} invalid")


def _print_listing(console: Console, title: str, lines: list[str]) -> None:
    console.print(f"  [bold]{title}[/] ({len(lines)}):")
    for line in lines[:ERRORS_SHOWN]:
        console.print(f"    {escape(line)}", soft_wrap=True, highlight=False)
    if len(lines) > ERRORS_SHOWN:
        console.print(f"    ... and {len(lines) - ERRORS_SHOWN} more")


def _print_file(console: Console, fc: FileCheck, *, detail: bool) -> None:
    from ..sbom.quality import COMPONENT_ELEMENTS, ELEMENT_BY_ID, ELEMENTS

    state = "[green]valid[/]" if fc.valid else "[red]invalid[/]"
    console.print()
    console.rule(f"[bold]{escape(fc.file)}[/]", align="left")
    count = "" if fc.components is None else f", {fc.components} component(s)"
    console.print(f"  {state}, {_format_label(fc)}{count}", highlight=False)
    if fc.errors:
        _print_listing(
            console, "errors", [f"{e.path}: {e.message}" if e.path else e.message for e in fc.errors]
        )
    if fc.warnings:
        _print_listing(
            console, "warnings", [f"{w.path}: {w.message}" if w.path else w.message for w in fc.warnings]
        )
    if fc.dropped:
        _print_listing(console, "dropped (lenient read)", fc.dropped)
    q = fc.quality
    if q is None:
        console.print("  no quality report: no SBOM could be read from the file (see the errors)")
        return
    groups = ", ".join(f"{g.upper()} {v:.1f}%" for g, v in q.groups.items())
    console.print(f"  [bold]quality score {q.score:.1f}[/] / 100  ({groups})", highlight=False)
    if q.gaps:
        shown = q.gaps if detail else q.gaps[:GAPS_SHOWN]
        console.print("  [bold]gaps:[/]")
        for gap in shown:
            console.print(f"    - {escape(gap)}", soft_wrap=True, highlight=False)
        if len(q.gaps) > len(shown):
            console.print(
                f"    ... and {len(q.gaps) - len(shown)} more (--components or --format json for all)"
            )
    if not detail:
        return
    cov = Table(title="elements", title_justify="left")
    for col in ("element", "group", "level", "met", "coverage", "points", "value / note"):
        cov.add_column(col, justify="right" if col in ("met", "coverage", "points") else "left")
    for e in ELEMENTS:
        c = q.elements[e.id]
        if e.level == "document":
            d = q.document[e.id]
            note = " - ".join(x for x in (d.value, d.note) if x)
        else:
            note = ", ".join(f"{k} x{n}" for k, n in c.flagged.items())
        cov.add_row(
            e.label,
            e.group.upper(),
            e.level,
            f"{c.met}/{c.total}",
            f"{c.coverage:.1f}%",
            f"{c.points:.2f}/{c.weight:.2f}",
            escape(note),
        )
    console.print(cov)
    if not q.components:
        return
    comp = Table(title="components", title_justify="left", show_lines=False)
    comp.add_column("component", overflow="fold")
    comp.add_column("version", overflow="fold")
    for element_id in COMPONENT_ELEMENTS:
        if element_id in ("name", "version"):
            continue
        comp.add_column(_SHORT_HEADERS.get(element_id, ELEMENT_BY_ID[element_id].label), overflow="fold")
    for cq in q.components:
        row = [escape(cq.name or "-"), escape(cq.version or "") or "[red]-[/]"]
        for element_id in COMPONENT_ELEMENTS:
            if element_id in ("name", "version"):
                continue
            ch = cq.checks[element_id]
            if element_id in ("supplier", "support_level", "end_of_support"):
                # the author's words verbatim, qualified where they carry no date or say unknown
                text = escape(ch.value) if ch.value else ""
                short = _SHORT_FLAGS.get(ch.flag or "", ch.flag)
                if short and short.lower() != (ch.value or "").strip().lower():
                    text = f"{text} [yellow]({short})[/]"
                row.append(text if ch.ok else "[red]missing[/]")
            else:
                row.append(("[green]yes[/]" if not ch.flag else "[yellow]yes*[/]") if ch.ok else "[red]no[/]")
        comp.add_row(*row)
    console.print(comp)


def _write(text: str, out: Path | None) -> None:
    if out is None:
        sys.stdout.write(text)
        return
    try:
        out.write_text(text, encoding="utf-8")
    except OSError as exc:
        Console(stderr=True).print(f"[bold red]error:[/] cannot write {out}: {exc.strerror or exc}")
        raise typer.Exit(1) from None


CHECK_HELP = (
    "Validate SBOMs (CycloneDX, SPDX) and report their FDA / NTIA / CISA quality.\n\n"
    "Per file: valid?, format, errors with their paths, the component count, a quality score (0-100: NTIA "
    "minimum elements 60, FDA support 25, CISA newer elements 15) and the gaps in plain words. "
    "Exit 1 when any file is invalid or scores below --fail-under, 2 on a usage error."
)


@app.command("check", help=CHECK_HELP)
def check(
    paths: Annotated[
        list[Path],
        typer.Argument(
            help="SBOM files and directories (searched recursively).", exists=True, show_default=False
        ),
    ],
    fmt: Annotated[OutputFormat, typer.Option("--format", "-f", help="Output format.")] = OutputFormat.TABLE,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write the report to this file instead of stdout.")
    ] = None,
    fail_under: Annotated[
        float | None,
        typer.Option(
            "--fail-under", min=0, max=100, help="Exit 1 when any file's quality score is below this."
        ),
    ] = None,
    lenient: Annotated[
        bool,
        typer.Option(
            "--lenient",
            help="Read and score what can be read of invalid files (listing what was dropped). Invalid files "
            "still make the exit code 1.",
        ),
    ] = False,
    max_bytes: Annotated[
        int | None,
        typer.Option("--max-bytes", min=1, help="Refuse files larger than this (default 200 MiB)."),
    ] = None,
    components: Annotated[
        bool,
        typer.Option("--components", help="Show the element and per-component tables for every file."),
    ] = False,
) -> None:
    """Check SBOM files (see CHECK_HELP)."""
    checks = _check_files(paths, lenient=lenient, max_bytes=max_bytes)
    if not checks:
        Console(stderr=True).print("[bold red]error:[/] no SBOM files found in the given paths")
        raise typer.Exit(2)

    if fmt is OutputFormat.JSON:
        data = [fc.model_dump(mode="json") for fc in checks]
        _write(json.dumps(data, indent=2, ensure_ascii=False) + "\n", out)
    elif fmt is OutputFormat.HTML:
        from ..sbom.quality import render_check_html

        _write(render_check_html(checks), out)
        if out is not None:
            Console(stderr=True).print(f"report written to {out}")
    else:
        detail = components or len(checks) == 1
        if out is None:
            console = Console()
            _print_summary(console, checks)
            for fc in checks:
                _print_file(console, fc, detail=detail)
        else:
            with out.open("w", encoding="utf-8") as fh:
                console = Console(file=fh, width=160, no_color=True, color_system=None)
                _print_summary(console, checks)
                for fc in checks:
                    _print_file(console, fc, detail=detail)

    failed = any(not fc.valid for fc in checks)
    if fail_under is not None:
        failed = failed or any(fc.quality is None or fc.quality.score < fail_under for fc in checks)
    if failed:
        raise typer.Exit(1)
