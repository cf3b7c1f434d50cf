"""`medcyber product`: a manufacturer's device models and their released versions."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import typer
from rich.table import Table

from ..services import products as svc
from .common import console, fail, print_json, session_scope

app = typer.Typer(
    help="Products (device models) and their versions, each with its SBOMs.", no_args_is_help=True
)

OrgOption = Annotated[
    str | None,
    typer.Option("--org", help="Organisation owning the product (default: the only one in the store)."),
]


def parse_date(value: str | None, option: str) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        fail(f"{option} must be a date like 2026-01-31, not {value!r}")


@app.command("add")
def product_add(
    name: Annotated[str, typer.Argument(help="Product name, e.g. 'Infusion pump X200'.")],
    org: OrgOption = None,
    description: Annotated[str | None, typer.Option(help="What the device is.")] = None,
    device_class: Annotated[
        str | None, typer.Option("--device-class", help="Regulatory class: I, II, III.")
    ] = None,
) -> None:
    """Add a product."""
    with session_scope() as session:
        product = svc.create_product(
            session, name, organisation=org, description=description, device_class=device_class
        )
        console.print(f"product [bold]{product.name}[/] added to organisation {product.organisation.name}")


@app.command("add-version")
def product_add_version(
    name: Annotated[str, typer.Argument(help="Product name.")],
    version: Annotated[str, typer.Argument(help="Version string, e.g. 2.1.0.")],
    org: OrgOption = None,
    released: Annotated[str | None, typer.Option(help="Release date (YYYY-MM-DD).")] = None,
    end_of_support: Annotated[
        str | None, typer.Option("--end-of-support", help="When the manufacturer stops supporting it.")
    ] = None,
) -> None:
    """Add a version to a product, or set its dates."""
    released_on = parse_date(released, "--released")
    eos = parse_date(end_of_support, "--end-of-support")
    with session_scope() as session:
        product = svc.find_product(session, name, organisation=org)
        pv = svc.get_or_create_version(session, product, version, released_on=released_on, end_of_support=eos)
        console.print(f"[bold]{product.name} {pv.version}[/] saved")


@app.command("list")
def product_list(
    org: Annotated[str | None, typer.Option("--org", help="Only this organisation's products.")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List products."""
    with session_scope() as session:
        rows: list[dict[str, Any]] = [
            {
                "name": p.name,
                "organisation": p.organisation.name,
                "description": p.description,
                "device_class": p.device_class,
                "versions": [v.version for v in p.versions],
            }
            for p in svc.list_products(session, organisation=org)
        ]
    if json_out:
        print_json({"products": rows})
        return
    if not rows:
        console.print("no products yet: `medcyber product add NAME` or `medcyber sbom import`")
        return
    table = Table("product", "organisation", "class", "versions", "description")
    for r in rows:
        table.add_row(
            r["name"],
            r["organisation"],
            r["device_class"] or "-",
            ", ".join(r["versions"]) or "-",
            r["description"] or "",
        )
    console.print(table)


@app.command("versions")
def product_versions(
    name: Annotated[str, typer.Argument(help="Product name.")],
    org: OrgOption = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List a product's versions and their SBOMs."""
    with session_scope() as session:
        product = svc.find_product(session, name, organisation=org)
        rows: list[dict[str, Any]] = [
            {
                "version": v.version,
                "released_on": v.released_on.isoformat() if v.released_on else None,
                "end_of_support": v.end_of_support.isoformat() if v.end_of_support else None,
                "sboms": [
                    {
                        "id": s.id,
                        "kind": s.kind,
                        "format": s.format,
                        "spec_version": s.spec_version,
                        "file_name": s.file_name,
                        "components": s.component_count,
                        "valid": s.valid,
                    }
                    for s in v.sboms
                ],
            }
            for v in svc.list_versions(session, product)
        ]
        title = f"{product.name} ({product.organisation.name})"
    if json_out:
        print_json({"product": name, "versions": rows})
        return
    table = Table("version", "released", "end of support", "SBOMs", "components", title=title)
    for r in rows:
        sboms = ", ".join(f"#{s['id']} {s['kind']}" for s in r["sboms"]) or "-"
        table.add_row(
            r["version"],
            r["released_on"] or "-",
            r["end_of_support"] or "-",
            sboms,
            str(sum(s["components"] for s in r["sboms"])),
        )
    console.print(table)
