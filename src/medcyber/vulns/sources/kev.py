"""The CISA Known Exploited Vulnerabilities catalogue (JSON feed)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from ..model import KevEntry
from . import Parsed, RecordError, SourceError, as_dict, optional_str, parse_date, read_bytes, required_str

MAX_FILE = 256 * 1024 * 1024


@dataclass(slots=True)
class KevCatalog:
    catalog_version: str | None
    date_released: str | None
    entries: list[Parsed[KevEntry]]


def parse_entry(raw: Any) -> KevEntry:
    item = as_dict(raw, "entry")
    cve_id = required_str(item.get("cveID"), "cveID")
    if not cve_id.startswith("CVE-"):
        raise RecordError(f"cveID: not a CVE id: {cve_id!r}")
    due = item.get("dueDate")
    return KevEntry(
        cve_id=cve_id,
        vendor=optional_str(item.get("vendorProject"), "vendorProject") or "",
        product=optional_str(item.get("product"), "product") or "",
        name=optional_str(item.get("vulnerabilityName"), "vulnerabilityName") or "",
        date_added=parse_date(item.get("dateAdded"), "dateAdded"),
        due_date=parse_date(due, "dueDate") if due not in (None, "") else None,
        required_action=optional_str(item.get("requiredAction"), "requiredAction") or "",
        known_ransomware=optional_str(item.get("knownRansomwareCampaignUse"), "knownRansomwareCampaignUse"),
        notes=optional_str(item.get("notes"), "notes") or None,
        description=optional_str(item.get("shortDescription"), "shortDescription"),
    )


def parse_catalog(data: bytes, name: str) -> KevCatalog:
    try:
        doc = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise SourceError(f"{name}: not valid JSON ({exc})") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("vulnerabilities"), list):
        raise SourceError(f"{name}: not a KEV catalogue (no 'vulnerabilities' list)")
    entries: list[Parsed[KevEntry]] = []
    for i, raw in enumerate(doc["vulnerabilities"]):
        location = f"{name}#{i}"
        try:
            entries.append(Parsed(location, value=parse_entry(raw)))
        except RecordError as exc:
            cve = raw.get("cveID") if isinstance(raw, dict) else None
            entries.append(
                Parsed(f"{location} ({cve})" if isinstance(cve, str) else location, problem=str(exc))
            )
    version = doc.get("catalogVersion")
    released = doc.get("dateReleased")
    return KevCatalog(
        catalog_version=version if isinstance(version, str) else None,
        date_released=released if isinstance(released, str) else None,
        entries=entries,
    )


def read_kev(path: Path, max_file: int = MAX_FILE) -> KevCatalog:
    return parse_catalog(read_bytes(path, max_bytes=max_file), str(path))
