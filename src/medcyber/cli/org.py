"""`medcyber org`: organisations and their banded benchmark profile."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from ..benchmark.models import DEVICE_CLASSES, EMPLOYEE_BANDS, REGIONS, REVENUE_BANDS, OrgProfile
from ..services import assessments as svc
from .common import console, fail, print_json, session_scope

app = typer.Typer(
    help="Organisations and their banded profile (employees, revenue, device classes, region).",
    no_args_is_help=True,
)


def _check_choice(value: str | None, allowed: tuple[str, ...], what: str) -> None:
    if value is not None and value not in allowed:
        fail(f"{what} must be one of: {', '.join(allowed)} (got {value!r})")


@app.command("set")
def org_set(
    name: Annotated[str, typer.Argument(help="Organisation name (created if new).")],
    employees: Annotated[
        str | None, typer.Option(help=f"Employees band: {', '.join(EMPLOYEE_BANDS)}")
    ] = None,
    revenue: Annotated[
        str | None, typer.Option(help=f"Revenue band (USD): {', '.join(REVENUE_BANDS)}")
    ] = None,
    device_class: Annotated[
        list[str] | None, typer.Option("--device-class", help="I, II or III; repeat.")
    ] = None,
    region: Annotated[str | None, typer.Option(help=f"Region: {', '.join(REGIONS)}")] = None,
) -> None:
    """Create an organisation or update its profile."""
    _check_choice(employees, EMPLOYEE_BANDS, "--employees")
    _check_choice(revenue, REVENUE_BANDS, "--revenue")
    _check_choice(region, REGIONS, "--region")
    for dc in device_class or []:
        _check_choice(dc, DEVICE_CLASSES, "--device-class")
    with session_scope() as session:
        org = svc.get_or_create_organisation(session, name)
        current = svc.profile_of(org)
        emp = employees or (current.employees_band if current else None)
        rev = revenue or (current.revenue_band if current else None)
        if emp and rev:
            svc.set_profile(
                org,
                OrgProfile(
                    employees_band=emp,
                    revenue_band=rev,
                    device_classes=tuple(device_class or (current.device_classes if current else ())),
                    region=region or (current.region if current else None),
                ),
            )
        console.print(f"organisation [bold]{org.name}[/] saved")


@app.command("list")
def org_list(json_out: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List organisations in the store."""
    with session_scope() as session:
        rows: list[dict[str, Any]] = [
            {
                "name": o.name,
                "employees_band": o.employees_band,
                "revenue_band": o.revenue_band,
                "device_classes": o.device_classes,
                "region": o.region,
                "assessments": len(o.assessments),
            }
            for o in svc.list_organisations(session)
        ]
    if json_out:
        print_json({"organisations": rows})
        return
    table = Table("name", "employees", "revenue", "classes", "region", "assessments")
    for r in rows:
        table.add_row(
            r["name"],
            r["employees_band"] or "-",
            r["revenue_band"] or "-",
            ",".join(r["device_classes"] or []) or "-",
            r["region"] or "-",
            str(r["assessments"]),
        )
    console.print(table)
