"""Postmarket monitoring: the findings of every device version kept in the store, re-matched incrementally.

* ``run_full`` matches every product version's SBOM(s) (merged per version, as ``version_sbom`` merges
  them) against the whole index (``matcher.load_index``) and reconciles the stored findings: a finding
  seen for the first time is opened in this run, one seen again gets ``last_run_id`` updated, an open one
  no longer matched is resolved. It also records, per version, the SBOMs it matched and the package keys
  of their components (``version_packages``): what an incremental run looks candidates up by.
* ``run_incremental`` re-matches only the advisories an import or sync changed, widened to every advisory
  sharing an id or alias with them (a finding merges them all) and to every id of the stored findings
  they touch. The candidate versions are found with indexed queries: versions with a component whose
  (ecosystem, normalised name) or CPE (part, vendor, product) those advisories name, and versions with an
  open finding under one of those ids. Only findings under those ids are opened, updated or resolved.
* ``monitor`` is what ``medcyber vulns monitor`` runs: a full match the first time (or with ``full``);
  afterwards one run that matches the *pending* versions (never matched, or whose set of SBOMs changed
  since) against the whole index, and re-matches incrementally the advisories and KEV entries written by
  the imports since the generation of the last run.
* ``new_findings`` lists what a run opened ("new since last run"); ``affected`` answers "which device
  versions does this advisory affect" from ``version_finding_ids`` (every id and alias of every finding)
  with one indexed query.

A finding's identity is (product version, component ref, preferred vulnerability id). When the preferred
id of a vulnerability changes (an advisory adds a CVE alias to a GHSA-only vulnerability), the open finding
sharing an id with it is renamed, not resolved and reopened.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import orjson
from sqlalchemy import Text, cast, delete, func, insert, select, update
from sqlalchemy.orm import Session, aliased

from ..sbom.model import Component, ComponentType, DocumentInfo, Sbom
from ..sbom.purl import parse_purl
from ..store.models import (
    AdvisoryRow,
    KevRow,
    MatchRunRow,
    MonitoredVersionRow,
    Organisation,
    Product,
    ProductVersion,
    SbomComponentRow,
    SbomRecord,
    VersionFindingIdRow,
    VersionFindingRow,
    VersionPackageRow,
    VulnImportRow,
)
from ..vulns.cpe import CpeError, parse_cpe
from ..vulns.findings import LEVEL_RANK, Finding
from ..vulns.matcher import MatchSet, VulnIndex, build_findings, load_index, match_components, purl_package
from . import vulndb
from .errors import NotFoundError, ServiceError
from .products import merge_sboms

TRIGGERS = ("full", "import", "sync", "manual")
CHUNK_VERSIONS = 200  # device versions loaded, matched and reconciled together
_IN = 900  # bound parameters per IN (...)
CPE_KEY = "CPE"  # version_packages.ecosystem of CPE keys; name is "part:vendor:product"

# the columns a re-match may change (compared before writing)
_VALUE_COLUMNS = (
    "component_name",
    "component_version",
    "purl",
    "cpe",
    "summary",
    "severity",
    "score",
    "kev",
    "status",
    "evidence",
    "fixed",
    "nearest_fix",
)


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def _chunks(items: Sequence[Any], size: int = _IN) -> Iterator[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """Matching allocates many short-lived acyclic objects next to a large index: pause the cyclic GC."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


# ------------------------------------------------------------------------------------------ results


@dataclass(slots=True)
class RunSummary:
    """What one run did. ``run_id`` is None when there was nothing to run (no device version matched yet)."""

    run_id: int | None
    trigger: str
    generation: int
    advisories_considered: int = 0
    versions_matched: int = 0
    new_findings: int = 0
    resolved_findings: int = 0
    versions_with_new: int = 0
    pending_versions: int = 0  # versions with SBOMs that this run did not match (see ``monitor``)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def line(self) -> str:
        return f"{self.new_findings} new finding(s) in {self.versions_with_new} device version(s)"


