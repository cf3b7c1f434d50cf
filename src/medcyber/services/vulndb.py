"""The vulnerability store: importing OSV, NVD, KEV and EPSS data, and reading it back for matching.

Every import runs in the caller's session (one transaction: the CLI commits at the end, or rolls back
everything when the source as a whole is unreadable -- ``VulnImportError``). Records are compared with the
stored version by the sha256 of their normalised form and by ``modified``: unchanged records are skipped,
changed ones replaced and listed in ``ImportReport.changed_ids``, older ones ignored. Every import that
changes something bumps ``db_generation``, so a matcher can cache its index per generation.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session

from ..store.models import (
    AdvisoryAliasRow,
    AdvisoryCpeRow,
    AdvisoryPackageRow,
    AdvisoryRow,
    DbGenerationRow,
    EpssRow,
    KevRow,
    VulnImportRow,
    VulnSyncStateRow,
)
from ..vulns.cpe import CpeError, parse_cpe
from ..vulns.model import Advisory, EpssScore, ImportProblem, ImportReport, KevEntry
from ..vulns.names import ecosystem_base, normalise_name
from ..vulns.sources import Parsed, SourceError, codec, sha256_file
from ..vulns.sources.epss import EpssFile, read_epss
from ..vulns.sources.kev import KevCatalog, read_kev
from ..vulns.sources.nvd import nvd_files, parse_page
from ..vulns.sources.nvd import read_nvd as _read_nvd
from ..vulns.sources.osv import ZipLimits, osv_files, read_osv
from . import audit_hooks
from .errors import NotFoundError, ServiceError

SOURCES = ("osv", "nvd", "kev", "epss")
BATCH = 500
_IN_CHUNK = 900  # bound parameters per IN (...) query

Progress = Callable[[int, int | None], None]  # (records done, records expected or None)


class VulnImportError(ServiceError):
    """The source as a whole cannot be imported; the caller must roll back (nothing is kept)."""


# --- names and keys ------------------------------------------------------------------------------


def base_ecosystem(ecosystem: str) -> str:
    """``Debian:11`` -> ``Debian``, ``Alpine:v3.18`` -> ``Alpine``; others unchanged."""
    return ecosystem_base(ecosystem)[0]


def normalise_package_name(ecosystem: str, name: str) -> str:
    """The look-up key of a package name in ``advisory_packages``: the matcher's own key."""
    return normalise_name(ecosystem, name)


def cpe_vendor_product(criteria: str) -> tuple[str, str, str] | None:
    """(part, vendor, product) of a CPE, parsed the way the matcher parses it; None if not a CPE."""
    try:
        return parse_cpe(criteria).key
    except CpeError:
        return None


