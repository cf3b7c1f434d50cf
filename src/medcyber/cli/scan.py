"""`medcyber scan SBOM`: the known vulnerabilities of an SBOM's components, from the local store.

Exit codes: 0 no finding at or above --fail-on (or no --fail-on); 1 findings at or above --fail-on (for
``kev``: any finding in CISA KEV), or the SBOM cannot be read, or the store holds no advisories; 2 usage;
3 the store cannot be opened or read. Conditional findings (a "running on" platform the SBOM does not
list) are reported but do not count for --fail-on.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from sqlalchemy.exc import SQLAlchemyError

from .common import EXIT_STORE_ERROR, err_console, fail, open_store, state, user_errors


class OutputFormat(StrEnum):
    table = "table"
    json = "json"
    sarif = "sarif"
    html = "html"


class FailOn(StrEnum):
    critical = "critical"
    high = "high"
    medium = "medium"
    low = "low"
    kev = "kev"


def _as_of(text: str | None) -> dt.date:
    if text is None:
        return dt.date.today()
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"'{text}' is not a date (YYYY-MM-DD)", param_hint="--as-of") from None


def scan(
    sbom: Annotated[Path, typer.Argument(help="The SBOM file (CycloneDX or SPDX).", show_default=False)],
    fmt: Annotated[OutputFormat, typer.Option("--format", "-f", help="Output format.")] = OutputFormat.table,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Write the output to this file.")] = None,
    fail_on: Annotated[
        FailOn | None,
        typer.Option("--fail-on", help="Exit 1 when a finding is at or above this severity (kev: in KEV)."),
    ] = None,
    database: Annotated[
        str | None, typer.Option("--database", help="Database URL (default: the configured store).")
    ] = None,
    lenient: Annotated[bool, typer.Option("--lenient", help="Scan an SBOM that fails validation.")] = False,
    cpe_from_names: Annotated[
        bool,
        typer.Option(
            "--cpe-from-names",
            help="Build CPEs from component names for components without one (more false positives).",
        ),
    ] = False,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Date for the end-of-support status (default today).")
    ] = None,
) -> None:
    """Scan an SBOM against the local vulnerability store (OSV by purl, NVD by CPE, KEV, EPSS)."""
    from ..sbom.reader import read_sbom
    from ..vulns import formats
    from ..vulns.matcher import load_index, scan_sbom

    day = _as_of(as_of)
    if database:
        state.database_url = database
    with user_errors():
        if not sbom.is_file():
            fail(f"{sbom}: no such file")
        rr = read_sbom(sbom, lenient=lenient)
        if rr.sbom is None or (not rr.valid and not lenient):
            problems = "\n".join(f"  {escape(str(i))}" for i in rr.errors[:10])
            more = f"\n  ... {len(rr.errors) - 10} more" if len(rr.errors) > 10 else ""
            hint = "" if lenient else " (use --lenient to scan what can be read)"
            fail(f"{sbom} is not a valid SBOM{hint}:\n{problems}{more}")
    store = open_store()
    try:
        with store.session() as session:
            index = load_index(session)
    except SQLAlchemyError as exc:
        fail(f"cannot read the vulnerability store ({exc.__class__.__name__})", EXIT_STORE_ERROR)
    finally:
        store.dispose()
    if index.stats()["advisories"] + index.withdrawn == 0:
        fail(
            f"no advisories in the store at {store.safe_url}: run `medcyber vulns import osv|nvd PATH` "
            "or `medcyber vulns sync`"
        )
    assert rr.sbom is not None
    result = scan_sbom(rr.sbom, index, as_of=day, name=str(sbom), cpe_from_names=cpe_from_names)

    if fmt == OutputFormat.table:
        if out is not None:
            with out.open("w", encoding="utf-8") as fh:
                formats.print_table(result, Console(file=fh, width=160, color_system=None))
        else:
            formats.print_table(result, Console())
    else:
        if fmt == OutputFormat.json:
            text = json.dumps(formats.to_json(result), indent=2)
        elif fmt == OutputFormat.sarif:
            text = json.dumps(formats.to_sarif(result, sbom.as_posix()), indent=2)
        else:
            text = formats.to_html(result)
        if out is not None:
            out.write_text(text + "\n", encoding="utf-8")
        else:
            sys.stdout.write(text + "\n")
    if out is not None:
        err_console.print(f"wrote {out}", highlight=False)
    if fail_on is not None:
        hits = result.at_or_above(fail_on.value)
        if hits:
            what = "in CISA KEV" if fail_on == FailOn.kev else f"at or above {fail_on.value}"
            err_console.print(f"{len(hits)} finding(s) {what}", highlight=False)
            raise typer.Exit(1)