@dataclass(slots=True)
class StoredFinding:
    """A stored finding with the product and version it belongs to."""

    finding_id: int
    organisation: str
    product: str
    version: str
    product_version_id: int
    component_ref: str
    component: str
    component_version: str | None
    purl: str | None
    cpe: str | None
    vuln_id: str
    summary: str | None
    status: str
    severity: str
    score: float | None
    kev: bool
    fixed: list[str]
    nearest_fix: str | None
    evidence: list[str]
    first_seen_at: dt.datetime
    first_run_id: int | None
    opened_run_id: int | None
    resolved_at: dt.datetime | None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["first_seen_at"] = self.first_seen_at.isoformat()
        d["resolved_at"] = self.resolved_at.isoformat() if self.resolved_at else None
        return d


@dataclass(slots=True)
class AffectedVersion:
    """A row of ``affected``: one affected component of one device version (a light row: the question
    is asked about advisories that hit thousands of versions)."""

    finding_id: int
    organisation: str
    product: str
    version: str
    product_version_id: int
    component_ref: str
    component: str
    component_version: str | None
    purl: str | None
    vuln_id: str
    status: str
    severity: str
    score: float | None
    kev: bool
    nearest_fix: str | None
    first_seen_at: dt.datetime
    resolved_at: dt.datetime | None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["first_seen_at"] = self.first_seen_at.isoformat()
        d["resolved_at"] = self.resolved_at.isoformat() if self.resolved_at else None
        return d


# ------------------------------------------------------------------------------- loading the fleet


@dataclass(slots=True)
class _VersionInput:
    version_id: int
    signature: str  # the ids of the SBOMs matched, sorted, comma-separated ("" when it has none)
    components: list[Component]
    platforms: list[Component]


_TYPES = {t.value: t for t in ComponentType}


def _signatures(session: Session, version_ids: Iterable[int] | None = None) -> dict[int, str]:
    """The SBOM set of each product version (every version when ``version_ids`` is None)."""
    out: dict[int, list[int]] = defaultdict(list)
    if version_ids is None:
        for vid in session.scalars(select(ProductVersion.id)):
            out[vid] = []
        for vid, sid in session.execute(select(SbomRecord.version_id, SbomRecord.id)):
            out[vid].append(sid)
    else:
        wanted = sorted(set(version_ids))
        for chunk in _chunks(wanted):
            for vid in chunk:
                out[vid] = []
            for vid, sid in session.execute(
                select(SbomRecord.version_id, SbomRecord.id).where(SbomRecord.version_id.in_(chunk))
            ):
                out[vid].append(sid)
    return {vid: ",".join(str(s) for s in sorted(sids)) for vid, sids in out.items()}


