"""What an organisation's device versions hold, read from the store for lists and pages (read side).

Every query is scoped to one organisation (or to one device version the caller has already resolved
inside its organisation) and paginated; aggregates are computed in SQL with GROUP BY over the device
versions of the page only, so a list page costs a fixed handful of queries whatever the portfolio size.

"Past end of support" here is what the SBOMs *declare* (an end-of-support date on or before the day, or a
no-longer-maintained / abandoned level); the end-of-support analysis of one version
(:func:`version_lifecycle`) adds what endoflife.date says about the components.

Matching a version after an upload or on request is :func:`match_version`: the monitoring run of
``medcyber vulns monitor`` restricted to that version (``monitoring.run_full`` with its id).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import orjson
from sqlalchemy import Text, and_, case, cast, func, or_, select
from sqlalchemy.orm import Session

from ..lifecycle.analysis import LifecycleReport
from ..sbom.model import ComponentType, SupportLevel
from ..store.models import (
    AdvisoryRow,
    EpssRow,
    Product,
    ProductVersion,
    SbomComponentRow,
    SbomRecord,
    VersionFindingRow,
)
from ..vulns.findings import LEVEL_RANK, LEVELS
from . import monitoring
from .errors import ServiceError
from .products import version_sbom

T = TypeVar("T")

ENDED_LEVELS = (SupportLevel.NO_LONGER_MAINTAINED.value, SupportLevel.ABANDONED.value)
COMPONENT_TYPES = tuple(t.value for t in ComponentType)
SUPPORT_LEVELS = (*(level.value for level in SupportLevel), "none")  # "none": nothing declared
EOS_FILTERS = ("past", "upcoming", "declared", "none")
FINDINGS_FILTERS = ("with", "without")
FAIL_ON = ("critical", "high", "medium", "low", "kev", "none")
MAX_PER_PAGE = 500
_IN = 900


def today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


@dataclass(slots=True)
class Page(Generic[T]):
    items: list[T]
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


def _bounds(page: int, per_page: int) -> tuple[int, int]:
    if page < 1:
        raise ServiceError("the page number starts at 1")
    if not 1 <= per_page <= MAX_PER_PAGE:
        raise ServiceError(f"per page is between 1 and {MAX_PER_PAGE}")
    return page, per_page


def severity_counts() -> dict[str, int]:
    return dict.fromkeys(LEVELS, 0)


# ------------------------------------------------------------------------------ device versions


@dataclass(slots=True)
class VersionSummary:
    """A device version (or a product without versions: ``version_id`` None) with its aggregates."""

    product_id: int
    product: str
    device_class: str | None
    version_id: int | None
    version: str | None
    released_on: dt.date | None
    end_of_support: dt.date | None
    sboms: int = 0
    components: int = 0
    findings: dict[str, int] = field(default_factory=severity_counts)  # open findings by severity
    kev: int = 0  # open findings listed in CISA KEV
    past_eos: int = 0  # components past their declared end of support

    @property
    def open_findings(self) -> int:
        return sum(self.findings.values())


def past_eos_clause(as_of: dt.date) -> Any:
    """Components past their declared end of support on ``as_of`` (as the lifecycle analysis reads them)."""
    c = SbomComponentRow
    return or_(and_(c.eos.is_not(None), c.eos <= as_of), c.level.in_(ENDED_LEVELS))


def _fill_aggregates(db: Session, rows: Sequence[VersionSummary], as_of: dt.date) -> None:
    by_id = {r.version_id: r for r in rows if r.version_id is not None}
    ids = sorted(by_id)
    for start in range(0, len(ids), _IN):
        chunk = ids[start : start + _IN]
        for vid, n, comps in db.execute(
            select(SbomRecord.version_id, func.count(SbomRecord.id), func.sum(SbomRecord.component_count))
            .where(SbomRecord.version_id.in_(chunk))
            .group_by(SbomRecord.version_id)
        ):
            by_id[vid].sboms = int(n)
            by_id[vid].components = int(comps or 0)
        F = VersionFindingRow
        for vid, severity, n, kev in db.execute(
            select(
                F.product_version_id,
                F.severity,
                func.count(F.id),
                func.sum(case((F.kev.is_(True), 1), else_=0)),
            )
            .where(F.product_version_id.in_(chunk), F.resolved_at.is_(None))
            .group_by(F.product_version_id, F.severity)
        ):
            row = by_id[vid]
            key = severity if severity in row.findings else "unknown"
            row.findings[key] += int(n)
            row.kev += int(kev or 0)
        C = SbomComponentRow
        for vid, n in db.execute(
            select(SbomRecord.version_id, func.count(C.id))
            .join(SbomRecord, SbomRecord.id == C.sbom_id)
            .where(SbomRecord.version_id.in_(chunk), C.is_primary.is_(False), past_eos_clause(as_of))
            .group_by(SbomRecord.version_id)
        ):
            by_id[vid].past_eos = int(n)


def version_summaries(
    db: Session,
    organisation_id: int,
    *,
    q: str | None = None,
    product_id: int | None = None,
    page: int = 1,
    per_page: int = 50,
    as_of: dt.date | None = None,
) -> Page[VersionSummary]:
    """The organisation's device versions by product name (products without versions included), one page,
    each with its SBOM, component, open finding (by severity), KEV and past-end-of-support counts."""
    page, per_page = _bounds(page, per_page)
    P, V = Product, ProductVersion
    where = [P.organisation_id == organisation_id]
    if q:
        where.append(P.name.icontains(q.strip(), autoescape=True))
    if product_id is not None:
        where.append(P.id == product_id)
    base = select(P.id).outerjoin(V, V.product_id == P.id).where(*where)
    total = db.scalar(select(func.count()).select_from(base.subquery())) or 0
    stmt = (
        select(P.id, P.name, P.device_class, V.id, V.version, V.released_on, V.end_of_support)
        .outerjoin(V, V.product_id == P.id)
        .where(*where)
        .order_by(P.name, P.id, V.id)
        .limit(per_page)
        .offset((page - 1) * per_page)
    )
    rows = [VersionSummary(*r) for r in db.execute(stmt)]
    _fill_aggregates(db, rows, as_of or today())
    return Page(rows, page, per_page, int(total))


def version_summary(db: Session, pv: ProductVersion, *, as_of: dt.date | None = None) -> VersionSummary:
    """The aggregates of one device version (already resolved inside its organisation)."""
    product = pv.product
    row = VersionSummary(
        product.id, product.name, product.device_class, pv.id, pv.version, pv.released_on, pv.end_of_support
    )
    _fill_aggregates(db, [row], as_of or today())
    return row


def product_names(db: Session, organisation_id: int, *, limit: int = 500) -> list[str]:
    return list(
        db.scalars(
            select(Product.name)
            .where(Product.organisation_id == organisation_id)
            .order_by(Product.name)
            .limit(limit)
        )
    )


# ----------------------------------------------------------------------------------- components


@dataclass(slots=True)
class ComponentItem:
    id: int
    sbom_id: int
    kind: str
    ref: str
    name: str
    version: str | None
    type: str
    group: str | None
    supplier: str | None
    purl: str | None
    cpes: list[str]
    level: str | None
    level_text: str | None
    eos: dt.date | None
    eos_text: str | None
    past_eos: bool = False
    findings: int = 0
    worst: str | None = None  # highest severity of its open findings
    kev: int = 0


def _component_filters(
    pv_id: int,
    *,
    q: str | None,
    type: str | None,
    level: str | None,
    eos: str | None,
    findings: str | None,
    as_of: dt.date,
) -> list[Any]:
    C, F = SbomComponentRow, VersionFindingRow
    where: list[Any] = [SbomRecord.version_id == pv_id, C.is_primary.is_(False)]
    if q and q.strip():
        text = q.strip()
        where.append(or_(C.name.icontains(text, autoescape=True), C.purl.icontains(text, autoescape=True)))
    if type:
        if type not in COMPONENT_TYPES:
            raise ServiceError(f"unknown component type {type!r}: one of {', '.join(COMPONENT_TYPES)}")
        where.append(C.type == type)
    if level:
        if level not in SUPPORT_LEVELS:
            raise ServiceError(f"unknown support level {level!r}: one of {', '.join(SUPPORT_LEVELS)}")
        where.append(C.level.is_(None) if level == "none" else C.level == level)
    if eos:
        if eos not in EOS_FILTERS:
            raise ServiceError(f"unknown end-of-support filter {eos!r}: one of {', '.join(EOS_FILTERS)}")
        ended = past_eos_clause(as_of)
        if eos == "past":
            where.append(ended)
        elif eos == "upcoming":
            where.append(and_(C.eos.is_not(None), C.eos > as_of, ~ended))
        elif eos == "declared":
            where.append(or_(C.eos_text.is_not(None), C.level_text.is_not(None)))
        else:
            where.append(and_(C.eos_text.is_(None), C.level_text.is_(None)))
    if findings:
        if findings not in FINDINGS_FILTERS:
            raise ServiceError(f"unknown findings filter {findings!r}: one of {', '.join(FINDINGS_FILTERS)}")
        refs = select(F.component_ref).where(F.product_version_id == pv_id, F.resolved_at.is_(None))
        where.append(C.ref.in_(refs) if findings == "with" else C.ref.not_in(refs))
    return where


def version_components(
    db: Session,
    pv_id: int,
    *,
    q: str | None = None,
    type: str | None = None,
    level: str | None = None,
    eos: str | None = None,
    findings: str | None = None,
    page: int = 1,
    per_page: int = 50,
    as_of: dt.date | None = None,
) -> Page[ComponentItem]:
    """The components of every SBOM of a device version (primary components left out), searched by a
    name or purl substring and filtered, one page, each with its open findings."""
    page, per_page = _bounds(page, per_page)
    day = as_of or today()
    C = SbomComponentRow
    where = _component_filters(pv_id, q=q, type=type, level=level, eos=eos, findings=findings, as_of=day)
    joined = select(C.id).join(SbomRecord, SbomRecord.id == C.sbom_id).where(*where)
    total = db.scalar(select(func.count()).select_from(joined.subquery())) or 0
    stmt = (
        select(
            C.id,
            C.sbom_id,
            SbomRecord.kind,
            C.ref,
            C.name,
            C.version,
            C.type,
            C.group,
            C.supplier,
            C.purl,
            cast(C.cpes, Text),
            C.level,
            C.level_text,
            C.eos,
            C.eos_text,
        )
        .join(SbomRecord, SbomRecord.id == C.sbom_id)
        .where(*where)
        .order_by(func.lower(C.name), C.version, C.id)
        .limit(per_page)
        .offset((page - 1) * per_page)
    )
    items: list[ComponentItem] = []
    for r in db.execute(stmt):
        item = ComponentItem(
            id=r[0],
            sbom_id=r[1],
            kind=r[2],
            ref=r[3],
            name=r[4],
            version=r[5],
            type=r[6],
            group=r[7],
            supplier=r[8],
            purl=r[9],
            cpes=orjson.loads(r[10]) if r[10] else [],
            level=r[11],
            level_text=r[12],
            eos=r[13],
            eos_text=r[14],
        )
        item.past_eos = (item.eos is not None and item.eos <= day) or item.level in ENDED_LEVELS
        items.append(item)
    refs = sorted({i.ref for i in items})
    if refs:
        F = VersionFindingRow
        stats: dict[str, list[Any]] = defaultdict(lambda: [0, None, 0])
        for ref, severity, n, kev in db.execute(
            select(
                F.component_ref, F.severity, func.count(F.id), func.sum(case((F.kev.is_(True), 1), else_=0))
            )
            .where(F.product_version_id == pv_id, F.resolved_at.is_(None), F.component_ref.in_(refs))
            .group_by(F.component_ref, F.severity)
        ):
            s = stats[ref]
            s[0] += int(n)
            s[2] += int(kev or 0)
            if s[1] is None or LEVEL_RANK.get(severity, 0) > LEVEL_RANK.get(s[1], 0):
                s[1] = severity
        for item in items:
            if item.ref in stats:
                item.findings, item.worst, item.kev = stats[item.ref]
    return Page(items, page, per_page, int(total))


def component_types(db: Session, pv_id: int) -> list[str]:
    """The component types present in a device version (for a filter's choices)."""
    C = SbomComponentRow
    return sorted(
        db.scalars(
            select(C.type)
            .join(SbomRecord, SbomRecord.id == C.sbom_id)
            .where(SbomRecord.version_id == pv_id, C.is_primary.is_(False))
            .distinct()
        )
    )


# ------------------------------------------------------------------------------------- findings


@dataclass(slots=True)
class FindingItem:
    id: int
    vuln_id: str
    component_ref: str
    component: str
    component_version: str | None
    purl: str | None
    cpe: str | None
    summary: str | None
    status: str
    severity: str
    score: float | None
    kev: bool
    fixed: list[str]
    nearest_fix: str | None
    evidence: list[str]
    first_seen_at: dt.datetime
    resolved_at: dt.datetime | None
    epss: float | None
    epss_percentile: float | None


def _severity_rank() -> Any:
    return case(LEVEL_RANK, value=VersionFindingRow.severity, else_=0)


def version_findings(
    db: Session,
    pv_id: int,
    *,
    severity: str | None = None,
    kev_only: bool = False,
    status: str | None = None,
    q: str | None = None,
    include_resolved: bool = False,
    page: int = 1,
    per_page: int = 50,
) -> Page[FindingItem]:
    """The findings of a device version, most urgent first (affected before conditional, KEV, severity,
    CVSS score), with EPSS, fixed versions and the evidence that matched; open ones unless asked."""
    page, per_page = _bounds(page, per_page)
    F = VersionFindingRow
    where: list[Any] = [F.product_version_id == pv_id]
    if not include_resolved:
        where.append(F.resolved_at.is_(None))
    if severity:
        if severity not in LEVELS:
            raise ServiceError(f"unknown severity {severity!r}: one of {', '.join(LEVELS)}")
        where.append(F.severity == severity)
    if kev_only:
        where.append(F.kev.is_(True))
    if status:
        if status not in ("affected", "conditional"):
            raise ServiceError("the finding status is 'affected' or 'conditional'")
        where.append(F.status == status)
    if q and q.strip():
        text = q.strip()
        where.append(
            or_(
                F.vuln_id.icontains(text, autoescape=True),
                F.component_name.icontains(text, autoescape=True),
            )
        )
    total = db.scalar(select(func.count(F.id)).where(*where)) or 0
    stmt = (
        select(
            F.id,
            F.vuln_id,
            F.component_ref,
            F.component_name,
            F.component_version,
            F.purl,
            F.cpe,
            F.summary,
            F.status,
            F.severity,
            F.score,
            F.kev,
            F.fixed,
            F.nearest_fix,
            F.evidence,
            F.first_seen_at,
            F.resolved_at,
            EpssRow.epss,
            EpssRow.percentile,
        )
        .outerjoin(EpssRow, EpssRow.cve_id == F.vuln_id)
        .where(*where)
        .order_by(
            F.resolved_at.is_not(None),
            F.status != "affected",
            F.kev.is_(False),
            _severity_rank().desc(),
            func.coalesce(F.score, -1.0).desc(),
            F.vuln_id,
            F.component_name,
            F.id,
        )
        .limit(per_page)
        .offset((page - 1) * per_page)
    )
    items = [
        FindingItem(
            id=r[0],
            vuln_id=r[1],
            component_ref=r[2],
            component=r[3],
            component_version=r[4],
            purl=r[5],
            cpe=r[6],
            summary=r[7],
            status=r[8],
            severity=r[9],
            score=r[10],
            kev=bool(r[11]),
            fixed=r[12].split(", ") if r[12] else [],
            nearest_fix=r[13],
            evidence=r[14].split("\n") if r[14] else [],
            first_seen_at=r[15],
            resolved_at=r[16],
            epss=r[17],
            epss_percentile=r[18],
        )
        for r in db.execute(stmt)
    ]
    return Page(items, page, per_page, int(total))


@dataclass(slots=True)
class FindingsSummary:
    """Open findings of a device version: by severity, KEV-listed, and the affected (not conditional)
    ones by severity -- what a pipeline's ``fail_on`` threshold is judged on, as ``medcyber scan`` does."""

    by_severity: dict[str, int] = field(default_factory=severity_counts)
    affected_by_severity: dict[str, int] = field(default_factory=severity_counts)
    kev: int = 0
    affected_kev: int = 0
    conditional: int = 0

    @property
    def open(self) -> int:
        return sum(self.by_severity.values())

    def at_or_above(self, threshold: str) -> int:
        """Affected findings at or above a level ("kev": listed in KEV; "none": never any)."""
        if threshold not in FAIL_ON:
            raise ServiceError(f"fail_on is one of {', '.join(FAIL_ON)}, not {threshold!r}")
        if threshold == "none":
            return 0
        if threshold == "kev":
            return self.affected_kev
        rank = LEVEL_RANK[threshold]
        return sum(
            n
            for level, n in self.affected_by_severity.items()
            if level != "unknown" and LEVEL_RANK[level] >= rank
        )


def findings_summary(db: Session, pv_id: int) -> FindingsSummary:
    F = VersionFindingRow
    out = FindingsSummary()
    for severity, status, n, kev in db.execute(
        select(F.severity, F.status, func.count(F.id), func.sum(case((F.kev.is_(True), 1), else_=0)))
        .where(F.product_version_id == pv_id, F.resolved_at.is_(None))
        .group_by(F.severity, F.status)
    ):
        key = severity if severity in out.by_severity else "unknown"
        out.by_severity[key] += int(n)
        out.kev += int(kev or 0)
        if status == "affected":
            out.affected_by_severity[key] += int(n)
            out.affected_kev += int(kev or 0)
        else:
            out.conditional += int(n)
    return out


def new_findings_count(db: Session, pv_id: int, run_id: int | None) -> int:
    """Findings of this version that the run opened (new, or found again after a resolution)."""
    if run_id is None:
        return 0
    F = VersionFindingRow
    return int(
        db.scalar(select(func.count(F.id)).where(F.product_version_id == pv_id, F.opened_run_id == run_id))
        or 0
    )


def advisories_available(db: Session) -> bool:
    return db.scalar(select(AdvisoryRow.pk).limit(1)) is not None


# ------------------------------------------------------------------------------ matching, lifecycle


def match_version(db: Session, pv: ProductVersion, *, trigger: str = "import") -> monitoring.RunSummary:
    """Match one device version's SBOMs against the whole vulnerability database and reconcile its stored
    findings (opened, seen again, resolved), as ``medcyber vulns monitor`` does for a pending version."""
    return monitoring.run_full(db, trigger=trigger, version_ids=[pv.id])


def version_lifecycle(
    db: Session, pv: ProductVersion, *, as_of: dt.date | None = None
) -> LifecycleReport | None:
    """The end-of-support analysis of a stored device version (all its SBOMs merged, as
    ``medcyber lifecycle check PRODUCT@VERSION`` does); None when it has no SBOM."""
    from ..lifecycle.analysis import analyse

    if not pv.sboms:
        return None
    return analyse(version_sbom(db, pv.product, pv), as_of=as_of or today())


__all__ = [
    "COMPONENT_TYPES",
    "EOS_FILTERS",
    "FAIL_ON",
    "FINDINGS_FILTERS",
    "SUPPORT_LEVELS",
    "ComponentItem",
    "FindingItem",
    "FindingsSummary",
    "Page",
    "VersionSummary",
    "component_types",
    "findings_summary",
    "match_version",
    "past_eos_clause",
    "version_components",
    "version_findings",
    "version_lifecycle",
    "version_summaries",
    "version_summary",
]
