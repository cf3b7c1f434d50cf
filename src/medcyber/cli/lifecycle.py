"""`medcyber lifecycle`: end-of-support (legacy) analysis of an SBOM with the endoflife.date data.

Exit codes of `check`: 0 done; 1 the SBOM cannot be read, or --fail-on-eos and components are past end
of support; 2 usage. `update`: 0 the data file was rewritten; 1 it could not be.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from .common import user_errors

if TYPE_CHECKING:
    from ..lifecycle.analysis import ComponentLifecycle, LifecycleReport

app = typer.Typer(help="End-of-support (legacy) analysis with the endoflife.date data.", no_args_is_help=True)

console = Console()
err_console = Console(stderr=True)

STATUS_STYLE = {"supported": "green", "end-of-support": "bold red", "unknown": "yellow"}


def _fail(message: str, code: int = 1) -> None:
    err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def _parse_date(text: str | None) -> dt.date:
    if text is None:
        return dt.date.today()
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"'{text}' is not a date (YYYY-MM-DD)", param_hint="--as-of") from None


def _source(c: ComponentLifecycle) -> dict[str, Any]:
    return {"kind": c.source, "product": c.product, "cycle": c.cycle, "match": c.match}


def report_json(report: LifecycleReport, file: str) -> dict[str, Any]:
    """The JSON of `check --json` (one object per file)."""

    def row(c: ComponentLifecycle) -> dict[str, Any]:
        declared = None
        if c.declared is not None:
            declared = {
                "level_text": c.declared.level_text,
                "level": c.declared.level,
                "end_of_support_text": c.declared.end_of_support_text,
                "end_of_support": c.declared.end_of_support.isoformat()
                if c.declared.end_of_support
                else None,
                "eos_rule": c.declared.eos_rule,
            }
        return {
            "ref": c.ref,
            "name": c.name,
            "version": c.version,
            "purl": c.purl,
            "type": c.type,
            "support_status": c.support_status,
            "eol": c.eol.isoformat() if c.eol else None,
            "support_level": c.support_level,
            "source": _source(c),
            "declared": declared,
            "derived_eol": c.derived_eol.isoformat() if c.derived_eol else None,
            "derived_eol_flag": c.derived_eol_flag,
            "derived_level": c.derived_level,
            "disagreement": c.disagreement,
            "reason": c.reason,
        }

    return {
        "file": file,
        "as_of": report.as_of.isoformat(),
        "horizon": (
            {"date": report.horizon.isoformat(), "refs": report.horizon_refs} if report.horizon else None
        ),
        "legacy": [row(c) for c in report.legacy],
        "components": [row(c) for c in report.components],
        "counts": report.counts,
        "data": report.catalog,
    }


def _print_table(report: LifecycleReport, file: str) -> None:
    table = Table(title=f"{escape(file)}: support on {report.as_of}", title_justify="left", expand=False)
    for col in ("component", "version", "status", "end of support", "source", "note"):
        table.add_column(col, overflow="fold")
    order = {"end-of-support": 0, "unknown": 1, "supported": 2}
    for c in sorted(report.components, key=lambda c: (order[c.support_status], c.eol or dt.date.max, c.name)):
        style = STATUS_STYLE[c.support_status]
        src: str = c.source
        if c.product:
            src += f" ({c.product} {c.cycle or '?'} by {c.match})"
        eol = (
            c.eol.isoformat()
            if c.eol
            else ("yes, no date" if c.derived_eol_flag and c.source != "declared" else "")
        )
        if not eol and c.declared is not None and c.declared.end_of_support_text:
            eol = f"'{c.declared.end_of_support_text}'"
        note = c.disagreement or (c.reason if c.support_status == "unknown" else "") or ""
        table.add_row(
            escape(c.name),
            escape(c.version or ""),
            f"[{style}]{c.support_status}[/]",
            escape(eol),
            escape(src),
            f"[magenta]{escape(note)}[/]" if c.disagreement else escape(note),
        )
    console.print(table)
    counts = report.counts
    console.print(
        f"{counts['total']} components: [green]{counts['supported']} supported[/], "
        f"[bold red]{counts['end-of-support']} past end of support (legacy)[/], "
        f"[yellow]{counts['unknown']} unknown[/]; {counts['matched']} matched to endoflife.date, "
        f"{counts['disagreements']} disagreement(s) between declared and derived"
    )
    if report.horizon is not None:
        names = {c.ref: c for c in report.components}
        who = ", ".join(
            escape(f"{names[r].name} {names[r].version or ''}".strip()) for r in report.horizon_refs[:5]
        )
        console.print(f"supportability horizon: [bold]{report.horizon}[/] ({who})")
    else:
        console.print("supportability horizon: none (no upcoming end-of-support date is known)")
    if report.catalog:
        console.print(f"[dim]{escape(report.catalog)}[/]")


@app.command("check")
def check(
    sbom: Annotated[
        str, typer.Argument(help="SBOM file (CycloneDX or SPDX) or PRODUCT@VERSION from the store.")
    ],
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Date to assess support on (YYYY-MM-DD; default today).")
    ] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
    fail_on_eos: Annotated[
        bool, typer.Option("--fail-on-eos", help="Exit 1 when any component is past end of support.")
    ] = False,
    chart: Annotated[
        Path | None, typer.Option("--chart", help="Write the support timeline to FILE.svg or FILE.html.")
    ] = None,
    lenient: Annotated[
        bool, typer.Option("--lenient", help="Analyse what can be read of a schema-invalid SBOM.")
    ] = False,
    org: Annotated[
        str | None, typer.Option("--org", help="Organisation owning PRODUCT (default: the only one).")
    ] = None,
) -> None:
    """Map each component to an endoflife.date product and cycle, and report what is past end of support."""
    day = _parse_date(as_of)
    if chart is not None and chart.suffix.lower() not in (".svg", ".html", ".htm"):
        raise typer.BadParameter("the chart is written as .svg or .html", param_hint="--chart")
    from ..lifecycle.analysis import analyse
    from ..lifecycle.catalog import CatalogError
    from .sbom_source import load_sbom_ref

    with user_errors():
        loaded, label = load_sbom_ref(sbom, lenient=lenient, org=org)
    try:
        report = analyse(loaded, as_of=day)
    except CatalogError as exc:
        _fail(str(exc))
    if chart is not None:
        from ..lifecycle.chart import write_timeline

        try:
            write_timeline(report, chart, title=f"Support timeline of {Path(label).name} (as of {day})")
        except OSError as exc:
            _fail(f"cannot write {chart}: {exc.strerror or exc}")
    if json_out:
        sys.stdout.write(json.dumps(report_json(report, label), indent=2, default=str) + "\n")
    else:
        _print_table(report, label)
        if chart is not None:
            console.print(f"timeline written to {escape(str(chart))}")
    if fail_on_eos and report.legacy:
        raise typer.Exit(1)


@app.command("update")
def update(
    from_dir: Annotated[
        Path | None,
        typer.Option(
            "--from", help="A directory of endoflife.date product files (the repository's products/)."
        ),
    ] = None,
    url: Annotated[
        str | None, typer.Option("--url", help="Download from this endoflife.date API URL instead.")
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write here instead of the shipped data file.")
    ] = None,
    timeout: Annotated[float, typer.Option(help="Download timeout in seconds.")] = 30.0,
) -> None:
    """Rebuild the endoflife.date data file from product files, or download it (needs network)."""
    from ..lifecycle import catalog as cat

    if from_dir is not None and url is not None:
        raise typer.BadParameter("give --from or --url, not both")
    target = output or cat.DEFAULT_PATH
    try:
        if from_dir is not None:
            document = cat.compile_products(from_dir)
        else:
            document = cat.download(url or cat.DEFAULT_URL, timeout=timeout)
        cat.write_catalog(document, target)
    except cat.CatalogError as exc:
        _fail(str(exc))
    except OSError as exc:
        _fail(f"cannot write {target}: {exc.strerror or exc}")
    if output is None:
        cat.clear_cache()
    meta = document["meta"]
    skipped = meta.get("skipped") or []
    console.print(
        f"wrote {escape(str(target))}: {meta['products']} products, {meta['releases']} release cycles"
        + (f" ({len(skipped)} file(s) skipped)" if skipped else "")
    )
    for line in skipped[:10]:
        err_console.print(f"  skipped {escape(line)}")