def _load_versions(session: Session, version_ids: Sequence[int]) -> list[_VersionInput]:
    """The components to match of each version: its SBOM, or its SBOMs merged as ``version_sbom`` does,
    with the primary component matched when it has a purl or CPE, else kept as a platform (as a scan)."""
    records: dict[int, list[Any]] = defaultdict(list)
    names: dict[int, tuple[str, str, str | None]] = {}
    for chunk in _chunks(sorted(set(version_ids))):
        stmt = (
            select(
                ProductVersion.id,
                ProductVersion.version,
                Product.name,
                Organisation.name,
                SbomRecord.id,
                SbomRecord.format,
                SbomRecord.spec_version,
                SbomRecord.encoding,
            )
            .join(Product, Product.id == ProductVersion.product_id)
            .join(Organisation, Organisation.id == Product.organisation_id)
            .outerjoin(SbomRecord, SbomRecord.version_id == ProductVersion.id)
            .where(ProductVersion.id.in_(chunk))
            .order_by(ProductVersion.id, SbomRecord.id)
        )
        for vid, version, pname, oname, sid, fmt, spec, enc in session.execute(stmt):
            names[vid] = (pname, version, oname)
            if sid is not None:
                records[vid].append((sid, fmt, spec, enc))
    sbom_ids = sorted(r[0] for recs in records.values() for r in recs)
    comps: dict[int, list[Component]] = defaultdict(list)
    primary: dict[int, Component] = {}
    c = SbomComponentRow.__table__.c
    cols = (
        c.sbom_id,
        c.is_primary,
        c.ref,
        c.name,
        c.version,
        c.type,
        c.group,
        c.supplier,
        c.manufacturer,
        c.purl,
        cast(c.cpes, Text),
        c.parent_ref,
    )
    loads = orjson.loads
    for chunk in _chunks(sbom_ids):
        stmt = select(*cols).where(c.sbom_id.in_(chunk)).order_by(c.sbom_id, c.position, c.id)
        result: Any = session.execute(stmt)
        for (
            sid,
            is_primary,
            ref,
            name,
            version,
            ctype,
            group,
            supplier,
            manuf,
            purl,
            cpes,
            parent,
        ) in result:
            comp = Component(
                ref=ref,
                name=name,
                version=version,
                type=_TYPES.get(ctype, ComponentType.OTHER),
                supplier=supplier,
                manufacturer=manuf,
                group=group,
                purl=purl,
                cpes=tuple(loads(cpes)) if cpes else (),
                parent=parent,
            )
            if is_primary:
                primary[sid] = comp
            else:
                comps[sid].append(comp)
    out: list[_VersionInput] = []
    for vid in sorted(names):
        recs = records.get(vid, [])
        sboms = [
            Sbom(
                document=DocumentInfo(format=fmt, spec_version=spec, encoding=enc),
                components=comps.get(sid, []),
                primary_component=primary.get(sid),
            )
            for sid, fmt, spec, enc in recs
        ]
        signature = ",".join(str(r[0]) for r in recs)
        if not sboms:
            out.append(_VersionInput(vid, signature, [], []))
            continue
        if len(sboms) == 1:
            sbom = sboms[0]
        else:
            pname, pversion, owner = names[vid]
            sbom = merge_sboms(sboms, name=pname, version=pversion, supplier=owner)
        members = list(sbom.components)
        platforms: list[Component] = []
        pc = sbom.primary_component
        if pc is not None and all(m.ref != pc.ref for m in members):
            if pc.purl or pc.cpes:
                members.append(pc)
            else:
                platforms.append(pc)
        out.append(_VersionInput(vid, signature, members, platforms))
    return out


def package_keys(components: Iterable[Component]) -> set[tuple[str, str]]:
    """The keys the matcher looks a component up by: (OSV ecosystem, normalised name) of its purl and
    ("CPE", "part:vendor:product") of each usable CPE."""
    keys: set[tuple[str, str]] = set()
    for comp in components:
        p = parse_purl(comp.purl) if comp.purl else None
        if p is not None:
            pkg = purl_package(p)
            if pkg is not None:
                keys.add(pkg)
        for text in comp.cpes:
            try:
                cpe = parse_cpe(text)
            except CpeError:
                continue
            if not cpe.has_wildcard_identity():
                keys.add((CPE_KEY, ":".join(cpe.key)))
    return keys


# ------------------------------------------------------------------------------------- matching


@dataclass(slots=True)
class _Match:
    values: dict[str, Any]
    ids: frozenset[str]


def _finding_values(f: Finding) -> dict[str, Any]:
    evidence = list(f.matched)
    if f.conditions:
        evidence.append("unmet conditions: " + "; ".join(f.conditions))
    return {
        "component_ref": f.ref,
        "component_name": f.name,
        "component_version": f.version,
        "purl": f.purl,
        "cpe": f.cpe,
        "vuln_id": f.id,
        "summary": f.summary,
        "severity": f.severity.level,
        "score": f.severity.score,
        "kev": bool(f.kev.in_kev),
        "status": f.status,
        "evidence": "\n".join(evidence),
        "fixed": ", ".join(f.fixed) or None,
        "nearest_fix": f.nearest_fix,
    }


def _match_version(index: VulnIndex, vi: _VersionInput) -> dict[tuple[str, str], _Match]:
    """The findings of one device version, keyed by (component ref, vulnerability id).

    Components are matched without building report objects; findings (status, evidence, nearest fix,
    severity, KEV) are built only for the few components that matched something."""
    if not vi.components:
        return {}
    ms = match_components(index, vi.components, platforms=vi.platforms)
    hits = [cm for cm in ms.matches if cm.osv or cm.cpe]
    if not hits:
        return {}
    out: dict[tuple[str, str], _Match] = {}
    for f in build_findings(index, MatchSet(matches=hits, not_evaluated=[])):
        key = (f.ref, f.id)
        if key not in out:  # two components with the same ref (lenient SBOMs): the first one counts
            out[key] = _Match(_finding_values(f), frozenset((f.id, *f.aliases)))
    return out


