"""Package identity per ecosystem: one place for the keys the matcher, the store and monitoring share.

OSV ecosystem names may carry a release ("Debian:11", "Alpine:v3.18"); the base name chooses the rules.
Package names are compared case-insensitively, PyPI by PEP 503 (runs of ``-``, ``_`` and ``.`` are one
``-``) and crates.io with ``_`` equal to ``-``, as those registries treat them.
"""

from __future__ import annotations

import re

_PEP503 = re.compile(r"[-_.]+")


def ecosystem_base(ecosystem: str) -> tuple[str, str | None]:
    """("Debian", "11") for "Debian:11"; ("PyPI", None) for "PyPI"."""
    base, sep, release = ecosystem.partition(":")
    return base.strip(), (release.strip() or None) if sep else None


def normalise_name(ecosystem: str, name: str) -> str:
    """The comparison key of a package name in an (OSV) ecosystem."""
    base = ecosystem_base(ecosystem)[0]
    n = name.strip().lower()
    if base == "PyPI":
        return _PEP503.sub("-", n)
    if base == "crates.io":
        return n.replace("_", "-")
    return n