def _naive(value: dt.datetime | None) -> dt.datetime | None:
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC).replace(tzinfo=None)
    return value


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def _chunks(items: Sequence[Any], size: int = _IN_CHUNK) -> Iterator[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


# --- generation ----------------------------------------------------------------------------------


def db_generation(session: Session) -> int:
    """The data generation: changes whenever an import or sync changed the vulnerability data."""
    value = session.scalar(select(DbGenerationRow.generation).where(DbGenerationRow.id == 1))
    return int(value or 0)


def bump_generation(session: Session) -> int:
    row = session.get(DbGenerationRow, 1)
    if row is None:
        row = DbGenerationRow(id=1, generation=0)
        session.add(row)
    row.generation = (row.generation or 0) + 1
    row.updated_at = _utcnow()
    session.flush()
    return row.generation


# --- importing advisories ------------------------------------------------------------------------


def _children(
    pk: int, adv: Advisory
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    aliases = [{"advisory_pk": pk, "alias": a} for a in dict.fromkeys(adv.aliases) if a != adv.id]
    packages: dict[tuple[str, str, str], None] = {}
    for aff in adv.affected:
        if aff.ecosystem and aff.name:
            packages[
                (
                    base_ecosystem(aff.ecosystem),
                    aff.ecosystem,
                    normalise_package_name(aff.ecosystem, aff.name),
                )
            ] = None
    cpes: dict[tuple[str, str, str, bool], None] = {}
    for cfg in adv.configurations:
        for node in cfg.nodes:
            for match in node.matches:
                key = cpe_vendor_product(match.criteria)
                if key is not None:
                    cpes[(*key, match.vulnerable)] = None
    return (
        aliases,
        [{"advisory_pk": pk, "ecosystem": e, "ecosystem_full": f, "name": n} for e, f, n in packages],
        [
            {"advisory_pk": pk, "part": p, "vendor": v, "product": pr, "vulnerable": vu}
            for p, v, pr, vu in cpes
        ],
    )


def _row(adv: Advisory, record: bytes, sha: str, location: str, retrieved_at: dt.datetime, import_id: int):
    return {
        "id": adv.id,
        "source": adv.source,
        "modified": _naive(adv.modified),
        "published": _naive(adv.published),
        "withdrawn": _naive(adv.withdrawn),
        "summary": adv.summary,
        "details": adv.details,
        "record": record.decode(),
        "sha256": sha,
        "location": location,
        "retrieved_at": retrieved_at,
        "import_id": import_id,
    }


def _start_log(session: Session, source: str, location: str, sha256: str | None) -> VulnImportRow:
    log = VulnImportRow(
        source=source,
        location=location,
        sha256=sha256,
        started_at=_utcnow(),
        read=0,
        added=0,
        updated=0,
        unchanged=0,
        withdrawn=0,
        problem_count=0,
        problems=[],
        generation=0,
    )
    session.add(log)
    session.flush()
    return log


def _finish_log(session: Session, log: VulnImportRow, report: ImportReport) -> None:
    changed = report.added + report.updated + report.removed
    log.generation = bump_generation(session) if changed else db_generation(session)
    log.finished_at = _utcnow()
    log.read = report.read
    log.added = report.added
    log.updated = report.updated
    log.unchanged = report.unchanged
    log.withdrawn = report.withdrawn
    log.problem_count = len(report.problems)
    log.problems = [[p.location, p.reason] for p in report.problems[:1000]]
    session.flush()
    audit_hooks.note(
        session,
        "vulndb.import",
        "vuln_import",
        log.id,
        None,
        after={
            "source": log.source,
            "location": log.location,
            "sha256": log.sha256,
            "read": report.read,
            "added": report.added,
            "updated": report.updated,
            "unchanged": report.unchanged,
            "withdrawn": report.withdrawn,
            "removed": report.removed,
            "problems": len(report.problems),
            "generation": log.generation,
        },
    )


def _write_batch(
    session: Session,
    batch: dict[tuple[str, str], tuple[Advisory, str]],
    report: ImportReport,
    retrieved_at: dt.datetime,
    import_id: int,
) -> None:
    by_source: dict[str, list[str]] = {}
    for source, adv_id in batch:
        by_source.setdefault(source, []).append(adv_id)
    existing: dict[tuple[str, str], tuple[int, dt.datetime, str]] = {}
    for source, ids in by_source.items():
        for chunk in _chunks(ids):
            stmt = select(AdvisoryRow.pk, AdvisoryRow.id, AdvisoryRow.modified, AdvisoryRow.sha256).where(
                AdvisoryRow.source == source, AdvisoryRow.id.in_(chunk)
            )
            for pk, adv_id, modified, sha in session.execute(stmt):
                existing[(source, adv_id)] = (pk, modified, sha)
    inserts: list[tuple[Advisory, dict[str, Any]]] = []
    updates: list[tuple[int, Advisory, dict[str, Any]]] = []
    for key, (adv, location) in batch.items():
        record = codec.dumps(adv)
        sha = codec.digest(record)
        row = _row(adv, record, sha, location, retrieved_at, import_id)
        old = existing.get(key)
        if old is None:
            inserts.append((adv, row))
        elif old[2] == sha:
            report.unchanged += 1
        elif row["modified"] < old[1]:
            report.older += 1
        else:
            updates.append((old[0], adv, row))
    children: tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]] = ([], [], [])
    if inserts:
        returning = insert(AdvisoryRow).returning(AdvisoryRow.pk, sort_by_parameter_order=True)
        new_pks = session.scalars(returning, [row for _, row in inserts]).all()
        for pk, (adv, _) in zip(new_pks, inserts, strict=True):
            for bucket, rows in zip(children, _children(pk, adv), strict=True):
                bucket.extend(rows)
            report.changed_ids.append(adv.id)
        report.added += len(inserts)
    if updates:
        session.execute(update(AdvisoryRow), [{"pk": pk, **row} for pk, _, row in updates])
        pks = [pk for pk, _, _ in updates]
        for child in (AdvisoryAliasRow, AdvisoryPackageRow, AdvisoryCpeRow):
            for chunk in _chunks(pks):
                session.execute(delete(child).where(child.advisory_pk.in_(chunk)))
        for pk, adv, _ in updates:
            for bucket, rows in zip(children, _children(pk, adv), strict=True):
                bucket.extend(rows)
            report.changed_ids.append(adv.id)
        report.updated += len(updates)
    for table, rows in zip((AdvisoryAliasRow, AdvisoryPackageRow, AdvisoryCpeRow), children, strict=True):
        if rows:
            session.execute(insert(table), rows)