# ---------------------------------------------------------------------------------- reconciling


@dataclass(slots=True)
class _Counts:
    new: int = 0
    resolved: int = 0
    versions_with_new: int = 0

    def add(self, other: _Counts) -> None:
        self.new += other.new
        self.resolved += other.resolved
        self.versions_with_new += other.versions_with_new


def _existing(session: Session, version_ids: Sequence[int]) -> tuple[list[Any], dict[int, set[str]]]:
    F, ID = VersionFindingRow, VersionFindingIdRow
    cols = [F.id, F.product_version_id, F.component_ref, F.vuln_id, F.resolved_at]
    cols += [getattr(F, name) for name in _VALUE_COLUMNS]
    rows: list[Any] = []
    ids: dict[int, set[str]] = defaultdict(set)
    for chunk in _chunks(version_ids):
        rows.extend(session.execute(select(*cols).where(F.product_version_id.in_(chunk))).all())
        for fid, vid in session.execute(
            select(ID.finding_id, ID.vuln_id)
            .join(F, F.id == ID.finding_id)
            .where(F.product_version_id.in_(chunk))
        ):
            ids[fid].add(vid)
    return rows, ids


def _reconcile(
    session: Session,
    run: MatchRunRow,
    results: dict[int, dict[tuple[str, str], _Match]],
    scope: set[str] | None,
    now: dt.datetime,
) -> _Counts:
    """Bring the stored findings of these versions in line with ``results``. With ``scope`` (an
    incremental run) only stored findings with an id in ``scope`` are considered."""
    counts = _Counts()
    rows, ids_of = _existing(session, sorted(results))
    by_version: dict[int, list[Any]] = defaultdict(list)
    for r in rows:
        by_version[r.product_version_id].append(r)
    inserts: list[tuple[dict[str, Any], frozenset[str]]] = []
    updates: list[dict[str, Any]] = []
    seen_again: list[int] = []
    new_ids: dict[int, frozenset[str]] = {}
    for vid, matched in results.items():
        existing = by_version.get(vid, [])
        by_key = {(r.component_ref, r.vuln_id): r for r in existing}
        open_by_ref: dict[str, list[Any]] = defaultdict(list)
        for r in existing:
            if r.resolved_at is None and (scope is None or ids_of.get(r.id, set()) & scope):
                open_by_ref[r.component_ref].append(r)
        used: set[int] = set()
        opened_here = 0
        for key, m in matched.items():
            row = by_key.get(key)
            if row is None or row.id in used:
                row = next(
                    (
                        r
                        for r in open_by_ref.get(key[0], ())
                        if r.id not in used
                        and (r.component_ref, r.vuln_id) not in matched
                        and ids_of[r.id] & m.ids
                    ),
                    None,
                )
            if row is None:
                inserts.append(
                    (
                        {
                            **m.values,
                            "product_version_id": vid,
                            "first_run_id": run.id,
                            "last_run_id": run.id,
                            "opened_run_id": run.id,
                            "first_seen_at": now,
                        },
                        m.ids,
                    )
                )
                opened_here += 1
                continue
            used.add(row.id)
            changes = {k: v for k, v in m.values.items() if k == "vuln_id" or k in _VALUE_COLUMNS}
            changes = {k: v for k, v in changes.items() if getattr(row, k) != v}
            if row.resolved_at is not None:
                changes.update(
                    resolved_at=None, resolved_run_id=None, opened_run_id=run.id, last_run_id=run.id
                )
                opened_here += 1
            if changes:
                changes["last_run_id"] = run.id
                updates.append({"id": row.id, **changes})
            else:
                seen_again.append(row.id)
            if ids_of.get(row.id, set()) != m.ids:
                new_ids[row.id] = m.ids
        for r in existing:
            if r.id in used or r.resolved_at is not None:
                continue
            if scope is not None and not ids_of.get(r.id, set()) & scope:
                continue
            updates.append({"id": r.id, "resolved_at": now, "resolved_run_id": run.id})
            counts.resolved += 1
        counts.new += opened_here
        counts.versions_with_new += bool(opened_here)
    F, ID = VersionFindingRow, VersionFindingIdRow
    if updates:
        session.execute(update(F), updates)
    for chunk in _chunks(seen_again):
        session.execute(update(F).where(F.id.in_(chunk)).values(last_run_id=run.id))
    if new_ids:
        for chunk in _chunks(sorted(new_ids)):
            session.execute(delete(ID).where(ID.finding_id.in_(chunk)))
    id_rows = [{"finding_id": fid, "vuln_id": v} for fid, ids in new_ids.items() for v in sorted(ids)]
    if inserts:
        stmt = insert(F).returning(F.id, sort_by_parameter_order=True)
        fids = session.scalars(stmt, [values for values, _ in inserts]).all()
        for fid, (_, ids) in zip(fids, inserts, strict=True):
            id_rows.extend({"finding_id": fid, "vuln_id": v} for v in sorted(ids))
    if id_rows:
        session.execute(insert(ID), id_rows)
    return counts


