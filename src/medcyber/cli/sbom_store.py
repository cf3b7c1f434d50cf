"""`medcyber sbom import|list|export|diff`: SBOMs in the store, the enriched FDA export, version diffs.

Registered on the `sbom` sub-app of :mod:`medcyber.cli.sbom` (importing this module adds the commands).
"""

from __future__ import annotations

import datetime as dt
import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from ..services import products as svc
from .common import console, err_console, fail, print_json, session_scope, user_errors
from .product import parse_date
from .sbom import app
from .sbom_source import load_sbom_ref

if TYPE_CHECKING:
    from ..lifecycle.analysis import LifecycleReport
    from ..sbom.diff import SbomDiff
    from ..sbom.model import Sbom


class Kind(StrEnum):
    SOFTWARE = "software"
    FIRMWARE = "firmware"
    HARDWARE = "hardware"


class ExportFormat(StrEnum):
    CYCLONEDX = "cyclonedx"
    SPDX = "spdx"


ProductOption = Annotated[str, typer.Option("--product", help="Product name.")]
VersionOption = Annotated[str, typer.Option("--version", help="Product version.")]
OrgOption = Annotated[
    str | None, typer.Option("--org", help="Organisation owning the product (default: the only one).")
]


def _lifecycle(sbom: Sbom, as_of: dt.date) -> LifecycleReport | None:
    """The end-of-support analysis, or None (with a note) when it cannot run."""
    try:
        from ..lifecycle.analysis import analyse
    except ImportError:  # pragma: no cover - shipped with the package
        return None
    try:
        return analyse(sbom, as_of=as_of)
    except (OSError, ValueError) as exc:
        err_console.print(f"[yellow]note:[/] no lifecycle analysis ({exc}); exporting declared values only")
        return None


@app.command("import")
def sbom_import(
    file: Annotated[
        Path, typer.Argument(help="SBOM file (CycloneDX or SPDX; format detected from content).")
    ],
    product: ProductOption,
    version: VersionOption,
    org: OrgOption = None,
    kind: Annotated[Kind, typer.Option("--kind", help="What the SBOM covers.")] = Kind.SOFTWARE,
    lenient: Annotated[
        bool,
        typer.Option(
            "--lenient", help="Store what can be read of an invalid SBOM and list what was dropped."
        ),
    ] = False,
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Import an SBOM for a product version (both created when missing). One transaction: on any error
    nothing is stored."""
    if not file.is_file():
        fail(f"{file}: no such file")
    with session_scope() as session:
        rec = svc.import_sbom(
            session,
            product,
            version,
            file,
            name=file.name,
            lenient=lenient,
            kind=kind.value,
            organisation=org,
        )
        pv = rec.product_version
        summary: dict[str, Any] = {
            "sbom_id": rec.id,
            "file": str(file),
            "product": pv.product.name,
            "organisation": pv.product.organisation.name,
            "version": pv.version,
            "kind": rec.kind,
            "format": rec.format,
            "spec_version": rec.spec_version,
            "encoding": rec.encoding,
            "valid": rec.valid,
            "components": rec.component_count,
            "sha256": rec.sha256,
            "errors": rec.errors,
            "dropped": rec.dropped,
        }
    if json_out:
        print_json(summary)
        return
    fmt = "CycloneDX" if summary["format"] == "cyclonedx" else "SPDX"
    console.print(
        f"imported [bold]{escape(str(file))}[/] as SBOM #{summary['sbom_id']} of "
        f"[bold]{escape(summary['product'])} {escape(summary['version'])}[/] ({summary['kind']}): "
        f"{fmt} {summary['spec_version']} {summary['encoding']}, {summary['components']} components"
    )
    if not summary["valid"]:
        console.print(f"[yellow]stored leniently:[/] {len(summary['errors'])} schema error(s)")
        for line in summary["errors"][:20]:
            console.print(f"  {escape(line)}", highlight=False)
    if summary["dropped"]:
        console.print(f"[yellow]dropped {len(summary['dropped'])} item(s):[/]")
        for line in summary["dropped"][:20]:
            console.print(f"  {escape(line)}", highlight=False)


@app.command("list")
def sbom_list(
    product: Annotated[str | None, typer.Option("--product", help="Only this product's SBOMs.")] = None,
    org: OrgOption = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List the SBOMs in the store."""
    with session_scope() as session:
        rows: list[dict[str, Any]] = [
            {
                "id": r.id,
                "product": r.product_version.product.name,
                "version": r.product_version.version,
                "kind": r.kind,
                "format": r.format,
                "spec_version": r.spec_version,
                "encoding": r.encoding,
                "file_name": r.file_name,
                "components": r.component_count,
                "valid": r.valid,
                "sha256": r.sha256,
                "imported_at": r.imported_at.isoformat(timespec="seconds"),
            }
            for r in svc.list_sboms(session, product=product, organisation=org)
        ]
    if json_out:
        print_json({"sboms": rows})
        return
    if not rows:
        console.print("no SBOMs stored yet: `medcyber sbom import FILE --product NAME --version V`")
        return
    table = Table("id", "product", "version", "kind", "format", "components", "valid", "file", "imported")
    for r in rows:
        table.add_row(
            str(r["id"]),
            escape(r["product"]),
            escape(r["version"]),
            r["kind"],
            f"{r['format']} {r['spec_version']} {r['encoding']}",
            str(r["components"]),
            "yes" if r["valid"] else "[yellow]no (lenient)[/]",
            escape(r["file_name"] or "-"),
            r["imported_at"],
        )
    console.print(table)


@app.command("export")
def sbom_export(
    product: ProductOption,
    version: VersionOption,
    out: Annotated[Path, typer.Option("--out", help="File to write ('-' for standard output).")],
    fmt: Annotated[
        ExportFormat, typer.Option("--format", help="cyclonedx or spdx.")
    ] = ExportFormat.CYCLONEDX,
    spec: Annotated[
        str | None, typer.Option("--spec", help="Spec version: CycloneDX 1.4-1.6 (1.6), SPDX 2.2/2.3 (2.3).")
    ] = None,
    org: OrgOption = None,
    kind: Annotated[Kind | None, typer.Option("--kind", help="Only the SBOM of this kind.")] = None,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Date the support status is given for (default today).")
    ] = None,
    no_lifecycle: Annotated[
        bool,
        typer.Option("--no-lifecycle", help="Export declared support only (no endoflife.date analysis)."),
    ] = False,
) -> None:
    """Export a product version's SBOM enriched with level of support and end-of-support per component
    (valid CycloneDX or SPDX JSON: the FDA deliverable)."""
    from ..sbom.export import ExportError, to_cyclonedx_json, to_spdx_json

    on = parse_date(as_of, "--as-of") or dt.date.today()
    with session_scope() as session:
        sbom = svc.version_sbom(
            session, product, version, organisation=org, kind=kind.value if kind else None
        )
    lifecycle = None if no_lifecycle else _lifecycle(sbom, on)
    with user_errors():
        try:
            if fmt is ExportFormat.CYCLONEDX:
                data = to_cyclonedx_json(sbom, lifecycle, spec=spec or "1.6")
            else:
                data = to_spdx_json(sbom, lifecycle, spec=spec or "2.3")
        except ExportError as exc:
            fail(str(exc))
        if str(out) == "-":
            sys.stdout.buffer.write(data + b"\n")
            sys.stdout.flush()
            return
        out.write_bytes(data)
    default_spec = "1.6" if fmt is ExportFormat.CYCLONEDX else "2.3"
    enriched = "with end-of-support analysis" if lifecycle is not None else "declared support only"
    legacy = f", {len(lifecycle.legacy)} past end of support on {on}" if lifecycle is not None else ""
    console.print(
        f"wrote [bold]{escape(str(out))}[/]: {fmt.value} {spec or default_spec}, "
        f"{len(sbom.components)} components ({enriched}{legacy})"
    )