def import_advisory_records(
    session: Session,
    records: Iterable[Parsed[Advisory]],
    *,
    source: str,
    location: str,
    sha256: str | None = None,
    retrieved_at: dt.datetime | None = None,
    progress: Progress | None = None,
    total: int | None = None,
) -> ImportReport:
    """Store advisories read by a source parser; problems are listed, a ``SourceError`` aborts."""
    report = ImportReport(source=source)
    retrieved = _naive(retrieved_at) or _utcnow()
    log = _start_log(session, source, location, sha256)
    batch: dict[tuple[str, str], tuple[Advisory, str]] = {}
    done = 0
    try:
        for item in records:
            done += 1
            if item.value is None:
                report.problems.append(ImportProblem(item.location, item.problem or "unreadable"))
            else:
                adv = item.value
                report.read += 1
                if adv.withdrawn is not None:
                    report.withdrawn += 1
                key = (adv.source, adv.id)
                seen = batch.get(key)
                if seen is not None and codec.dumps(seen[0]) == codec.dumps(adv):
                    report.unchanged += 1  # the same record twice (e.g. a file and a page holding it)
                    continue
                if seen is not None:
                    keep_new = adv.modified >= seen[0].modified
                    dropped_location = seen[1] if keep_new else item.location
                    kept_location = item.location if keep_new else seen[1]
                    report.problems.append(
                        ImportProblem(
                            dropped_location, f"duplicate of {adv.id} in {kept_location}; kept the newer"
                        )
                    )
                    if not keep_new:
                        continue
                batch[key] = (adv, item.location)
                if len(batch) >= BATCH:
                    _write_batch(session, batch, report, retrieved, log.id)
                    batch = {}
            if progress is not None and done % 50 == 0:
                progress(done, total)
        if batch:
            _write_batch(session, batch, report, retrieved, log.id)
    except SourceError as exc:
        raise VulnImportError(f"import failed, nothing was imported: {exc}") from exc
    if progress is not None:
        progress(done, total)
    _finish_log(session, log, report)
    return report


def _describe(paths: Sequence[Path]) -> tuple[str, str | None]:
    location = ", ".join(str(p) for p in paths)
    sha = sha256_file(paths[0]) if len(paths) == 1 and paths[0].is_file() else None
    return location, sha


def _count_osv(paths: Sequence[Path]) -> int | None:
    import zipfile

    total = 0
    try:
        for path in osv_files(paths):
            if path.suffix.lower() == ".zip":
                with zipfile.ZipFile(path) as zf:
                    total += sum(1 for n in zf.namelist() if n.lower().endswith((".json", ".yaml", ".yml")))
            else:
                total += 1
    except (zipfile.BadZipFile, OSError, SourceError):
        return None  # the import itself reports it
    return total


def import_osv(
    session: Session,
    paths: Sequence[Path],
    *,
    limits: ZipLimits = ZipLimits(),
    progress: Progress | None = None,
    location: str | None = None,
    retrieved_at: dt.datetime | None = None,
) -> ImportReport:
    """OSV records from JSON/YAML files, directories (recursive) and osv.dev zip archives."""
    paths = [Path(p) for p in paths]
    where, sha = _describe(paths)
    return import_advisory_records(
        session,
        read_osv(paths, limits),
        source="osv",
        location=location or where,
        sha256=sha,
        retrieved_at=retrieved_at,
        progress=progress,
        total=_count_osv(paths) if progress is not None else None,
    )