def _record_versions(
    session: Session, run: MatchRunRow, inputs: Sequence[_VersionInput], now: dt.datetime
) -> None:
    """After a version was fully matched: its SBOM set, and its package keys when that set changed."""
    ids = [vi.version_id for vi in inputs]
    stored: dict[int, str] = {}
    for chunk in _chunks(ids):
        stored.update(
            session.execute(
                select(MonitoredVersionRow.product_version_id, MonitoredVersionRow.sboms).where(
                    MonitoredVersionRow.product_version_id.in_(chunk)
                )
            ).all()
        )
    changed = [vi for vi in inputs if stored.get(vi.version_id) != vi.signature]
    for chunk in _chunks([vi.version_id for vi in changed]):
        session.execute(delete(VersionPackageRow).where(VersionPackageRow.product_version_id.in_(chunk)))
    rows = [
        {"product_version_id": vi.version_id, "ecosystem": eco, "name": name}
        for vi in changed
        for eco, name in sorted(package_keys(vi.components))
    ]
    for chunk in _chunks(rows, 10_000):
        session.execute(insert(VersionPackageRow), list(chunk))
    known = [vi for vi in inputs if vi.version_id in stored]
    if known:
        session.execute(
            update(MonitoredVersionRow),
            [
                {
                    "product_version_id": vi.version_id,
                    "sboms": vi.signature,
                    "last_run_id": run.id,
                    "matched_at": now,
                }
                for vi in known
            ],
        )
    fresh = [vi for vi in inputs if vi.version_id not in stored]
    if fresh:
        session.execute(
            insert(MonitoredVersionRow),
            [
                {
                    "product_version_id": vi.version_id,
                    "sboms": vi.signature,
                    "last_run_id": run.id,
                    "matched_at": now,
                }
                for vi in fresh
            ],
        )


def _start_run(session: Session, trigger: str) -> MatchRunRow:
    if trigger not in TRIGGERS:
        raise ServiceError(f"unknown run trigger {trigger!r}: expected one of {', '.join(TRIGGERS)}")
    run = MatchRunRow(
        started_at=_utcnow(),
        generation=vulndb.db_generation(session),
        trigger=trigger,
        advisories_considered=0,
        versions_matched=0,
        new_findings=0,
        resolved_findings=0,
    )
    session.add(run)
    session.flush()
    return run


def _finish_run(
    session: Session, run: MatchRunRow, counts: _Counts, started: float, pending: int
) -> RunSummary:
    run.new_findings = counts.new
    run.resolved_findings = counts.resolved
    run.finished_at = _utcnow()
    session.flush()
    return RunSummary(
        run_id=run.id,
        trigger=run.trigger,
        generation=run.generation,
        advisories_considered=run.advisories_considered,
        versions_matched=run.versions_matched,
        new_findings=counts.new,
        resolved_findings=counts.resolved,
        versions_with_new=counts.versions_with_new,
        pending_versions=pending,
        seconds=round(time.perf_counter() - started, 3),
    )


