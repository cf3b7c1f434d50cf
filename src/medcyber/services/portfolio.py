"""An organisation's device portfolio at a glance: the figures of the dashboard, aggregated in SQL.

Every figure comes from aggregate statements over the organisation's rows (GROUP BY per version, then
conditional sums; LIMIT for the top lists) reading narrow indexes (migration 0008): nothing loops over
device versions in Python, and the number of queries does not depend on the portfolio's size. At 6,000
device versions (172,000 findings) they take about half a second, so ``cached_overview`` keeps the result
until the portfolio changes (see ``change_stamp``); docs/performance.md has the figures.

Definitions (the dashboard and ``docs/`` say the same):

* **Open finding**: a stored monitoring finding (``version_findings``, kept up to date by
  ``services/monitoring.py``) that is not resolved. KEV-listed: its vulnerability is in CISA's Known
  Exploited Vulnerabilities catalogue.
* **Risk order of device versions**: most open KEV-listed findings first, then most critical, then most
  high, then most open findings.
* **End of support of a component**: what the SBOM declares for it (FDA's "end-of-support" and "level of
  support" elements, stored with each component at import). A component is **past end of support** on
  ``as_of`` when its declared end-of-support date is on or before ``as_of``, or its declared level is
  "no longer maintained" or "abandoned" (``inventory.past_eos_clause``: the same rule as the product and
  version lists). **Due** within 12 months: a declared date after ``as_of`` and at most one year later,
  on a component not already past end of support.
* **Supportability horizon of a device version**: the earliest declared end-of-support date, after
  ``as_of``, among its components that are still supported -- the day the version first contains an
  unsupported component unless it is updated (``LifecycleReport.horizon`` of ``lifecycle.analysis`` for
  the version's components, with the declared values only). The portfolio's horizon is the earliest of
  its versions' horizons. A version
  whose horizon falls before its own planned end of support (``product_versions.end_of_support``) cannot
  be supported until then with its current components.

The endoflife.date catalogue's dates (derived per component by ``lifecycle.analysis`` on each version's
page) are not part of these aggregates: they are computed from the catalogue at analysis time, not
stored.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Integer, and_, case, func, literal, or_, select, text, union_all
from sqlalchemy.orm import Session

from ..benchmark.models import Position
from ..maturity.scoring import AssessmentScore
from ..store.models import (
    SUPPORT_INDEX_WHERE,
    Assessment,
    AuditEvent,
    MatchRunRow,
    Organisation,
    Product,
    ProductVersion,
    SbomComponentRow,
    SbomRecord,
    VersionFindingRow,
)
from ..vulns.findings import LEVELS
from . import assessments as assess_svc
from . import benchmark as bench_svc
from . import inventory
from .audit_hooks import AUDITED
from .errors import NotFoundError
from .inventory import ENDED_LEVELS

TOP = 10


def one_year_after(day: dt.date) -> dt.date:
    """The same day a year later (28 February for 29 February)."""
    try:
        return day.replace(year=day.year + 1)
    except ValueError:
        return day.replace(year=day.year + 1, day=28)


# ------------------------------------------------------------------------------------------ results


@dataclass(frozen=True, slots=True)
class PortfolioCounts:
    products: int
    versions: int
    versions_with_sbom: int
    sboms: int
    components: int  # components of the stored SBOMs (primary components not counted)


@dataclass(frozen=True, slots=True)
class VersionRisk:
    version_id: int
    product_id: int
    product: str
    version: str
    kev: int
    critical: int
    high: int
    medium: int
    low: int
    open: int


@dataclass(frozen=True, slots=True)
class FindingsSummary:
    open: int
    kev: int
    versions_affected: int  # device versions with at least one open finding
    versions_with_kev: int
    conditional: int  # open findings whose match depends on an unmet platform condition
    by_severity: dict[str, int]  # every level of ``vulns.findings.LEVELS``, most severe first
    riskiest: list[VersionRisk]  # the device versions with the highest risk, in risk order


@dataclass(frozen=True, slots=True)
class UnsupportedComponent:
    name: str
    version: str | None
    versions: int  # device versions that contain it
    eos: dt.date | None  # the earliest declared end-of-support date, if any
    level: str | None


@dataclass(frozen=True, slots=True)
class VersionHorizon:
    version_id: int
    product_id: int
    product: str
    version: str
    horizon: dt.date
    components: list[str]  # "name version" of the components whose support ends on the horizon
    device_end_of_support: dt.date | None

    @property
    def bounds_device(self) -> bool:
        """The horizon falls before the version's own planned end of support."""
        return self.device_end_of_support is not None and self.horizon < self.device_end_of_support