def import_nvd(
    session: Session,
    paths: Sequence[Path],
    *,
    progress: Progress | None = None,
    location: str | None = None,
    retrieved_at: dt.datetime | None = None,
) -> ImportReport:
    """NVD CVE API 2.0 pages and single CVE records (``.json`` or ``.json.gz``, directories recursive)."""
    paths = [Path(p) for p in paths]
    where, sha = _describe(paths)
    try:
        files = nvd_files(paths)
    except SourceError as exc:
        raise VulnImportError(f"import failed, nothing was imported: {exc}") from exc
    return import_advisory_records(
        session,
        _read_nvd(files),
        source="nvd",
        location=location or where,
        sha256=sha,
        retrieved_at=retrieved_at,
        progress=progress,
    )


def import_nvd_page(
    session: Session, data: bytes, *, location: str, retrieved_at: dt.datetime | None = None
) -> tuple[ImportReport, int | None, int]:
    """One NVD API page (as the sync downloads it): the report, the page's ``totalResults`` and how many
    entries it held (read or not: the paging advances by this)."""
    try:
        page = parse_page(data, location)
    except SourceError as exc:
        raise VulnImportError(str(exc)) from exc
    report = import_advisory_records(
        session, page.records, source="nvd", location=location, retrieved_at=retrieved_at
    )
    return report, page.total_results, len(page.records)


# --- KEV and EPSS --------------------------------------------------------------------------------


def _kev_values(entry: KevEntry, catalog_version: str | None) -> dict[str, Any]:
    return {
        "cve_id": entry.cve_id,
        "vendor": entry.vendor,
        "product": entry.product,
        "name": entry.name,
        "description": entry.description,
        "date_added": entry.date_added,
        "due_date": entry.due_date,
        "required_action": entry.required_action,
        "known_ransomware": entry.known_ransomware,
        "notes": entry.notes,
        "catalog_version": catalog_version,
    }


_KEV_COMPARED = (
    "vendor",
    "product",
    "name",
    "description",
    "date_added",
    "due_date",
    "required_action",
    "known_ransomware",
    "notes",
)


def import_kev_catalog(
    session: Session, catalog: KevCatalog, *, location: str, sha256: str | None = None
) -> ImportReport:
    """Replace the stored KEV catalogue by ``catalog`` (entries it no longer lists are removed, unless
    some entries could not be read -- then nothing is removed)."""
    report = ImportReport(source="kev")
    log = _start_log(session, "kev", location, sha256)
    incoming: dict[str, KevEntry] = {}
    for item in catalog.entries:
        if item.value is None:
            report.problems.append(ImportProblem(item.location, item.problem or "unreadable"))
            continue
        report.read += 1
        if item.value.cve_id in incoming:
            report.problems.append(
                ImportProblem(item.location, f"{item.value.cve_id} listed twice; kept the last")
            )
        incoming[item.value.cve_id] = item.value
    existing = {row.cve_id: row for row in session.scalars(select(KevRow))}
    inserts, updates = [], []
    for cve_id, entry in incoming.items():
        values = _kev_values(entry, catalog.catalog_version)
        row = existing.get(cve_id)
        if row is None:
            values["import_id"] = log.id
            inserts.append(values)
        elif any(getattr(row, k) != values[k] for k in _KEV_COMPARED):
            values["import_id"] = log.id
            updates.append(values)
        else:
            report.unchanged += 1
            if row.catalog_version != catalog.catalog_version:
                row.catalog_version = catalog.catalog_version
    if inserts:
        session.execute(insert(KevRow), inserts)
    if updates:
        session.execute(update(KevRow), updates)
    report.added, report.updated = len(inserts), len(updates)
    report.changed_ids = [v["cve_id"] for v in inserts + updates]
    if not report.problems:
        gone = sorted(set(existing) - set(incoming))
        for chunk in _chunks(gone):
            session.execute(delete(KevRow).where(KevRow.cve_id.in_(chunk)))
        report.removed = len(gone)
        report.changed_ids.extend(gone)
    _finish_log(session, log, report)
    return report


def import_kev(session: Session, path: Path) -> ImportReport:
    try:
        catalog = read_kev(Path(path))
    except SourceError as exc:
        raise VulnImportError(f"import failed, nothing was imported: {exc}") from exc
    return import_kev_catalog(session, catalog, location=str(path), sha256=sha256_file(Path(path)))