def _match_all(
    session: Session,
    run: MatchRunRow,
    index: VulnIndex,
    version_ids: Sequence[int],
    *,
    scope: set[str] | None,
    record: bool,
) -> _Counts:
    counts = _Counts()
    now = _utcnow()
    with _gc_paused():
        for chunk in _chunks(sorted(version_ids), CHUNK_VERSIONS):
            inputs = _load_versions(session, chunk)
            results = {vi.version_id: _match_version(index, vi) for vi in inputs}
            counts.add(_reconcile(session, run, results, scope, now))
            if record:
                _record_versions(session, run, inputs, now)
            run.versions_matched += len(inputs)
    session.flush()
    return counts


# --------------------------------------------------------------------------------------- the runs


def run_full(
    session: Session, *, trigger: str = "full", version_ids: Iterable[int] | None = None
) -> RunSummary:
    """Match every product version (or only ``version_ids``) against the whole vulnerability database."""
    started = time.perf_counter()
    run = _start_run(session, trigger)
    index = load_index(session)
    run.advisories_considered = len(index.advisories)
    versions = (
        sorted(set(version_ids))
        if version_ids is not None
        else list(session.scalars(select(ProductVersion.id)))
    )
    counts = _match_all(session, run, index, versions, scope=None, record=True)
    return _finish_run(session, run, counts, started, len(pending_versions(session)))


def expand_ids(session: Session, changed_ids: Iterable[str]) -> tuple[set[str], list[Any]]:
    """The ids to re-match for ``changed_ids`` and the advisories holding them: closed under "shares an id
    or alias with" across the stored advisories and the stored findings."""
    ids = set(changed_ids)
    queried: set[str] = set()
    found: dict[tuple[str, str], Any] = {}
    I1, I2 = aliased(VersionFindingIdRow), aliased(VersionFindingIdRow)
    while ids - queried:
        todo = sorted(ids - queried)
        queried |= set(todo)
        for adv in vulndb.advisories_by_ids(session, todo, aliases=True):
            found[(adv.source, adv.id)] = adv
            ids.add(adv.id)
            ids.update(adv.aliases)
        for chunk in _chunks(todo):
            ids.update(
                session.scalars(
                    select(I2.vuln_id).join(I1, I1.finding_id == I2.finding_id).where(I1.vuln_id.in_(chunk))
                )
            )
    return ids, sorted(found.values(), key=lambda a: (a.source, a.id))


def _candidates(session: Session, index: VulnIndex, scope: set[str]) -> set[int]:
    """Matched versions that have a component the advisories of ``index`` name, or an open finding under
    one of the ids of ``scope``."""
    VP, F, ID = VersionPackageRow, VersionFindingRow, VersionFindingIdRow
    wanted: dict[str, set[str]] = defaultdict(set)
    for eco, name in index.osv:
        wanted[eco].add(name)
    for part, vendor, product in index.cpe:
        wanted[CPE_KEY].add(f"{part}:{vendor}:{product}")
    out: set[int] = set()
    for eco, names in wanted.items():
        for chunk in _chunks(sorted(names)):
            out.update(
                session.scalars(
                    select(VP.product_version_id).where(VP.ecosystem == eco, VP.name.in_(chunk)).distinct()
                )
            )
    for chunk in _chunks(sorted(scope)):
        out.update(
            session.scalars(
                select(F.product_version_id)
                .join(ID, ID.finding_id == F.id)
                .where(ID.vuln_id.in_(chunk), F.resolved_at.is_(None))
                .distinct()
            )
        )
    return out


def _small_index(session: Session, advisories: Sequence[Any]) -> VulnIndex:
    cves = {i for a in advisories for i in (a.id, *a.aliases) if i.startswith("CVE-")}
    kev = {k: v for k, v in vulndb.kev_index(session).items() if k in cves}
    return VulnIndex(
        advisories,
        kev=kev,
        epss=vulndb.epss_index(session, cves),
        generation=str(vulndb.db_generation(session)),
    )


