"""OSV records (schema 1.x) from JSON or YAML files, directories of them and osv.dev zip archives.

``parse_record`` turns one decoded record into an ``Advisory`` (raising ``RecordError`` with the reason
when it is malformed); ``read_osv`` walks files, directories (recursively) and zip archives and yields one
``Parsed`` per record. Zip archives are read in memory, member by member, under size caps (per member,
in total, and a compression-ratio cap against zip bombs); a corrupted archive raises ``SourceError``.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import orjson
import yaml

from ..model import Advisory, Affected, Event, EventKind, Range, RangeType, Severity
from . import (
    Parsed,
    RecordError,
    SourceError,
    as_dict,
    as_list,
    expand_paths,
    optional_str,
    parse_datetime,
    required_str,
)

RECORD_SUFFIXES = (".json", ".yaml", ".yml", ".zip")
EVENT_KINDS: frozenset[str] = frozenset(("introduced", "fixed", "last_affected", "limit"))
RANGE_TYPES: frozenset[str] = frozenset(("SEMVER", "ECOSYSTEM", "GIT"))
SEVERITY_TYPES: frozenset[str] = frozenset(("CVSS_V2", "CVSS_V3", "CVSS_V4", "Ubuntu"))
_DROPPED_RESOLVERS = ("tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:float", "tag:yaml.org,2002:int")


class _OsvLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """Safe YAML loading that keeps scalars as written: ``0.10`` stays the version "0.10", not 0.1."""


_OsvLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in _DROPPED_RESOLVERS]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


@dataclass(frozen=True, slots=True)
class ZipLimits:
    """Caps for reading an archive in memory (defaults fit osv.dev's largest all.zip with room)."""

    max_member: int = 64 * 1024 * 1024  # bytes, one record
    max_total: int = 8 * 1024 * 1024 * 1024  # bytes, the whole archive inflated
    max_ratio: float = 200.0  # inflated / compressed, for members larger than ratio_floor
    ratio_floor: int = 1024 * 1024
    max_members: int = 2_000_000


def _str_list(value: Any, field: str) -> tuple[str, ...]:
    items = as_list(value, field)
    for item in items:
        if not isinstance(item, str):
            raise RecordError(f"{field}: expected strings, got {type(item).__name__}")
    return tuple(items)


def _event(raw: Any, where: str) -> Event:
    ev = as_dict(raw, where)
    if len(ev) != 1:
        raise RecordError(f"{where}: an event has exactly one of {sorted(EVENT_KINDS)}")
    ((kind, version),) = ev.items()
    if kind not in EVENT_KINDS:
        raise RecordError(f"{where}: unknown event {kind!r}")
    if not isinstance(version, str) or not version:
        raise RecordError(f"{where}.{kind}: expected a version string, got {version!r}")
    return Event(cast(EventKind, kind), version)


def _range(raw: Any, where: str) -> Range:
    rng = as_dict(raw, where)
    rtype = rng.get("type")
    if rtype not in RANGE_TYPES:
        raise RecordError(f"{where}.type: expected one of {sorted(RANGE_TYPES)}, got {rtype!r}")
    events = tuple(_event(e, f"{where}.events[{i}]") for i, e in enumerate(as_list(rng.get("events"), where)))
    if not events:
        raise RecordError(f"{where}: a range needs events")
    return Range(cast(RangeType, rtype), events, optional_str(rng.get("repo"), f"{where}.repo"))


def _affected(raw: Any, where: str) -> Affected:
    aff = as_dict(raw, where)
    pkg = as_dict(aff.get("package"), f"{where}.package")
    ecosystem = optional_str(pkg.get("ecosystem"), f"{where}.package.ecosystem") or ""
    name = optional_str(pkg.get("name"), f"{where}.package.name") or ""
    ranges = tuple(_range(r, f"{where}.ranges[{i}]") for i, r in enumerate(as_list(aff.get("ranges"), where)))
    if not (ecosystem and name) and not any(r.type == "GIT" for r in ranges):
        raise RecordError(f"{where}.package: needs an ecosystem and a name")
    return Affected(
        ecosystem=ecosystem,
        name=name,
        purl=optional_str(pkg.get("purl"), f"{where}.package.purl"),
        ranges=ranges,
        versions=_str_list(aff.get("versions"), f"{where}.versions"),
    )


def _severity(raw: Any, where: str) -> Severity:
    sev = as_dict(raw, where)
    stype = sev.get("type")
    score = sev.get("score")
    if not isinstance(stype, str) or not isinstance(score, str):
        raise RecordError(f"{where}: needs a type and a score string")
    return Severity(type=stype if stype in SEVERITY_TYPES else "other", vector=score, source="osv")  # type: ignore[arg-type]


def parse_record(record: Any) -> Advisory:
    """One decoded OSV record as an ``Advisory``; ``RecordError`` says what is wrong with it."""
    rec = as_dict(record, "record")
    if not rec:
        raise RecordError("empty record")
    adv_id = required_str(rec.get("id"), "id")
    if rec.get("modified") in (None, ""):
        raise RecordError("missing 'modified'")
    references = []
    for i, ref in enumerate(as_list(rec.get("references"), "references")):
        url = as_dict(ref, f"references[{i}]").get("url")
        if isinstance(url, str) and url:
            references.append(url)
    db_specific = rec.get("database_specific")
    cwes: tuple[str, ...] = ()
    if isinstance(db_specific, dict):
        cwes = _str_list(db_specific.get("cwe_ids"), "database_specific.cwe_ids")
    published = rec.get("published")
    withdrawn = rec.get("withdrawn")
    return Advisory(
        id=adv_id,
        source="osv",
        modified=parse_datetime(rec["modified"], "modified"),
        published=parse_datetime(published, "published") if published not in (None, "") else None,
        withdrawn=parse_datetime(withdrawn, "withdrawn") if withdrawn not in (None, "") else None,
        aliases=_str_list(rec.get("aliases"), "aliases"),
        related=_str_list(rec.get("related"), "related"),
        summary=optional_str(rec.get("summary"), "summary"),
        details=optional_str(rec.get("details"), "details"),
        severities=tuple(
            _severity(s, f"severity[{i}]") for i, s in enumerate(as_list(rec.get("severity"), "severity"))
        ),
        cwes=cwes,
        affected=tuple(
            _affected(a, f"affected[{i}]") for i, a in enumerate(as_list(rec.get("affected"), "affected"))
        ),
        references=tuple(references),
    )


def decode(data: bytes, name: str) -> Any:
    """The decoded document in ``data``: JSON when the name says so or it starts like JSON, else YAML."""
    lowered = name.lower()
    if lowered.endswith(".json") or data.lstrip()[:1] in (b"{", b"["):
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            raise RecordError(f"invalid JSON: {exc}") from None
    try:
        return yaml.load(data, Loader=_OsvLoader)  # noqa: S506 - a safe loader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or exc.__class__.__name__
        raise RecordError(f"invalid YAML{where}: {problem}") from None


def parse_document(data: bytes, name: str) -> Iterator[Parsed[Advisory]]:
    """The records of one file: a record, a list of records, or ``{"vulns": [...]}`` (osv.dev API)."""
    try:
        doc = decode(data, name)
    except RecordError as exc:
        yield Parsed(name, problem=str(exc))
        return
    except UnicodeDecodeError:
        yield Parsed(name, problem="not UTF-8 text")
        return
    if isinstance(doc, dict) and "id" not in doc and isinstance(doc.get("vulns"), list):
        doc = doc["vulns"]
    if isinstance(doc, list):
        for i, rec in enumerate(doc):
            yield _parse_one(rec, f"{name}#{i}")
    else:
        yield _parse_one(doc, name)


def _parse_one(rec: Any, location: str) -> Parsed[Advisory]:
    try:
        return Parsed(location, value=parse_record(rec))
    except RecordError as exc:
        rid = rec.get("id") if isinstance(rec, dict) else None
        label = f"{location} ({rid})" if isinstance(rid, str) and rid and rid not in location else location
        return Parsed(label, problem=str(exc))


def _bomb(inflated: int, compressed: int, limits: ZipLimits) -> bool:
    return inflated > limits.ratio_floor and inflated > limits.max_ratio * max(compressed, 1)


def read_zip(
    path: Path, limits: ZipLimits = ZipLimits(), *, name: str | None = None
) -> Iterator[Parsed[Advisory]]:
    """Every ``.json``/``.yaml`` member of an OSV archive, read in memory under ``limits``.

    ``name`` labels the archive in locations and messages (e.g. the URL it was downloaded from)."""
    total = 0
    label = name or str(path)
    try:
        with zipfile.ZipFile(path) as zf:
            members = [m for m in zf.infolist() if not m.is_dir()]
            if len(members) > limits.max_members:
                raise SourceError(
                    f"{label}: {len(members)} members, more than the limit {limits.max_members}"
                )
            for info in members:
                member = info.filename
                if not member.lower().endswith((".json", ".yaml", ".yml")):
                    continue
                if info.flag_bits & 0x1:
                    raise SourceError(f"{label}!{member}: encrypted members are not supported")
                if info.file_size > limits.max_member:
                    raise SourceError(f"{label}!{member}: {info.file_size} bytes, over the per-record limit")
                if _bomb(info.file_size, info.compress_size, limits):
                    raise SourceError(f"{label}!{member}: compression ratio too high (zip bomb?)")
                with zf.open(info) as fh:
                    data = fh.read(limits.max_member + 1)
                    if len(data) > limits.max_member:
                        raise SourceError(f"{label}!{member}: inflates beyond the per-record limit")
                if _bomb(len(data), info.compress_size, limits):
                    raise SourceError(f"{label}!{member}: compression ratio too high (zip bomb?)")
                total += len(data)
                if total > limits.max_total:
                    raise SourceError(f"{label}: inflates beyond the limit of {limits.max_total} bytes")
                yield from parse_document(data, f"{label}!{member}")
    except zipfile.BadZipFile as exc:
        raise SourceError(f"{label}: corrupted zip archive ({exc})") from None
    except (zipfile.LargeZipFile, NotImplementedError, EOFError) as exc:
        raise SourceError(f"{label}: unreadable zip archive ({exc})") from None
    except OSError as exc:
        raise SourceError(f"{label}: cannot read ({exc.strerror or exc})") from None


def _is_zip(path: Path) -> bool:
    try:
        with path.open("rb") as fh:
            return fh.read(4) in (b"PK\x03\x04", b"PK\x05\x06")
    except OSError:
        return False


def osv_files(paths: Iterable[Path]) -> list[Path]:
    return list(expand_paths(paths, RECORD_SUFFIXES))


def read_osv(
    paths: Iterable[Path], limits: ZipLimits = ZipLimits(), max_file: int = 64 * 1024 * 1024
) -> Iterator[Parsed[Advisory]]:
    """Every record in the files, directories (recursive) and zip archives given, in a stable order."""
    for path in osv_files(paths):
        if path.suffix.lower() == ".zip" or _is_zip(path):
            yield from read_zip(path, limits)
            continue
        try:
            with path.open("rb") as fh:
                data = fh.read(max_file + 1)
        except OSError as exc:
            yield Parsed(str(path), problem=f"cannot read: {exc.strerror or exc}")
            continue
        if len(data) > max_file:
            yield Parsed(str(path), problem=f"larger than {max_file} bytes")
            continue
        yield from parse_document(data, str(path))