def import_epss_file(
    session: Session, scores: EpssFile, *, location: str, sha256: str | None = None
) -> ImportReport:
    """Add and update EPSS scores (a score dated before the stored one is ignored as older)."""
    report = ImportReport(source="epss")
    log = _start_log(session, "epss", location, sha256)
    existing = {
        cve: (epss, pct, date)
        for cve, epss, pct, date in session.execute(
            select(EpssRow.cve_id, EpssRow.epss, EpssRow.percentile, EpssRow.date)
        )
    }
    inserts, updates = [], []
    seen: set[str] = set()
    for item in scores.scores:
        if item.value is None:
            report.problems.append(ImportProblem(item.location, item.problem or "unreadable"))
            continue
        score = item.value
        report.read += 1
        if score.cve_id in seen:
            report.problems.append(
                ImportProblem(item.location, f"{score.cve_id} listed twice; kept the first")
            )
            continue
        seen.add(score.cve_id)
        values = {
            "cve_id": score.cve_id,
            "epss": score.epss,
            "percentile": score.percentile,
            "date": score.date,
            "model_version": scores.model_version,
        }
        old = existing.get(score.cve_id)
        if old is None:
            inserts.append(values)
        elif old == (score.epss, score.percentile, score.date):
            report.unchanged += 1
        elif old[2] is not None and score.date is not None and score.date < old[2]:
            report.older += 1
        else:
            updates.append(values)
    for chunk in _chunks(inserts, 5000):
        session.execute(insert(EpssRow), list(chunk))
    for chunk in _chunks(updates, 5000):
        session.execute(update(EpssRow), list(chunk))
    report.added, report.updated = len(inserts), len(updates)
    _finish_log(session, log, report)
    return report


def import_epss(session: Session, path: Path) -> ImportReport:
    try:
        scores = read_epss(Path(path))
    except SourceError as exc:
        raise VulnImportError(f"import failed, nothing was imported: {exc}") from exc
    return import_epss_file(session, scores, location=str(path), sha256=sha256_file(Path(path)))


def import_paths(
    session: Session, source: str, paths: Sequence[Path], *, progress: Progress | None = None
) -> list[ImportReport]:
    """The CLI's entry point: OSV and NVD take many paths in one report; KEV and EPSS one per file."""
    for path in paths:
        if not Path(path).exists():
            raise VulnImportError(f"import failed, nothing was imported: {path}: no such file or directory")
    if source == "osv":
        return [import_osv(session, paths, progress=progress)]
    if source == "nvd":
        return [import_nvd(session, paths, progress=progress)]
    if source == "kev":
        return [import_kev(session, p) for p in paths]
    if source == "epss":
        return [import_epss(session, p) for p in paths]
    raise ServiceError(f"unknown source {source!r}: expected one of {', '.join(SOURCES)}")


# --- reading back --------------------------------------------------------------------------------


def _decode(records: Iterable[str]) -> list[Advisory]:
    loads, from_obj = orjson.loads, codec.from_obj
    return [from_obj(loads(r)) for r in records]


def load_advisories(
    session: Session,
    *,
    ecosystems: Iterable[str] | None = None,
    ids: Iterable[str] | None = None,
    sources: Iterable[str] | None = None,
) -> list[Advisory]:
    """Advisories rebuilt from the store (withdrawn ones included, flagged), ordered by source and id.

    ``ecosystems``: only OSV advisories naming a package in one of them (base names: "Debian" matches
    "Debian:11"); ``ids``: only these advisory ids (exact); ``sources``: "osv" and/or "nvd".
    """
    stmt = select(AdvisoryRow.record)
    if ecosystems is not None:
        bases = sorted({base_ecosystem(e) for e in ecosystems})
        sub = select(AdvisoryPackageRow.advisory_pk).where(AdvisoryPackageRow.ecosystem.in_(bases))
        stmt = stmt.where(AdvisoryRow.pk.in_(sub))
    if sources is not None:
        stmt = stmt.where(AdvisoryRow.source.in_(list(sources)))
    stmt = stmt.order_by(AdvisoryRow.source, AdvisoryRow.id)
    if ids is None:
        return _decode(session.scalars(stmt))
    wanted = sorted(set(ids))
    out: list[Advisory] = []
    for chunk in _chunks(wanted):
        out.extend(_decode(session.scalars(stmt.where(AdvisoryRow.id.in_(chunk)))))
    out.sort(key=lambda a: (a.source, a.id))
    return out


