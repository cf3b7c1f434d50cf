"""End-of-support (legacy) analysis of an SBOM against the endoflife.date catalogue.

For every component: the support level and end-of-support date the SBOM declares (verbatim and
interpreted), what the catalogue derives for its product and release cycle, the values in force
(declared wins; derived fills what the SBOM lacks), the status on a given date, and in plain words any
disagreement between the two. For the SBOM: the legacy components (past end of support), the
supportability horizon (the earliest upcoming end of support and whose it is) and counts.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict

from ..sbom.model import Component, DeclaredSupport, Sbom, SupportLevel
from .catalog import Catalog, Release
from .match import Matcher, MatchRule, matcher_for, parse_purl

SupportStatus = Literal["supported", "end-of-support", "unknown"]
Source = Literal["declared", "derived", "none"]

STATUSES: tuple[SupportStatus, ...] = ("supported", "end-of-support", "unknown")
_ENDED = (SupportLevel.NO_LONGER_MAINTAINED, SupportLevel.ABANDONED)


class ComponentLifecycle(BaseModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)

    ref: str
    name: str
    version: str | None
    purl: str | None
    type: str
    support_status: SupportStatus
    eol: dt.date | None  # the end-of-support date in force (declared if given, else derived)
    support_level: SupportLevel | None
    source: Source
    product: str | None  # endoflife.date product id, e.g. "openssl"
    cycle: str | None  # e.g. "1.0.2"
    match: MatchRule | None
    declared: DeclaredSupport | None  # verbatim + interpreted, from the SBOM
    derived_eol: dt.date | None
    derived_level: SupportLevel | None
    disagreement: str | None  # plain words when declared and derived disagree
    # additions (compatible): why the status is what it is, and the catalogue's details
    reason: str | None = None  # why nothing was derived (no product, no cycle, ...), or how it was
    product_title: str | None = None
    derived_eol_flag: bool | None = None  # endoflife.date's eol given as a flag (True ended, False not)
    released: dt.date | None = None  # release date of the cycle (for the timeline)


class LifecycleReport(BaseModel):
    as_of: dt.date
    components: list[ComponentLifecycle]
    legacy: list[ComponentLifecycle]  # past end of support on as_of
    horizon: dt.date | None  # earliest end of support strictly after as_of
    horizon_refs: list[str]
    counts: dict[str, int]
    catalog: str | None = None  # where the catalogue came from (attribution)


def _informative(declared: DeclaredSupport | None) -> bool:
    """Does the SBOM state anything usable (a level other than 'unknown', a date, or an ended rule)?"""
    if declared is None:
        return False
    return (
        (declared.level is not None and declared.level is not SupportLevel.UNKNOWN)
        or declared.end_of_support is not None
        or declared.eos_rule == "ended"
    )


def _derived_level(eol: dt.date | bool | None, as_of: dt.date) -> SupportLevel | None:
    if isinstance(eol, bool):
        return SupportLevel.NO_LONGER_MAINTAINED if eol else SupportLevel.ACTIVELY_MAINTAINED
    if isinstance(eol, dt.date):
        return SupportLevel.NO_LONGER_MAINTAINED if eol <= as_of else SupportLevel.ACTIVELY_MAINTAINED
    return None


def _status(
    eol: dt.date | None, flag: bool | None, level: SupportLevel | None, as_of: dt.date
) -> SupportStatus:
    """Status from the values in force: an end on/before as_of or a no-longer-maintained level ends it."""
    if eol is not None and eol <= as_of:
        return "end-of-support"
    if level in _ENDED:
        return "end-of-support"
    if eol is None and flag is True:
        return "end-of-support"
    if eol is not None:
        return "supported"
    if flag is False or level is SupportLevel.ACTIVELY_MAINTAINED:
        return "supported"
    return "unknown"


def _disagreement(
    declared: DeclaredSupport, label: str, eol: dt.date | bool | None, as_of: dt.date
) -> str | None:
    """Plain words for what the declared values say against the catalogue's, or None."""
    if eol is None:
        return None
    notes: list[str] = []
    ended = eol is True or (isinstance(eol, dt.date) and eol <= as_of)
    if isinstance(eol, dt.date):
        fact = f"{label} reached end of life on {eol}" if ended else f"{label} is supported until {eol}"
    else:
        fact = (
            f"{label} is end of life (endoflife.date gives no date)"
            if ended
            else (f"{label} is still supported (no end date announced)")
        )
    level = declared.level
    said = f"declared '{declared.level_text}'" if declared.level_text else "declared"
    if level is SupportLevel.ACTIVELY_MAINTAINED and ended or level in _ENDED and not ended:
        notes.append(f"{said} but {fact}")
    d = declared.end_of_support
    if d is not None:
        said_eos = f"declared end of support {d}"
        if isinstance(eol, dt.date) and eol != d:
            notes.append(f"{said_eos} but endoflife.date gives {eol} for {label}")
        elif eol is True and d > as_of or eol is False and d <= as_of:
            notes.append(f"{said_eos} but {fact}")
    elif declared.eos_rule == "ended" and not ended and level not in _ENDED:
        notes.append(f"declared end of support '{declared.end_of_support_text}' but {fact}")
    return "; ".join(notes) or None