def _incremental(
    session: Session, run: MatchRunRow, changed_ids: Iterable[str], *, exclude: Iterable[int] = ()
) -> _Counts:
    scope, advisories = expand_ids(session, changed_ids)
    if not scope:
        return _Counts()
    index = _small_index(session, advisories)
    run.advisories_considered += len(advisories)
    monitored = set(session.scalars(select(MonitoredVersionRow.product_version_id)))
    versions = (_candidates(session, index, scope) & monitored) - set(exclude)
    return _match_all(session, run, index, sorted(versions), scope=scope, record=False)


def run_incremental(session: Session, changed_ids: Iterable[str], *, trigger: str = "import") -> RunSummary:
    """Re-match only the advisories in ``changed_ids`` (with every advisory sharing an id or alias with
    them) on the device versions that can be affected; nothing else is touched. Nothing is run (``run_id``
    None) while no device version has been matched yet."""
    started = time.perf_counter()
    changed = list(dict.fromkeys(changed_ids))
    if session.scalar(select(MonitoredVersionRow.product_version_id).limit(1)) is None:
        return RunSummary(
            run_id=None,
            trigger=trigger,
            generation=vulndb.db_generation(session),
            pending_versions=len(pending_versions(session)),
        )
    run = _start_run(session, trigger)
    counts = _incremental(session, run, changed)
    return _finish_run(session, run, counts, started, len(pending_versions(session)))


def pending_versions(session: Session) -> list[int]:
    """Versions with SBOMs never matched, or whose set of SBOMs changed since they were last matched."""
    stored = dict(
        session.execute(select(MonitoredVersionRow.product_version_id, MonitoredVersionRow.sboms)).all()
    )
    return sorted(
        vid for vid, sig in _signatures(session).items() if stored.get(vid, "" if not sig else None) != sig
    )


def changed_since(session: Session, generation: int) -> list[str]:
    """Ids of the advisories and KEV entries written by the imports that produced a later generation."""
    later = select(VulnImportRow.id).where(VulnImportRow.generation > generation)
    ids = set(session.scalars(select(AdvisoryRow.id).where(AdvisoryRow.import_id.in_(later))))
    ids.update(session.scalars(select(KevRow.cve_id).where(KevRow.import_id.in_(later))))
    return sorted(ids)


def latest_run(session: Session) -> MatchRunRow | None:
    return session.scalar(select(MatchRunRow).order_by(MatchRunRow.id.desc()).limit(1))


def monitor(session: Session, *, full: bool = False) -> RunSummary:
    """Bring the stored findings up to date: a full match the first time or with ``full``; otherwise the
    pending versions matched against everything, and the advisories changed since the last run's
    generation re-matched incrementally on the other versions -- in one run."""
    last = latest_run(session)
    if full or last is None:
        return run_full(session, trigger="full")
    started = time.perf_counter()
    since = last.generation
    pending = pending_versions(session)
    run = _start_run(session, "manual")
    counts = _Counts()
    if pending:
        index = load_index(session)
        run.advisories_considered = len(index.advisories)
        counts.add(_match_all(session, run, index, pending, scope=None, record=True))
    changed = changed_since(session, since)
    if changed:
        counts.add(_incremental(session, run, changed, exclude=set(pending)))
    return _finish_run(session, run, counts, started, 0)


# ------------------------------------------------------------------------------------------ reading


def _findings_select(*columns: Any) -> Any:
    """Findings joined to their device version, product and organisation, with the ``columns`` after
    (finding id, organisation, product, version) in that order."""
    F = VersionFindingRow
    return (
        select(F.id, Organisation.name, Product.name, ProductVersion.version, *columns)
        .join(ProductVersion, ProductVersion.id == F.product_version_id)
        .join(Product, Product.id == ProductVersion.product_id)
        .join(Organisation, Organisation.id == Product.organisation_id)
    )


def _stored_select() -> Any:
    F = VersionFindingRow
    return _findings_select(
        F.product_version_id,
        F.component_ref,
        F.component_name,
        F.component_version,
        F.purl,
        F.cpe,
        F.vuln_id,
        F.summary,
        F.status,
        F.severity,
        F.score,
        F.kev,
        F.fixed,
        F.nearest_fix,
        F.evidence,
        F.first_seen_at,
        F.first_run_id,
        F.opened_run_id,
        F.resolved_at,
    )