def advisories_by_ids(session: Session, ids: Iterable[str], *, aliases: bool = True) -> list[Advisory]:
    """Advisories whose id -- or, with ``aliases``, one of whose aliases -- is in ``ids``."""
    wanted = sorted(set(ids))
    pks: set[int] = set()
    for chunk in _chunks(wanted):
        pks.update(session.scalars(select(AdvisoryRow.pk).where(AdvisoryRow.id.in_(chunk))))
        if aliases:
            pks.update(
                session.scalars(select(AdvisoryAliasRow.advisory_pk).where(AdvisoryAliasRow.alias.in_(chunk)))
            )
    out: list[Advisory] = []
    for chunk in _chunks(sorted(pks)):
        out.extend(_decode(session.scalars(select(AdvisoryRow.record).where(AdvisoryRow.pk.in_(chunk)))))
    out.sort(key=lambda a: (a.source, a.id))
    return out


def advisory_ids_for_package(session: Session, ecosystem: str, name: str) -> list[str]:
    """Ids of the OSV advisories naming this package (candidates: the matcher checks versions)."""
    stmt = (
        select(AdvisoryRow.id)
        .join(AdvisoryPackageRow, AdvisoryPackageRow.advisory_pk == AdvisoryRow.pk)
        .where(
            AdvisoryPackageRow.ecosystem == base_ecosystem(ecosystem),
            AdvisoryPackageRow.name == normalise_package_name(ecosystem, name),
        )
        .distinct()
        .order_by(AdvisoryRow.id)
    )
    return list(session.scalars(stmt))


def advisory_ids_for_cpe(
    session: Session, vendor: str, product: str, *, vulnerable_only: bool = True
) -> list[str]:
    """Ids of the NVD advisories whose configurations name this vendor and product."""
    stmt = (
        select(AdvisoryRow.id)
        .join(AdvisoryCpeRow, AdvisoryCpeRow.advisory_pk == AdvisoryRow.pk)
        .where(AdvisoryCpeRow.vendor == vendor.lower(), AdvisoryCpeRow.product == product.lower())
    )
    if vulnerable_only:
        stmt = stmt.where(AdvisoryCpeRow.vulnerable.is_(True))
    return list(session.scalars(stmt.distinct().order_by(AdvisoryRow.id)))


def _kev_entry(row: KevRow) -> KevEntry:
    return KevEntry(
        cve_id=row.cve_id,
        vendor=row.vendor,
        product=row.product,
        name=row.name,
        date_added=row.date_added,
        due_date=row.due_date,
        required_action=row.required_action,
        known_ransomware=row.known_ransomware,
        notes=row.notes,
        description=row.description,
    )


def kev_index(session: Session) -> dict[str, KevEntry]:
    """Every KEV entry by CVE id."""
    return {row.cve_id: _kev_entry(row) for row in session.scalars(select(KevRow))}


def epss_index(session: Session, cve_ids: Iterable[str] | None = None) -> dict[str, EpssScore]:
    """EPSS scores by CVE id (all, or only those of ``cve_ids``)."""
    stmt = select(EpssRow.cve_id, EpssRow.epss, EpssRow.percentile, EpssRow.date)
    if cve_ids is None:
        return {c: EpssScore(c, e, p, d) for c, e, p, d in session.execute(stmt)}
    out: dict[str, EpssScore] = {}
    for chunk in _chunks(sorted(set(cve_ids))):
        for c, e, p, d in session.execute(stmt.where(EpssRow.cve_id.in_(chunk))):
            out[c] = EpssScore(c, e, p, d)
    return out


# --- inspection ----------------------------------------------------------------------------------


@dataclass(slots=True)
class StoredAdvisory:
    """An advisory with its provenance and the KEV/EPSS data of its CVE ids."""

    advisory: Advisory
    location: str
    retrieved_at: dt.datetime
    sha256: str
    kev: list[KevEntry] = field(default_factory=list)
    epss: list[EpssScore] = field(default_factory=list)


