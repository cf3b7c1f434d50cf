"""Resolving an SBOM argument of a command: a file, or a device version in the store."""

from __future__ import annotations

from pathlib import Path

from ..sbom.model import Sbom
from ..services import products as svc
from .common import fail, session_scope


def load_sbom_ref(ref: str, *, lenient: bool, org: str | None) -> tuple[Sbom, str]:
    """An SBOM named on the command line: a file, or PRODUCT@VERSION from the store (all its SBOMs merged).

    An invalid file is refused unless ``lenient``; the second value is the label to show.
    """
    path = Path(ref)
    if path.is_file():
        from ..sbom.reader import read_sbom

        result = read_sbom(path, name=str(path), lenient=lenient)
        if not result.valid and not lenient:
            problems = "".join(f"\n  {e}" for e in result.errors[:20])
            fail(
                f"{path}: not a valid SBOM ({len(result.errors)} problem(s)); "
                f"use --lenient to compare anyway{problems}"
            )
        if result.sbom is None:
            fail(f"{path}: could not be read as an SBOM")
        return result.sbom, str(path)
    if "@" in ref:
        product, _, version = ref.rpartition("@")
        with session_scope() as session:
            return svc.version_sbom(session, product, version, organisation=org), f"{product}@{version}"
    fail(f"{ref}: no such file (nor a PRODUCT@VERSION in the store)")