@dataclass(frozen=True, slots=True)
class SupportSummary:
    as_of: dt.date
    due_until: dt.date
    past: int  # component instances past end of support
    past_versions: int
    due: int  # component instances whose support ends within 12 months
    due_versions: int
    dated: int  # component instances with a declared end-of-support date
    versions_with_horizon: int
    versions_bounded: int  # versions whose horizon falls before their own planned end of support
    horizon: dt.date | None  # the portfolio's: the earliest horizon of any version
    nearest: list[VersionHorizon] = field(default_factory=list)
    top_unsupported: list[UnsupportedComponent] = field(default_factory=list)


# ------------------------------------------------------------------------------------------ queries


def _n(cond: Any) -> Any:
    """How many rows meet ``cond`` (a portable conditional count)."""
    return func.sum(case((cond, 1), else_=0))


def _names(session: Session, version_ids: list[int]) -> dict[int, tuple[int, str, str, dt.date | None]]:
    """(product id, product name, version label, planned end of support) of a few device versions."""
    if not version_ids:
        return {}
    rows = session.execute(
        select(
            ProductVersion.id,
            Product.id,
            Product.name,
            ProductVersion.version,
            ProductVersion.end_of_support,
        )
        .join(Product, Product.id == ProductVersion.product_id)
        .where(ProductVersion.id.in_(version_ids))
    )
    return {r[0]: (r[1], r[2], r[3], _as_date(r[4])) for r in rows}


def counts(session: Session, org_id: int) -> PortfolioCounts:
    """Products, device versions (with an SBOM), SBOMs and their components: one statement."""
    in_org = Product.organisation_id == org_id
    products = select(func.count()).select_from(Product).where(in_org).scalar_subquery()
    versions = select(func.count()).select_from(ProductVersion).join(Product).where(in_org).scalar_subquery()
    sbom_base = (
        select(SbomRecord.id)
        .join(ProductVersion, ProductVersion.id == SbomRecord.version_id)
        .join(Product, Product.id == ProductVersion.product_id)
        .where(in_org)
    )
    sboms = sbom_base.with_only_columns(func.count()).scalar_subquery()
    with_sbom = sbom_base.with_only_columns(
        func.count(func.distinct(SbomRecord.version_id))
    ).scalar_subquery()
    components = sbom_base.with_only_columns(
        func.coalesce(func.sum(SbomRecord.component_count), 0)
    ).scalar_subquery()
    row = session.execute(select(products, versions, with_sbom, sboms, components)).one()
    return PortfolioCounts(*(int(v or 0) for v in row))