def show(session: Session, adv_id: str) -> list[StoredAdvisory]:
    """The advisories with this id or alias (one per source), with provenance, KEV and EPSS."""
    pks = set(session.scalars(select(AdvisoryRow.pk).where(AdvisoryRow.id == adv_id)))
    pks.update(session.scalars(select(AdvisoryAliasRow.advisory_pk).where(AdvisoryAliasRow.alias == adv_id)))
    if not pks:
        raise NotFoundError(f"no advisory {adv_id!r} in the store (import or sync first)")
    rows = session.scalars(select(AdvisoryRow).where(AdvisoryRow.pk.in_(sorted(pks)))).all()
    out = []
    for row in sorted(rows, key=lambda r: (r.id != adv_id, r.source, r.id)):
        adv = codec.loads(row.record)
        cves = adv.cve_ids()
        kev = (
            [_kev_entry(k) for k in session.scalars(select(KevRow).where(KevRow.cve_id.in_(cves)))]
            if cves
            else []
        )
        out.append(
            StoredAdvisory(
                advisory=adv,
                location=row.location,
                retrieved_at=row.retrieved_at,
                sha256=row.sha256,
                kev=kev,
                epss=sorted(epss_index(session, cves).values(), key=lambda s: s.cve_id) if cves else [],
            )
        )
    return out


def stats(session: Session) -> dict[str, Any]:
    """Counts for ``medcyber vulns stats``."""
    by_source = dict(
        session.execute(select(AdvisoryRow.source, func.count()).group_by(AdvisoryRow.source)).all()
    )
    withdrawn = dict(
        session.execute(
            select(AdvisoryRow.source, func.count())
            .where(AdvisoryRow.withdrawn.is_not(None))
            .group_by(AdvisoryRow.source)
        ).all()
    )
    ecosystems = Counter(
        dict(
            session.execute(
                select(
                    AdvisoryPackageRow.ecosystem, func.count(func.distinct(AdvisoryPackageRow.advisory_pk))
                ).group_by(AdvisoryPackageRow.ecosystem)
            ).all()
        )
    )
    kev_count = session.scalar(select(func.count()).select_from(KevRow)) or 0
    kev_version = session.scalar(select(func.max(KevRow.catalog_version)))
    epss_count = session.scalar(select(func.count()).select_from(EpssRow)) or 0
    epss_date = session.scalar(select(func.max(EpssRow.date)))
    last = session.scalars(select(VulnImportRow).order_by(VulnImportRow.id.desc()).limit(10)).all()
    return {
        "generation": db_generation(session),
        "advisories": {s: by_source.get(s, 0) for s in ("osv", "nvd")},
        "withdrawn": {s: withdrawn.get(s, 0) for s in ("osv", "nvd")},
        "ecosystems": dict(ecosystems.most_common()),
        "kev": {"entries": kev_count, "catalog_version": kev_version},
        "epss": {"scores": epss_count, "date": epss_date.isoformat() if epss_date else None},
        "recent_imports": [
            {
                "source": r.source,
                "location": r.location,
                "finished_at": r.finished_at.isoformat() if r.finished_at else None,
                "read": r.read,
                "added": r.added,
                "updated": r.updated,
                "unchanged": r.unchanged,
                "problems": r.problem_count,
            }
            for r in last
        ],
    }


# --- sync state ----------------------------------------------------------------------------------


@dataclass(slots=True)
class SyncState:
    source: str
    url: str
    etag: str | None = None
    last_modified: str | None = None
    sha256: str | None = None
    cursor: dict[str, Any] | None = None
    synced_until: dt.datetime | None = None


def get_sync_state(session: Session, source: str, url: str) -> SyncState:
    row = session.scalar(
        select(VulnSyncStateRow).where(VulnSyncStateRow.source == source, VulnSyncStateRow.url == url)
    )
    if row is None:
        return SyncState(source, url)
    return SyncState(
        source,
        url,
        etag=row.etag,
        last_modified=row.last_modified,
        sha256=row.sha256,
        cursor=dict(row.cursor) if row.cursor else None,
        synced_until=row.synced_until.replace(tzinfo=dt.UTC) if row.synced_until else None,
    )


def save_sync_state(session: Session, state: SyncState) -> None:
    row = session.scalar(
        select(VulnSyncStateRow).where(
            VulnSyncStateRow.source == state.source, VulnSyncStateRow.url == state.url
        )
    )
    if row is None:
        row = VulnSyncStateRow(source=state.source, url=state.url)
        session.add(row)
    row.etag = state.etag
    row.last_modified = state.last_modified
    row.sha256 = state.sha256
    row.cursor = state.cursor
    row.synced_until = _naive(state.synced_until)
    row.updated_at = _utcnow()
    session.flush()