@app.command("diff")
def sbom_diff(
    old: Annotated[str, typer.Argument(help="Older SBOM: a file or PRODUCT@VERSION in the store.")],
    new: Annotated[str, typer.Argument(help="Newer SBOM: a file or PRODUCT@VERSION in the store.")],
    org: OrgOption = None,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Date for the support status (default today).")
    ] = None,
    no_lifecycle: Annotated[
        bool,
        typer.Option("--no-lifecycle", help="Compare declared support only (no endoflife.date analysis)."),
    ] = False,
    lenient: Annotated[bool, typer.Option("--lenient", help="Compare invalid SBOM files too.")] = False,
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """What changed between two SBOMs: components added, removed, upgraded, downgraded, support changes."""
    from ..sbom.diff import diff

    on = parse_date(as_of, "--as-of") or dt.date.today()
    with user_errors():
        old_sbom, old_label = load_sbom_ref(old, lenient=lenient, org=org)
        new_sbom, new_label = load_sbom_ref(new, lenient=lenient, org=org)
        old_lc = None if no_lifecycle else _lifecycle(old_sbom, on)
        new_lc = None if no_lifecycle else _lifecycle(new_sbom, on)
        result = diff(old_sbom, new_sbom, old_lifecycle=old_lc, new_lifecycle=new_lc)
    if json_out:
        data = result.to_json_dict()
        data.update(
            {"old": old_label, "new": new_label, "as_of": on.isoformat() if not no_lifecycle else None}
        )
        print_json(data)
        return
    _print_diff(result, old_label, new_label)


def _print_diff(result: SbomDiff, old_label: str, new_label: str) -> None:
    s = result.summary
    console.print(
        f"[bold]{escape(old_label)}[/] -> [bold]{escape(new_label)}[/]: "
        f"{s['added']} added, {s['removed']} removed, "
        f"{s['upgraded']} upgraded, {s['downgraded']} downgraded, {s['changed']} changed, "
        f"{s['unchanged']} unchanged; {s['support_changes']} support change(s)"
    )
    changes = result.added + result.removed + result.upgraded + result.downgraded + result.changed
    changes += [c for c in result.unchanged if c.details]
    if changes:
        table = Table("change", "component", "old", "new", "notes")
        for column in table.columns[1:]:
            column.overflow = "fold"
        for c in sorted(changes, key=lambda c: (c.change, c.name.lower())):
            table.add_row(
                c.change,
                escape(c.name),
                escape(c.old_version or "-"),
                escape(c.new_version or "-"),
                escape("; ".join(c.details)),
            )
        console.print(table)
    if result.support_changes:
        table = Table("component", "old", "new", "support change", title="support changes")
        for column in table.columns:
            column.overflow = "fold"
        for sc in result.support_changes:
            table.add_row(
                escape(sc.name), escape(sc.old_version or "-"), escape(sc.new_version or "-"), escape(sc.what)
            )
        console.print(table)