def findings(session: Session, org_id: int, *, top: int = TOP) -> FindingsSummary:
    """Open findings by severity, KEV-listed, versions affected, and the ``top`` riskiest versions: one
    statement, one pass over the organisation's open findings (grouped per version, then summed)."""
    F = VersionFindingRow
    levels = LEVELS[:-1]  # "unknown" is whatever is not one of the others
    per = (
        select(
            F.product_version_id.label("vid"),
            func.count().label("open"),
            _n(F.kev.is_(True)).label("kev"),
            *(_n(F.severity == lv).label(lv) for lv in levels),
            _n(F.status == "conditional").label("conditional"),
        )
        .join(ProductVersion, ProductVersion.id == F.product_version_id)
        .join(Product, Product.id == ProductVersion.product_id)
        .where(Product.organisation_id == org_id, F.resolved_at.is_(None))
        .group_by(F.product_version_id)
    ).cte("per_version")
    p = per.c
    totals = select(
        literal(0).label("part"),
        literal(None, Integer).label("vid"),
        func.sum(p.open),
        func.sum(p.kev),
        *(func.sum(p[lv]) for lv in levels),
        func.sum(p.conditional),
        func.count(),
        _n(p.kev > 0),
    )
    ranked = (
        select(per)
        .order_by(p.kev.desc(), p.critical.desc(), p.high.desc(), p.open.desc(), p.vid)
        .limit(top)
        .subquery()
    )
    r = ranked.c
    best = select(
        literal(1),
        r.vid,
        r.open,
        r.kev,
        *(r[lv] for lv in levels),
        r.conditional,
        literal(0),
        literal(0),
    )
    rows: list[Any] = list(session.execute(union_all(totals, best)))
    total = next(row for row in rows if row[0] == 0)
    by_sev: dict[str, int] = {lv: int(total[4 + i] or 0) for i, lv in enumerate(levels)}
    opened = int(total[2] or 0)
    by_sev["unknown"] = opened - sum(by_sev.values())
    order = [row for row in rows if row[0] == 1]
    order.sort(key=lambda row: (-row[3], -row[4], -row[5], -row[2], row[1]))
    names = _names(session, [row[1] for row in order])
    riskiest = [
        VersionRisk(
            version_id=row[1],
            product_id=names[row[1]][0],
            product=names[row[1]][1],
            version=names[row[1]][2],
            kev=int(row[3]),
            critical=int(row[4]),
            high=int(row[5]),
            medium=int(row[6]),
            low=int(row[7]),
            open=int(row[2]),
        )
        for row in order
        if row[1] in names
    ]
    return FindingsSummary(
        open=opened,
        kev=int(total[3] or 0),
        versions_affected=int(total[-2] or 0),
        versions_with_kev=int(total[-1] or 0),
        conditional=int(total[4 + len(levels)] or 0),
        by_severity=by_sev,
        riskiest=riskiest,
    )


def riskiest_versions(session: Session, org_id: int, *, limit: int = TOP) -> list[VersionRisk]:
    """The device versions with the most open KEV-listed findings, then critical, high, open ones."""
    return findings(session, org_id, top=limit).riskiest


def _org_components(*columns: Any) -> Any:
    """The organisation's SBOM components (primary components left out) that declare an end-of-support
    date or an ended level -- the rows of the partial index ``ix_sbom_components_support``."""
    C = SbomComponentRow
    return (
        select(*columns)
        .select_from(C)
        .join(SbomRecord, SbomRecord.id == C.sbom_id)
        .join(ProductVersion, ProductVersion.id == SbomRecord.version_id)
        .join(Product, Product.id == ProductVersion.product_id)
        # the index's own condition, verbatim: SQLite uses a partial index only for a query that says so
        .where(text(f"({SUPPORT_INDEX_WHERE})"), C.is_primary.is_(False))
    )


