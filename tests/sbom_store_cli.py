"""The command-line app the SBOM store tests drive (shared by the product/SBOM test modules)."""

from __future__ import annotations

import typer


def cli_app() -> typer.Typer:
    """The real `medcyber` app once `product` and `sbom` are wired into it, else the same sub-apps mounted
    alone (the commands, the store and the environment are the real ones either way)."""
    import medcyber.cli.sbom_store  # noqa: F401  (registers import/list/export/diff on `sbom`)
    from medcyber.cli.main import app as main_app
    from medcyber.cli.product import app as product_app
    from medcyber.cli.sbom import app as sbom_app

    if {"product", "sbom"} <= {g.name for g in main_app.registered_groups}:
        return main_app
    app = typer.Typer()
    app.add_typer(product_app, name="product")
    app.add_typer(sbom_app, name="sbom")
    return app
