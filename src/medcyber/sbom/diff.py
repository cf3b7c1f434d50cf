"""What changed between two SBOMs of a device (pure): components added, removed, upgraded, downgraded,
changed, and the changes in support (a component that became end-of-support, a new end-of-support date).

Components are matched by their package URL without the version (type, namespace, name; the Maven
``classifier`` qualifier kept, since it names a different artefact), else by name and group (or supplier).
Versions are compared with PEP 440 where both parse, else by a natural order of their numeric and
textual parts when both start with a digit; otherwise the change is reported as "changed" (no order
claimed). A key that occurs several times on one side is paired version by version, equal versions first.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Literal

from packaging.version import InvalidVersion, Version
from pydantic import BaseModel, Field

from .model import Component, Sbom, SupportLevel
from .purl import parse_purl

if TYPE_CHECKING:
    from ..lifecycle.analysis import ComponentLifecycle, LifecycleReport

ChangeKind = Literal["added", "removed", "upgraded", "downgraded", "changed", "unchanged"]
Order = Literal["newer", "older", "same", "unknown"]


class ComponentChange(BaseModel):
    key: str  # what matched the two sides ("pkg:maven/org.x/y" or "name:y|group:org.x")
    name: str
    change: ChangeKind
    old_version: str | None = None
    new_version: str | None = None
    old_ref: str | None = None
    new_ref: str | None = None
    purl: str | None = None  # the new purl, else the old one
    details: list[str] = Field(default_factory=list)  # other differences (hash, licences, supplier)


class SupportChange(BaseModel):
    key: str
    name: str
    old_ref: str | None = None
    new_ref: str | None = None
    old_version: str | None = None
    new_version: str | None = None
    what: str  # plain words: "became end-of-support", "end-of-support date 2025-01-01 -> 2026-06-30", ...
    old_status: str | None = None
    new_status: str | None = None
    old_eol: dt.date | None = None
    new_eol: dt.date | None = None
    old_level: str | None = None
    new_level: str | None = None


class SbomDiff(BaseModel):
    old_name: str | None = None
    new_name: str | None = None
    added: list[ComponentChange] = Field(default_factory=list)
    removed: list[ComponentChange] = Field(default_factory=list)
    upgraded: list[ComponentChange] = Field(default_factory=list)
    downgraded: list[ComponentChange] = Field(default_factory=list)
    changed: list[ComponentChange] = Field(default_factory=list)
    unchanged: list[ComponentChange] = Field(default_factory=list)
    support_changes: list[SupportChange] = Field(default_factory=list)

    @property
    def summary(self) -> dict[str, int]:
        return {
            "added": len(self.added),
            "removed": len(self.removed),
            "upgraded": len(self.upgraded),
            "downgraded": len(self.downgraded),
            "changed": len(self.changed),
            "unchanged": len(self.unchanged),
            "support_changes": len(self.support_changes),
        }

    def to_json_dict(self) -> dict[str, object]:
        data = self.model_dump(mode="json")
        data["summary"] = self.summary
        return data


# --- matching ----------------------------------------------------------------------------------------


def purl_key(purl: str | None) -> str | None:
    """'pkg:maven/org.x/y@1.2?type=jar' -> 'pkg:maven/org.x/y' (normalised); None when not a purl.

    A Maven ``classifier`` stays in the key: it names a different artefact of the same package.
    """
    parsed = parse_purl(purl)
    if parsed is None:
        return None
    path = f"{parsed.namespace}/{parsed.name}" if parsed.namespace else parsed.name
    key = f"pkg:{parsed.type}/{path}"
    classifier = parsed.qualifiers.get("classifier")
    if classifier:
        key += f"?classifier={classifier.lower()}"
    return key


def component_key(c: Component) -> str:
    key = purl_key(c.purl)
    if key is not None:
        return key
    owner = c.group or c.supplier or ""
    return f"name:{c.name.strip().lower()}|{owner.strip().lower()}"


# --- versions ----------------------------------------------------------------------------------------

_PARTS = re.compile(r"\d+|[A-Za-z]+")
_PRE = {"dev": -4, "alpha": -3, "a": -3, "beta": -2, "b": -2, "pre": -2, "rc": -1, "cr": -1, "m": -3}


def _natural(version: str) -> tuple[tuple[int, int | str], ...]:
    """Numbers compare as numbers; pre-release words sort before the release; other words after."""
    out: list[tuple[int, int | str]] = []
    for part in _PARTS.findall(version):
        if part.isdigit():
            out.append((1, int(part)))
        else:
            low = part.lower()
            out.append((0, _PRE[low]) if low in _PRE else (2, low))
    return tuple(out)


def compare_versions(old: str | None, new: str | None) -> Order:
    """Is ``new`` newer, older or the same as ``old``? "unknown" when no order can honestly be claimed."""
    if old == new:
        return "same"
    if old is None or new is None:
        return "unknown"
    a, b = old.strip().removeprefix("v"), new.strip().removeprefix("v")
    try:
        va, vb = Version(a), Version(b)
    except InvalidVersion:
        pass
    else:
        return "same" if va == vb else ("newer" if vb > va else "older")
    if not (a[:1].isdigit() and b[:1].isdigit()):
        return "unknown"
    na, nb = _natural(a), _natural(b)
    # pad with "release" markers so 1.2 == 1.2.0 and 1.2 < 1.2.1
    width = max(len(na), len(nb))
    na += ((1, 0),) * (width - len(na))
    nb += ((1, 0),) * (width - len(nb))
    try:
        if na == nb:
            return "same" if a == b else "unknown"
        return "newer" if nb > na else "older"
    except TypeError:  # pragma: no cover - the tags keep ints and strs apart
        return "unknown"


# --- support -----------------------------------------------------------------------------------------


class _Support(BaseModel):
    status: str | None = None
    eol: dt.date | None = None
    level: str | None = None
    eos_text: str | None = None


def _support_of(c: Component, lc: ComponentLifecycle | None) -> _Support:
    if lc is not None:
        return _Support(
            status=lc.support_status,
            eol=lc.eol,
            level=str(lc.support_level) if lc.support_level is not None else None,
            eos_text=c.support.end_of_support_text if c.support else None,
        )
    d = c.support
    if d is None:
        return _Support()
    level = d.level
    status = None
    if level in (SupportLevel.NO_LONGER_MAINTAINED, SupportLevel.ABANDONED):
        status = "end-of-support"
    return _Support(
        status=status,
        eol=d.end_of_support,
        level=str(level) if level else None,
        eos_text=d.end_of_support_text,
    )


def _support_changes(old: _Support, new: _Support) -> list[str]:
    words: list[str] = []
    if old.status != new.status and new.status is not None:
        if new.status == "end-of-support":
            words.append("became end-of-support")
        elif old.status == "end-of-support" and new.status == "supported":
            words.append("back in support")
        elif old.status is not None:
            words.append(f"support status {old.status} -> {new.status}")
    if old.eol != new.eol:
        if old.eol is None:
            words.append(f"end-of-support date now known: {new.eol}")
        elif new.eol is None:
            words.append(f"end-of-support date no longer known (was {old.eol})")
        else:
            words.append(f"end-of-support date {old.eol} -> {new.eol}")
    elif old.eol is None and old.eos_text != new.eos_text and (old.eos_text or new.eos_text):
        words.append(f"declared end-of-support {old.eos_text or 'none'!r} -> {new.eos_text or 'none'!r}")
    if old.level != new.level and not (old.status != new.status and new.status is not None):
        words.append(f"level of support {old.level or 'none'} -> {new.level or 'none'}")
    return words


# --- the diff ----------------------------------------------------------------------------------------


def _group(components: Iterable[Component]) -> dict[str, list[Component]]:
    out: dict[str, list[Component]] = {}
    for c in components:
        out.setdefault(component_key(c), []).append(c)
    return out


def _pair(
    olds: list[Component], news: list[Component]
) -> tuple[list[tuple[Component, Component]], list, list]:
    """Pair the occurrences of one key: equal versions first, then in version order."""
    olds, news = list(olds), list(news)
    pairs: list[tuple[Component, Component]] = []
    for o in list(olds):
        match = next((n for n in news if n.version == o.version), None)
        if match is not None:
            pairs.append((o, match))
            olds.remove(o)
            news.remove(match)
    if olds and news:
        olds.sort(key=lambda c: _natural(c.version or ""))
        news.sort(key=lambda c: _natural(c.version or ""))
        n = min(len(olds), len(news))
        pairs.extend(zip(olds[:n], news[:n], strict=True))
        olds, news = olds[n:], news[n:]
    return pairs, olds, news


def _change(key: str, kind: ChangeKind, old: Component | None, new: Component | None) -> ComponentChange:
    some = new or old
    assert some is not None
    return ComponentChange(
        key=key,
        name=some.name if not some.group else f"{some.group}/{some.name}",
        change=kind,
        old_version=old.version if old else None,
        new_version=new.version if new else None,
        old_ref=old.ref if old else None,
        new_ref=new.ref if new else None,
        purl=(new.purl if new else None) or (old.purl if old else None),
    )


def _members(sbom: Sbom) -> list[Component]:
    primary = sbom.primary_component.ref if sbom.primary_component is not None else None
    return [c for c in sbom.components if c.ref != primary]


_KIND_OF: dict[Order, ChangeKind] = {
    "same": "unchanged",
    "newer": "upgraded",
    "older": "downgraded",
    "unknown": "changed",
}


def diff(
    old: Sbom,
    new: Sbom,
    *,
    old_lifecycle: LifecycleReport | None = None,
    new_lifecycle: LifecycleReport | None = None,
) -> SbomDiff:
    """Compare two SBOMs; with lifecycle reports the support changes use the values in force."""
    old_lc = {c.ref: c for c in old_lifecycle.components} if old_lifecycle else {}
    new_lc = {c.ref: c for c in new_lifecycle.components} if new_lifecycle else {}
    result = SbomDiff(
        old_name=_label(old),
        new_name=_label(new),
    )
    olds, news = _group(_members(old)), _group(_members(new))
    for key in sorted(set(olds) | set(news)):
        pairs, gone, came = _pair(olds.get(key, []), news.get(key, []))
        for o, n in pairs:
            order = compare_versions(o.version, n.version)
            kind = _KIND_OF[order]
            change = _change(key, kind, o, n)
            change.details = _details(o, n)
            getattr(result, kind).append(change)
            s_old = _support_of(o, old_lc.get(o.ref))
            s_new = _support_of(n, new_lc.get(n.ref))
            words = _support_changes(s_old, s_new)
            if words:
                result.support_changes.append(_support_change(change, s_old, s_new, "; ".join(words)))
        for o in gone:
            result.removed.append(_change(key, "removed", o, None))
        for n in came:
            change = _change(key, "added", None, n)
            result.added.append(change)
            s_new = _support_of(n, new_lc.get(n.ref))
            if s_new.status == "end-of-support":
                result.support_changes.append(
                    _support_change(change, _Support(), s_new, "added although already end-of-support")
                )
    return result


def _details(old: Component, new: Component) -> list[str]:
    """Differences other than the version: a hash that differs for the same algorithm while the version
    is the same (different bytes under the same name and version), licences, supplier."""
    out: list[str] = []
    old_h = {h.alg: h.value.lower() for h in old.hashes}
    differing = sorted(h.alg for h in new.hashes if h.alg in old_h and old_h[h.alg] != h.value.lower())
    if differing and old.version == new.version:
        out.append(f"{', '.join(differing)} hash differs although the version is the same")
    if sorted(" ".join(t.split()) for t in old.licenses) != sorted(" ".join(t.split()) for t in new.licenses):
        out.append(f"licences {', '.join(old.licenses) or 'none'} -> {', '.join(new.licenses) or 'none'}")
    if old.supplier != new.supplier and old.supplier and new.supplier:
        out.append(f"supplier {old.supplier} -> {new.supplier}")
    return out


def _support_change(change: ComponentChange, old: _Support, new: _Support, what: str) -> SupportChange:
    return SupportChange(
        key=change.key,
        name=change.name,
        old_ref=change.old_ref,
        new_ref=change.new_ref,
        old_version=change.old_version,
        new_version=change.new_version,
        what=what,
        old_status=old.status,
        new_status=new.status,
        old_eol=old.eol,
        new_eol=new.eol,
        old_level=old.level,
        new_level=new.level,
    )


def _label(sbom: Sbom) -> str | None:
    p = sbom.primary_component
    if p is not None:
        return f"{p.name} {p.version}" if p.version else p.name
    return sbom.document.name