def support(
    session: Session, org_id: int, *, as_of: dt.date | None = None, limit: int = TOP
) -> SupportSummary:
    """Components past (or within 12 months of) their declared end of support, and the supportability
    horizon of the device versions (see the module's definitions): one statement for the figures and the
    nearest horizons (one pass, grouped per version), one for the most widespread unsupported components,
    and one each for the names and the components of the few versions shown."""
    C = SbomComponentRow
    day = as_of or dt.date.today()
    until = one_year_after(day)
    ended = inventory.past_eos_clause(day)  # one definition for the lists and the dashboard
    supported_dated = and_(C.eos > day, or_(C.level.is_(None), C.level.not_in(ENDED_LEVELS)))
    due = and_(supported_dated, C.eos <= until)
    vid = SbomRecord.version_id
    per = (
        _org_components(
            vid.label("vid"),
            _n(ended).label("past"),
            _n(due).label("due"),
            _n(C.eos.is_not(None)).label("dated"),
            func.min(case((supported_dated, C.eos))).label("horizon"),
        )
        .where(Product.organisation_id == org_id)
        .group_by(vid)
    ).cte("per_version")
    p = per.c
    bounded = and_(ProductVersion.end_of_support.is_not(None), p.horizon < ProductVersion.end_of_support)
    totals = (
        select(
            literal(0).label("part"),
            literal(None, Integer).label("vid"),
            func.sum(p.past),
            _n(p.past > 0),
            func.sum(p.due),
            _n(p.due > 0),
            func.sum(p.dated),
            func.count(p.horizon),
            _n(bounded),
            func.min(p.horizon),
        )
        .select_from(per)
        .join(ProductVersion, ProductVersion.id == p.vid)
    )
    near = (
        select(p.vid, p.horizon).where(p.horizon.is_not(None)).order_by(p.horizon, p.vid).limit(limit)
    ).subquery()
    nearest_rows = select(
        literal(1),
        near.c.vid,
        literal(0),
        literal(0),
        literal(0),
        literal(0),
        literal(0),
        literal(0),
        literal(0),
        near.c.horizon,
    )
    rows = list(session.execute(union_all(totals, nearest_rows)))
    total = next(row for row in rows if row[0] == 0)
    near_list = sorted(
        ((row[1], _as_date(row[9])) for row in rows if row[0] == 1), key=lambda t: (t[1], t[0])
    )
    near_ids = [v for v, _ in near_list]
    names = _names(session, near_ids)
    at_horizon: dict[int, list[str]] = {i: [] for i in near_ids}
    if near_ids:
        wanted = dict(near_list)
        comp_rows = session.execute(
            select(vid, C.name, C.version, C.eos)
            .join(SbomRecord, SbomRecord.id == C.sbom_id)
            .where(vid.in_(near_ids), C.is_primary.is_(False), supported_dated)
            .order_by(vid, C.name, C.version)
        )
        for v_id, name, version, eos in comp_rows:
            if _as_date(eos) == wanted[v_id]:
                label = f"{name} {version}" if version else name
                if label not in at_horizon[v_id]:
                    at_horizon[v_id].append(label)
    nearest = [
        VersionHorizon(
            version_id=v,
            product_id=names[v][0],
            product=names[v][1],
            version=names[v][2],
            horizon=h or day,
            components=at_horizon.get(v, []),
            device_end_of_support=names[v][3],
        )
        for v, h in near_list
        if v in names
    ]
    versions = func.count(func.distinct(vid))
    top_rows = session.execute(
        _org_components(C.name, C.version, versions, func.min(C.eos), func.max(C.level))
        .where(Product.organisation_id == org_id, ended)
        .group_by(C.name, C.version)
        .order_by(versions.desc(), C.name, C.version)
        .limit(limit)
    ).all()
    top_unsupported = [
        UnsupportedComponent(name=r[0], version=r[1], versions=int(r[2]), eos=_as_date(r[3]), level=r[4])
        for r in top_rows
    ]
    return SupportSummary(
        as_of=day,
        due_until=until,
        past=int(total[2] or 0),
        past_versions=int(total[3] or 0),
        due=int(total[4] or 0),
        due_versions=int(total[5] or 0),
        dated=int(total[6] or 0),
        versions_with_horizon=int(total[7] or 0),
        versions_bounded=int(total[8] or 0),
        horizon=_as_date(total[9]),
        nearest=nearest,
        top_unsupported=top_unsupported,
    )


def _as_date(value: Any) -> dt.date | None:
    """Dates come back as dates from the ORM columns, but as ISO text from an aggregate on SQLite."""
    if value is None or (isinstance(value, dt.date) and not isinstance(value, dt.datetime)):
        return value
    if isinstance(value, dt.datetime):
        return value.date()
    return dt.date.fromisoformat(str(value)[:10])


@dataclass(frozen=True, slots=True)
class Portfolio:
    counts: PortfolioCounts
    findings: FindingsSummary
    support: SupportSummary

    @property
    def riskiest(self) -> list[VersionRisk]:
        return self.findings.riskiest


def overview(session: Session, org_id: int, *, as_of: dt.date | None = None) -> Portfolio:
    """Everything the dashboard shows about the device portfolio (computed now: see ``cached_overview``)."""
    return Portfolio(
        counts=counts(session, org_id),
        findings=findings(session, org_id),
        support=support(session, org_id, as_of=as_of),
    )


# --- the overview, kept until what it was computed from changes -----------------------------------------

# The entities whose changes the overview depends on, as the audit trail names them.
INVENTORY_ENTITIES = tuple(AUDITED[m].entity for m in (Product, ProductVersion, SbomRecord))
_OVERVIEWS: OrderedDict[Hashable, Portfolio] = OrderedDict()
_OVERVIEWS_LOCK = threading.Lock()
OVERVIEWS_KEPT = 64


