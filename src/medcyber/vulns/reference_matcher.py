"""The straightforward reference matcher: the naive baseline for the benchmark and the cross-check tests.

For every component, for every advisory, for every OSV ``affected`` entry of the same ecosystem and
package name, every ECOSYSTEM/SEMVER range is walked with ``univers`` version objects parsed on the spot,
and the explicit ``versions`` list is compared. No index, no pre-computed keys, no memoisation: it is the
simple reading of the OSV specification the fast engine must agree with, and the speed it must beat.
It handles OSV (purl) matching only; withdrawn advisories are skipped as in the engine.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from univers import versions as uv

from ..sbom.model import Component
from ..sbom.purl import parse_purl
from .model import PURL_ECOSYSTEMS, Advisory, Event

UNIVERS_CLASSES: dict[str, type[Any]] = {
    "PyPI": uv.PypiVersion,
    "npm": uv.SemverVersion,
    "Maven": uv.MavenVersion,
    "Go": uv.GolangVersion,
    "crates.io": uv.SemverVersion,
    "NuGet": uv.NugetVersion,
    "RubyGems": uv.RubygemsVersion,
    "Packagist": uv.ComposerVersion,
    "Debian": uv.DebianVersion,
    "Ubuntu": uv.DebianVersion,
    "Alpine": uv.AlpineLinuxVersion,
    "Red Hat": uv.RpmVersion,
    "SemVer": uv.SemverVersion,
}


def _name(ecosystem: str, name: str) -> str:
    n = name.lower()
    return re.sub(r"[-_.]+", "-", n) if ecosystem == "PyPI" else n


def _component_package(c: Component) -> tuple[str, str, str] | None:
    p = parse_purl(c.purl) if c.purl else None
    if p is None:
        return None
    eco = PURL_ECOSYSTEMS.get(p.type)
    version = p.version or c.version
    if eco is None or not version:
        return None
    if p.type == "maven":
        name = f"{p.namespace}:{p.name}" if p.namespace else p.name
    elif p.type in ("golang", "npm", "composer") and p.namespace:
        name = f"{p.namespace}/{p.name}"
    else:
        name = p.name
    return eco, _name(eco, name), version


def _parse(cls: type[Any], text: str) -> Any:
    return cls(text.removeprefix("v") if cls is uv.SemverVersion else text)


def _in_range(cls: type[Any], version: str, events: Sequence[Event]) -> bool:
    v = _parse(cls, version)
    limits = [e for e in events if e.kind == "limit" and e.version != "*"]
    if limits and not any(v < _parse(cls, e.version) for e in limits):
        return False

    def order(e: Event) -> Any:
        return (0, None) if e.version == "0" else (1, _parse(cls, e.version))

    sortable = [e for e in events if e.kind != "limit"]
    sortable.sort(key=lambda e: (order(e)[0], order(e)[1] if order(e)[0] else 0))
    affected = False
    for e in sortable:
        if e.kind == "introduced":
            if e.version == "0" or v >= _parse(cls, e.version):
                affected = True
        elif e.kind == "fixed":
            if v >= _parse(cls, e.version):
                affected = False
        elif e.kind == "last_affected" and v > _parse(cls, e.version):
            affected = False
    return affected


def reference_match(components: Iterable[Component], advisories: Sequence[Advisory]) -> set[tuple[str, str]]:
    """(component ref, advisory id) for every OSV advisory affecting a component, the naive way."""
    out: set[tuple[str, str]] = set()
    for c in components:
        pkg = _component_package(c)
        if pkg is None:
            continue
        eco, name, version = pkg
        for adv in advisories:
            if adv.withdrawn is not None:
                continue
            for aff in adv.affected:
                base = aff.ecosystem.split(":", 1)[0]
                if base != eco or _name(base, aff.name) != name:
                    continue
                if _affected(base, aff.ranges, aff.versions, version):
                    out.add((c.ref, adv.id))
                    break
    return out


def _affected(eco: str, ranges: Iterable[Any], versions: Sequence[str], version: str) -> bool:
    for r in ranges:
        if r.type == "GIT":
            continue
        cls = UNIVERS_CLASSES.get("SemVer" if r.type == "SEMVER" else eco)
        if cls is None:
            continue
        try:
            if _in_range(cls, version, r.events):
                return True
        except Exception:  # univers rejects the version or a bound: the naive matcher skips the range
            continue
    if version in versions:
        return True
    cls = UNIVERS_CLASSES.get(eco)
    if cls is not None:
        try:
            v = _parse(cls, version)
            return any(_safe_eq(cls, v, x) for x in versions)
        except Exception:
            return False
    return False


def _safe_eq(cls: type[Any], v: Any, text: str) -> bool:
    try:
        return bool(v == _parse(cls, text))
    except Exception:
        return False