def _stored(rows: Iterable[Any]) -> list[StoredFinding]:
    out = []
    for r in rows:
        out.append(
            StoredFinding(
                finding_id=r[0],
                organisation=r[1],
                product=r[2],
                version=r[3],
                product_version_id=r[4],
                component_ref=r[5],
                component=r[6],
                component_version=r[7],
                purl=r[8],
                cpe=r[9],
                vuln_id=r[10],
                summary=r[11],
                status=r[12],
                severity=r[13],
                score=r[14],
                kev=bool(r[15]),
                fixed=r[16].split(", ") if r[16] else [],
                nearest_fix=r[17],
                evidence=r[18].split("\n") if r[18] else [],
                first_seen_at=r[19],
                first_run_id=r[20],
                opened_run_id=r[21],
                resolved_at=r[22],
            )
        )
    return out


def _urgency(f: StoredFinding) -> tuple[Any, ...]:
    return (f.status != "affected", not f.kev, -LEVEL_RANK.get(f.severity, 0), -(f.score or 0.0))


def new_findings(session: Session, *, run_id: int | None = None) -> list[StoredFinding]:
    """The findings the given run (default: the latest) opened -- new, or found again after a resolution --
    most urgent first (affected before conditional, KEV, severity)."""
    if run_id is None:
        last = latest_run(session)
        if last is None:
            raise NotFoundError("no match run yet: run `medcyber vulns monitor` first")
        run_id = last.id
    elif session.get(MatchRunRow, run_id) is None:
        raise NotFoundError(f"no match run #{run_id}")
    with _gc_paused():
        found = _stored(
            session.connection().execute(_stored_select().where(VersionFindingRow.opened_run_id == run_id))
        )
    found.sort(key=lambda f: (*_urgency(f), f.product, f.version, f.component, f.vuln_id))
    return found


def _affected_select() -> Any:
    F = VersionFindingRow
    return _findings_select(
        F.product_version_id,
        F.component_ref,
        F.component_name,
        F.component_version,
        F.purl,
        F.vuln_id,
        F.status,
        F.severity,
        F.score,
        F.kev,
        F.nearest_fix,
        F.first_seen_at,
        F.resolved_at,
    )


def affected(session: Session, vuln_id: str, *, include_resolved: bool = False) -> list[AffectedVersion]:
    """The device versions (one row per affected component) the vulnerability with this id or alias
    affects, from the stored findings: one indexed query on ``version_finding_ids``. An id no finding
    carries is looked up among the advisories' aliases too (an alias only some other record lists)."""
    F, ID = VersionFindingRow, VersionFindingIdRow
    vuln_id = vuln_id.strip()
    conn = session.connection()  # Core rows, no ORM loading

    def query(stmt: Any) -> list[AffectedVersion]:
        if not include_resolved:
            stmt = stmt.where(F.resolved_at.is_(None))
        with _gc_paused():  # only acyclic rows and dataclasses are allocated: no collection mid-answer
            return [AffectedVersion(*r) for r in conn.execute(stmt)]

    found = query(_affected_select().join(ID, ID.finding_id == F.id).where(ID.vuln_id == vuln_id))
    if not found:
        ids = {i for a in vulndb.advisories_by_ids(session, [vuln_id]) for i in (a.id, *a.aliases)}
        ids.discard(vuln_id)
        if ids:
            sub = select(ID.finding_id).where(ID.vuln_id.in_(sorted(ids)[:_IN]))
            found = query(_affected_select().where(F.id.in_(sub)))
    for f in found:
        f.kev = bool(f.kev)
    found.sort(key=lambda f: (f.product, f.organisation, f.product_version_id, f.component, f.component_ref))
    return found


def list_runs(session: Session, *, limit: int = 20) -> list[MatchRunRow]:
    return list(session.scalars(select(MatchRunRow).order_by(MatchRunRow.id.desc()).limit(limit)))


def run_counts(session: Session) -> dict[str, int]:
    """Open and resolved findings in the store."""
    F = VersionFindingRow
    open_ = session.scalar(select(func.count()).select_from(F).where(F.resolved_at.is_(None))) or 0
    total = session.scalar(select(func.count()).select_from(F)) or 0
    return {"open": int(open_), "resolved": int(total - open_)}