def change_stamp(session: Session, org_id: int) -> tuple[Any, ...] | None:
    """What identifies the state the overview is computed from, in two indexed lookups: the organisation's
    last audited change to a product, device version or SBOM (id and chain hash), and the last match run.

    The overview reads products, versions, SBOMs with their components (written once, with their SBOM) and
    findings. Every create, update and delete of the first three is an audit event of the organisation
    (``services/audit_hooks``, installed on every store session), and findings change only inside a match
    run (``services/monitoring``), which adds a ``match_runs`` row in the same transaction. None when the
    organisation has no audited change at all (rows written around the audit trail): nothing is kept then.
    """
    E = AuditEvent
    last = (
        select(func.max(E.id))
        .where(E.organisation_id == org_id, E.entity_type.in_(INVENTORY_ENTITIES))
        .scalar_subquery()
    )
    change = session.execute(select(E.id, E.hash).where(E.id == last)).first()
    if change is None:
        return None
    run = session.execute(
        select(MatchRunRow.id, MatchRunRow.started_at).order_by(MatchRunRow.id.desc()).limit(1)
    ).first()
    return (change[0], change[1], *(run or (None, None)))


def cached_overview(session: Session, org_id: int, *, as_of: dt.date | None = None) -> Portfolio:
    """``overview``, computed once per state of the organisation's portfolio (``change_stamp``) and day,
    and kept in this process (the last few dozen): a page that is viewed again and again costs the two
    lookups of the stamp, and the aggregates are recomputed after any import, edit, deletion or match run."""
    day = as_of or dt.date.today()
    stamp = change_stamp(session, org_id)
    if stamp is None:
        return overview(session, org_id, as_of=day)
    key = (session.get_bind().engine.url.render_as_string(hide_password=True), org_id, day, stamp)
    with _OVERVIEWS_LOCK:
        kept = _OVERVIEWS.get(key)
        if kept is not None:
            _OVERVIEWS.move_to_end(key)
            return kept
    result = overview(session, org_id, as_of=day)
    with _OVERVIEWS_LOCK:
        _OVERVIEWS[key] = result
        while len(_OVERVIEWS) > OVERVIEWS_KEPT:
            _OVERVIEWS.popitem(last=False)
    return result


# ------------------------------------------------------------------------------------------ maturity


@dataclass(frozen=True, slots=True)
class Progress:
    assessment: Assessment
    done: int  # questions answered or marked not applicable
    total: int

    @property
    def percent(self) -> int:
        return round(100 * self.done / self.total) if self.total else 0


@dataclass(frozen=True, slots=True)
class Maturity:
    latest: Assessment | None  # the newest complete assessment
    score: AssessmentScore | None  # its score
    previous_composite: float | None  # the composite of the complete assessment before it
    history: list[tuple[dt.date, AssessmentScore]]  # every complete assessment, oldest first
    cohort: str | None  # the title of the cohort the position is taken in
    position: Position | None
    position_note: str | None  # why there is no position, when there is none
    in_progress: Progress | None


def maturity(session: Session, org: Organisation) -> Maturity:
    """The organisation's maturity for the dashboard: the latest complete assessment and its score, the
    trend over the dated complete assessments, the position among the other organisations of the default
    cohort, and the progress of the assessment being answered (services ``assessments`` and ``benchmark``)."""
    history = assess_svc.history(session, org)
    latest = assess_svc.latest_complete(session, org)
    score = history[-1][1] if history else None
    previous = history[-2][1].composite if len(history) > 1 else None
    cohort_title: str | None = None
    position: Position | None = None
    note: str | None = None
    if latest is not None:
        try:
            cohort = bench_svc.get_cohort(session)
        except NotFoundError:
            note = "there is no default benchmark cohort yet"
        else:
            cohort_title = cohort.title
            position = bench_svc.org_position(session, org, cohort, latest)
            if position.composite is None:
                note = f"fewer than {cohort.min_cell} other organisations in the cohort (disclosure rule)"
    progress: Progress | None = None
    open_a = assess_svc.open_assessment(session, org)
    if open_a is not None:
        cats = assess_svc.score_of(open_a).categories.values()
        progress = Progress(
            assessment=open_a,
            done=sum(c.answered + c.not_applicable for c in cats),
            total=sum(c.total for c in cats),
        )
    return Maturity(
        latest=latest,
        score=score,
        previous_composite=previous,
        history=history,
        cohort=cohort_title,
        position=position,
        position_note=note,
        in_progress=progress,
    )
