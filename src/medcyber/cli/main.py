"""`medcyber`: the command line. Every command calls the same services as the web app."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from .. import __version__
from . import sbom_store  # noqa: F401  (registers import/list/export/diff on the sbom app)
from .accounts import app as accounts_app
from .assess import app as assess_app
from .audit import app as audit_app
from .benchmark import app as benchmark_app
from .common import console, err_console, open_store, state, user_errors
from .lifecycle import app as lifecycle_app
from .org import app as org_app
from .product import app as product_app
from .sbom import app as sbom_app
from .scan import scan
from .vulns import app as vulns_app

app = typer.Typer(
    name="medcyber",
    help="Product-security maturity benchmark and lifecycle tooling for medical device manufacturers.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
db_app = typer.Typer(
    help="Create, upgrade and inspect the store (SQLite by default, PostgreSQL by URL).", no_args_is_help=True
)
demo_app = typer.Typer(
    help="The demo workspace (synthetic cohort, Acme Medical and its device portfolio, demo logins).",
    no_args_is_help=True,
)
app.add_typer(db_app, name="db")
app.add_typer(demo_app, name="demo")
app.add_typer(org_app, name="org")
app.add_typer(assess_app, name="assess")
app.add_typer(benchmark_app, name="benchmark")
app.add_typer(product_app, name="product")
app.add_typer(sbom_app, name="sbom")
app.add_typer(lifecycle_app, name="lifecycle")
app.add_typer(vulns_app, name="vulns")
app.command("scan")(scan)
app.add_typer(audit_app, name="audit")
app.add_typer(accounts_app, name="accounts")


def _version(value: bool) -> None:
    if value:
        console.print(f"medcyber {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    database: Annotated[
        str | None,
        typer.Option(
            "--database",
            envvar="MEDCYBER_DATABASE_URL",
            help="Database URL (default: SQLite in ~/.medcyber).",
        ),
    ] = None,
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True)] = False,
) -> None:
    state.database_url = database


@db_app.command("init")
def db_init() -> None:
    """Create the store, or upgrade it to the current schema."""
    store = open_store()
    console.print(f"store ready at {store.safe_url} (schema {store.current_revision()})")


@db_app.command("status")
def db_status() -> None:
    """Show where the store is and its schema revision."""
    from ..store import Store

    with user_errors():
        store = Store(state.database_url)
        console.print(
            f"store: {store.safe_url}\nschema: {store.current_revision() or 'empty'} "
            f"(head {store.head_revision()})"
        )


@db_app.command("downgrade")
def db_downgrade(revision: Annotated[str, typer.Argument(help="target revision, e.g. base")]) -> None:
    """Downgrade the schema (for operators rolling back a release)."""
    from ..store import Store

    with user_errors():
        store = Store(state.database_url)
        store.downgrade(revision)
        console.print(f"schema now at {store.current_revision() or 'base'}")


@demo_app.command("load")
def demo_load(
    json_out: Annotated[bool, typer.Option("--json", help="Print what was loaded as JSON.")] = False,
    no_portfolio: Annotated[
        bool,
        typer.Option(
            "--no-portfolio",
            help="Load only the benchmark part and the logins (no SBOMs, advisories, findings).",
        ),
    ] = False,
) -> None:
    """Load the demo: a 17-respondent synthetic cohort calibrated to the published 2022 benchmark, Acme
    Medical (not a cohort member) with two complete, dated assessments and a device portfolio of real
    public SBOMs matched against real vulnerability data (from ../shared/data, or $MEDCYBER_SHARED_DATA),
    a second organisation (Beacon Devices) and demo logins. Safe to run again."""
    from ..services.demo import load_demo
    from .common import print_json, session_scope

    with session_scope() as session:
        summary = load_demo(session, portfolio=not no_portfolio)
    if json_out:
        print_json(summary)
    else:
        _print_demo_summary(summary)


def _print_demo_summary(summary: dict[str, Any]) -> None:
    from ..services.demo import describe_account

    console.print(
        f"demo loaded: cohort [bold]{summary['cohort']}[/] "
        f"({summary['submissions']} synthetic submissions, labelled synthetic), "
        f"organisation [bold]{summary['organisation']}[/] with "
        f"{summary['assessments']} assessments",
        soft_wrap=True,
    )
    portfolio = summary.get("portfolio") or {}
    if "skipped" in portfolio:
        err_console.print(f"[yellow]note:[/] {portfolio['skipped']}", highlight=False, soft_wrap=True)
    elif portfolio:
        vulns = portfolio["vulnerability_data"]
        console.print(
            f"device portfolio ({', '.join(summary['organisations'])}): {portfolio['products']} products, "
            f"{portfolio['versions']} versions, {portfolio['components']} SBOM components; "
            f"{portfolio['open_findings']} open findings ({portfolio['kev_findings']} KEV-listed) against "
            f"{vulns['osv']} OSV and {vulns['nvd']} NVD advisories and {vulns['kev']} KEV entries",
            highlight=False,
            soft_wrap=True,
        )
        if portfolio.get("missing"):
            err_console.print(
                f"[yellow]note:[/] not found in {portfolio['data_dir']}: {', '.join(portfolio['missing'])}",
                highlight=False,
                soft_wrap=True,
            )
    console.print("demo logins (for the demo only; never load the demo into a production store):")
    for account in summary.get("accounts", []):
        password = account["password"] or "(changed since the demo was loaded)"
        console.print(
            f"  {account['email']:<28} {password:<18} {describe_account(account)}",
            highlight=False,
            markup=False,
            soft_wrap=True,
        )


@app.command("serve")
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8000,
    demo: Annotated[bool, typer.Option("--demo", help="Load the demo workspace first.")] = False,
    secure_cookies: Annotated[
        bool,
        typer.Option(
            "--secure-cookies",
            help="Mark cookies Secure even when the request arrives over plain HTTP (TLS ends before a proxy "
            "that does not send X-Forwarded-Proto). Over HTTPS they are Secure anyway.",
        ),
    ] = False,
    trusted_proxies: Annotated[
        str,
        typer.Option(
            envvar="MEDCYBER_TRUSTED_PROXIES",
            help="Addresses whose X-Forwarded-Proto/For headers are believed (the TLS-terminating proxy).",
        ),
    ] = "127.0.0.1",
) -> None:
    """Serve the web app (pages and the JSON API under /api/v1)."""
    import uvicorn

    from ..web.app import create_app

    store = open_store()
    if demo:
        from ..services.demo import load_demo

        with user_errors(), store.session() as session:
            summary = load_demo(session)
        _print_demo_summary(summary)
    console.print(f"medcyber {__version__} serving {store.safe_url} on http://{host}:{port}")
    uvicorn.run(
        create_app(store, force_secure_cookies=secure_cookies),
        host=host,
        port=port,
        log_level="info",
        proxy_headers=True,
        forwarded_allow_ips=trusted_proxies,
    )


if __name__ == "__main__":  # pragma: no cover
    app()