def _declared_words(declared: DeclaredSupport | None) -> str:
    if declared is None:
        return "the SBOM declares no support level or end of support"
    parts = []
    if declared.level_text is not None:
        parts.append(f"level '{declared.level_text}'")
    if declared.end_of_support_text is not None:
        parts.append(f"end of support '{declared.end_of_support_text}'")
    return "the SBOM declares " + " and ".join(parts)


_MatchKey = tuple[str, str | None, tuple[str, ...], str | None]


def analyse_component(
    component: Component,
    *,
    as_of: dt.date,
    matcher: Matcher,
    _cache: dict[_MatchKey, tuple[object, ...]] | None = None,
) -> ComponentLifecycle:
    """The lifecycle of one component on ``as_of``."""
    version = component.version or None
    if version is None and component.purl:
        parsed = parse_purl(component.purl)
        version = parsed.version if parsed else None
    key: _MatchKey = (component.name, component.purl, component.cpes, version)
    hit = _cache.get(key) if _cache is not None else None
    if hit is None:
        outcome = matcher.match(name=component.name, purl=component.purl, cpes=component.cpes)
        release: Release | None = None
        reason = outcome.reason
        if outcome.match is not None:
            choice = matcher.select_cycle(outcome.match.product, version)
            release = choice.release
            reason = choice.reason
        hit = (outcome, release, reason)
        if _cache is not None:
            _cache[key] = hit
    outcome, release, reason = hit  # type: ignore[assignment]
    pm = outcome.match  # type: ignore[attr-defined]
    product = pm.product if pm is not None else None

    raw_eol = release.eol if release is not None else None
    derived_eol = raw_eol if isinstance(raw_eol, dt.date) and not isinstance(raw_eol, bool) else None
    eol_flag = raw_eol if isinstance(raw_eol, bool) else None
    derived_level = _derived_level(raw_eol, as_of)

    declared = component.support
    informative = _informative(declared)
    declared_level = declared.level if declared is not None else None
    if declared_level is SupportLevel.UNKNOWN:
        declared_level = None
    declared_eos = declared.end_of_support if declared is not None else None
    if declared is not None and declared.eos_rule == "ended" and declared_level is None:
        declared_level = SupportLevel.NO_LONGER_MAINTAINED

    eol = declared_eos if declared_eos is not None else derived_eol
    flag = eol_flag if declared_eos is None else None
    status = _status(eol, flag, declared_level, as_of)

    if declared_level is not None:
        level: SupportLevel | None = declared_level
    elif status == "end-of-support":
        level = SupportLevel.NO_LONGER_MAINTAINED
    elif status == "supported":
        level = SupportLevel.ACTIVELY_MAINTAINED
    else:
        level = declared.level if declared is not None else None

    if informative:
        source: Source = "declared"
    elif raw_eol is not None:
        source = "derived"
    else:
        source = "none"

    label = f"{product.title} {release.cycle}" if product is not None and release is not None else ""
    disagreement = (
        _disagreement(declared, label, raw_eol, as_of) if declared is not None and informative else None
    )
    if release is not None and raw_eol is None:
        reason = f"endoflife.date gives no end of life for {label}"
    elif release is not None:
        reason = None
    if status == "unknown":
        said = _declared_words(declared)
        reason = "; ".join(x for x in (reason, said) if x) or "nothing declared and nothing derived"
    return ComponentLifecycle.model_construct(
        ref=component.ref,
        name=component.name,
        version=component.version or None,
        purl=component.purl,
        type=str(component.type),
        support_status=status,
        eol=eol,
        support_level=level,
        source=source,
        product=product.id if product is not None else None,
        cycle=release.cycle if release is not None else None,
        match=pm.rule if pm is not None else None,
        declared=declared,
        derived_eol=derived_eol,
        derived_level=derived_level,
        disagreement=disagreement,
        reason=reason if status == "unknown" or release is None else None,
        product_title=product.title if product is not None else None,
        derived_eol_flag=eol_flag,
        released=release.released if release is not None else None,
    )


def analyse(sbom: Sbom, *, as_of: dt.date, catalog: Catalog | None = None) -> LifecycleReport:
    """The lifecycle report of an SBOM on ``as_of`` (the shipped catalogue unless one is given)."""
    cat = catalog if catalog is not None else Catalog.load()
    matcher = matcher_for(cat)
    cache: dict[_MatchKey, tuple[object, ...]] = {}
    rows = [analyse_component(c, as_of=as_of, matcher=matcher, _cache=cache) for c in sbom.components]
    legacy = [r for r in rows if r.support_status == "end-of-support"]
    upcoming = [
        r.eol for r in rows if r.eol is not None and r.eol > as_of and r.support_status == "supported"
    ]
    horizon = min(upcoming) if upcoming else None
    horizon_refs = [
        r.ref for r in rows if horizon is not None and r.eol == horizon and r.support_status == "supported"
    ]
    counts: dict[str, int] = {"total": len(rows)}
    for s in STATUSES:
        counts[s] = 0
    for src in ("declared", "derived", "none"):
        counts[f"source:{src}"] = 0
    counts["matched"] = counts["disagreements"] = 0
    for r in rows:
        counts[r.support_status] += 1
        counts[f"source:{r.source}"] += 1
        counts["matched"] += r.product is not None
        counts["disagreements"] += r.disagreement is not None
    return LifecycleReport(
        as_of=as_of,
        components=rows,
        legacy=legacy,
        horizon=horizon,
        horizon_refs=horizon_refs,
        counts=counts,
        catalog=str(cat.meta.get("attribution")) if cat.meta.get("attribution") else None,
    )
