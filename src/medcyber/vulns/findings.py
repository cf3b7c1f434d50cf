"""What a scan reports: findings with their evidence, components not evaluated and why, and the totals.

Severity is recomputed from every CVSS vector an advisory gives, with the ``cvss`` library (CVSS2 for
v2, CVSS3 for v3.0/v3.1, CVSS4 for v4.0); published scores are kept only as published. The overall
level comes from the highest CVSS v4 base score when there is one, else the highest v3.x, else the
highest v2 (v2 has no "critical"); "unknown" when no vector could be scored. KEV and EPSS are looked up
by every CVE id of the merged vulnerability.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import lru_cache
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, Field

from .model import EpssScore, KevEntry, Severity

Level = Literal["critical", "high", "medium", "low", "none", "unknown"]
LEVELS: tuple[Level, ...] = ("critical", "high", "medium", "low", "none", "unknown")
LEVEL_RANK: dict[str, int] = {"unknown": 0, "none": 0, "low": 1, "medium": 2, "high": 3, "critical": 4}
FindingStatus = Literal["affected", "conditional"]


class CvssScore(BaseModel):
    type: str  # CVSS_V2 / CVSS_V3 / CVSS_V4
    version: str | None  # "2.0", "3.0", "3.1", "4.0"
    vector: str
    base_score: float | None  # computed with the cvss library; None when the vector is invalid
    level: Level
    source: str | None = None
    published_score: float | None = None
    error: str | None = None


class SeverityInfo(BaseModel):
    level: Level = "unknown"
    score: float | None = None
    basis: str | None = None  # which vector decided: "CVSS 4.0", "CVSS 3.1", "CVSS 2.0"
    scores: list[CvssScore] = Field(default_factory=list)


class KevInfo(BaseModel):
    in_kev: bool = False
    cve: str | None = None
    date_added: dt.date | None = None
    due_date: dt.date | None = None
    ransomware: str | None = None  # "Known" / "Unknown" as CISA writes it
    required_action: str | None = None


class EpssInfo(BaseModel):
    cve: str
    score: float
    percentile: float
    date: dt.date | None = None


class Finding(BaseModel):
    id: str  # preferred id of the merged vulnerability: a CVE when there is one
    aliases: list[str]
    advisories: list[str]  # the advisory records whose ranges or configurations matched
    summary: str | None
    status: FindingStatus = "affected"
    conditions: list[str] = Field(default_factory=list)  # unmet "running on/with" platform conditions
    severity: SeverityInfo
    kev: KevInfo
    epss: EpssInfo | None
    matched: list[str]  # evidence: the ranges or CPE criteria that matched
    fixed: list[str]
    nearest_fix: str | None
    source: list[str]  # "osv", "nvd"
    ref: str
    name: str
    version: str | None
    purl: str | None
    cpe: str | None = None  # the component CPE that matched (NVD findings)
    ecosystem: str | None = None
    support_status: str | None = None  # from the lifecycle analysis
    eol: dt.date | None = None


_FINDING_FIELDS = frozenset(Finding.model_fields)


def make_finding(**values: Any) -> Finding:
    """A Finding from values the matcher built with their declared types, without re-validating them.

    A scan builds thousands of findings; pydantic validation (or even ``model_construct``) would cost more
    than the matching. Every field must be given; ``tests/test_matcher.py`` checks the result equals a
    validated ``Finding``.
    """
    if values.keys() != _FINDING_FIELDS:
        raise TypeError(
            f"make_finding needs exactly the fields of Finding: {sorted(_FINDING_FIELDS ^ values.keys())}"
        )
    return _finding_from_dict(values)


_new_object = object.__new__
_set_attr = object.__setattr__


def _finding_from_dict(values: dict[str, Any]) -> Finding:
    """``make_finding`` without the check of the field names: for the matcher's hot loop, whose dict
    literal names every field of Finding in declaration order (tests compare with validated findings)."""
    obj = _new_object(Finding)
    _set_attr(obj, "__dict__", values)
    _set_attr(obj, "__pydantic_fields_set__", set(_FINDING_FIELDS))
    _set_attr(obj, "__pydantic_extra__", None)
    _set_attr(obj, "__pydantic_private__", None)
    return obj


class NotEvaluated(BaseModel):
    ref: str
    name: str
    version: str | None
    purl: str | None = None
    cpe: str | None = None
    reason: str


class ScanResult(BaseModel):
    sbom: str
    as_of: dt.date
    findings: list[Finding]
    not_evaluated: list[NotEvaluated]
    stats: dict[str, Any]

    def at_or_above(self, threshold: str) -> list[Finding]:
        """Affected (not conditional) findings at or above a level, or in KEV for ``"kev"``."""
        if threshold == "kev":
            return [f for f in self.findings if f.status == "affected" and f.kev.in_kev]
        rank = LEVEL_RANK[threshold]
        return [
            f
            for f in self.findings
            if f.status == "affected"
            and f.severity.level != "unknown"
            and LEVEL_RANK[f.severity.level] >= rank
        ]


# --------------------------------------------------------------------------------------------- severity


def level_for(score: float, version: str) -> Level:
    if version.startswith("2"):
        return "high" if score >= 7.0 else "medium" if score >= 4.0 else "low"
    if score == 0:
        return "none"
    if score >= 9.0:
        return "critical"
    if score >= 7.0:
        return "high"
    if score >= 4.0:
        return "medium"
    return "low"


@lru_cache(maxsize=65536)
def score_vector(sev_type: str, vector: str) -> tuple[str | None, float | None, str | None]:
    """(CVSS version, base score, error) for one vector, computed with the ``cvss`` library."""
    from cvss import CVSS2, CVSS3, CVSS4

    v = vector.strip()
    try:
        if v.startswith("CVSS:4.0/") or sev_type == "CVSS_V4":
            c4 = CVSS4(v)
            return "4.0", float(c4.base_score), None
        if v.startswith("CVSS:3.") or sev_type == "CVSS_V3":
            c3 = CVSS3(v)
            version = "3.1" if v.startswith("CVSS:3.1/") else "3.0"
            return version, float(c3.base_score), None
        if sev_type == "CVSS_V2" or v.startswith("AV:"):
            c2 = CVSS2(v.removeprefix("(").removesuffix(")"))
            return "2.0", float(c2.base_score), None
    except Exception as exc:  # the cvss library raises its own error types for malformed vectors
        return None, None, f"{type(exc).__name__}: {exc}"
    return None, None, f"not a CVSS vector of type {sev_type}"


def severity_info(severities: Iterable[Severity]) -> SeverityInfo:
    scores: list[CvssScore] = []
    seen: set[tuple[str, str]] = set()
    for s in severities:
        if s.type not in ("CVSS_V2", "CVSS_V3", "CVSS_V4"):
            continue
        if (s.type, s.vector) in seen:
            continue
        seen.add((s.type, s.vector))
        version, base, error = score_vector(s.type, s.vector)
        lvl: Level = level_for(base, version) if base is not None and version else "unknown"
        scores.append(
            CvssScore(
                type=s.type,
                version=version,
                vector=s.vector,
                base_score=base,
                level=lvl,
                source=s.source,
                published_score=s.base_score,
                error=error,
            )
        )
    info = SeverityInfo(scores=scores)
    for major in ("4", "3", "2"):
        best = [c for c in scores if c.version and c.version.startswith(major) and c.base_score is not None]
        if best:
            top = max(best, key=lambda c: c.base_score or 0.0)
            info.level, info.score, info.basis = top.level, top.base_score, f"CVSS {top.version}"
            break
    return info


# ------------------------------------------------------------------------------------------ KEV / EPSS


def kev_info(cves: Sequence[str], kev: Mapping[str, KevEntry]) -> KevInfo:
    for cve in cves:
        e = kev.get(cve)
        if e is not None:
            return KevInfo(
                in_kev=True,
                cve=cve,
                date_added=e.date_added,
                due_date=e.due_date,
                ransomware=e.known_ransomware,
                required_action=e.required_action,
            )
    return KevInfo()


def epss_info(cves: Sequence[str], epss: Mapping[str, EpssScore]) -> EpssInfo | None:
    best: EpssScore | None = None
    for cve in cves:
        e = epss.get(cve)
        if e is not None and (best is None or e.epss > best.epss):
            best = e
    if best is None:
        return None
    return EpssInfo(cve=best.cve_id, score=best.epss, percentile=best.percentile, date=best.date)


# ------------------------------------------------------------------------------------- nearest upgrade

K = TypeVar("K")


def nearest_fix(
    current: K, candidates: Iterable[tuple[K, str]], still_affected: Callable[[K], bool]
) -> str | None:
    """The smallest fixed version above ``current`` that no matched range still covers, else None.

    ``candidates`` are (sort key, version text) of the fixed versions of every merged advisory in the
    component's ecosystem; keys must be mutually comparable with ``current``.
    """
    for key, text in sorted(candidates, key=lambda kv: kv[0]):  # type: ignore[arg-type,return-value]
        if key > current and not still_affected(key):  # type: ignore[operator]
            return text
    return None


def preferred_id(ids: Iterable[str]) -> str:
    """The id a merged vulnerability is reported under: the lowest CVE if any, else the first id given."""
    ordered = list(dict.fromkeys(ids))
    cves = [i for i in ordered if i.startswith("CVE-")]
    if cves:
        return min(cves, key=_cve_sort)
    return ordered[0]


def _cve_sort(cve: str) -> tuple[int, int, str]:
    parts = cve.split("-")
    try:
        return (int(parts[1]), int(parts[2]), cve)
    except (IndexError, ValueError):
        return (0, 0, cve)
