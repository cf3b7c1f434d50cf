"""The normalised vulnerability model every source is read into, and what a scan produces (pure, typed).

OSV records and NVD CVE records both become ``Advisory``; OSV's package ``affected`` entries carry
ecosystem ranges, NVD's ``configurations`` carry CPE match trees. KEV and EPSS are side tables keyed by
CVE id. Slotted dataclasses: tens of thousands of advisories are loaded into the matching index.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Literal

EventKind = Literal["introduced", "fixed", "last_affected", "limit"]
RangeType = Literal["SEMVER", "ECOSYSTEM", "GIT"]
Source = Literal["osv", "nvd"]

# purl type -> OSV ecosystem name
PURL_ECOSYSTEMS: dict[str, str] = {
    "pypi": "PyPI",
    "npm": "npm",
    "maven": "Maven",
    "golang": "Go",
    "cargo": "crates.io",
    "nuget": "NuGet",
    "gem": "RubyGems",
    "composer": "Packagist",
    "deb": "Debian",
    "apk": "Alpine",
    "rpm": "Red Hat",
    "hex": "Hex",
    "pub": "Pub",
    "swift": "SwiftURL",
    "cocoapods": "CocoaPods",
}


@dataclass(slots=True, frozen=True)
class Event:
    kind: EventKind
    version: str


@dataclass(slots=True, frozen=True)
class Range:
    type: RangeType
    events: tuple[Event, ...]
    repo: str | None = None  # GIT ranges


@dataclass(slots=True, frozen=True)
class Affected:
    """One OSV ``affected`` entry: a package in an ecosystem, its ranges and explicit versions."""

    ecosystem: str  # as OSV writes it, e.g. "PyPI", "Debian:11", "Alpine:v3.18"
    name: str  # as written; matching normalises per ecosystem
    purl: str | None = None
    ranges: tuple[Range, ...] = ()
    versions: tuple[str, ...] = ()


@dataclass(slots=True, frozen=True)
class CpeMatch:
    criteria: str  # CPE 2.3 formatted string
    vulnerable: bool = True
    version_start_including: str | None = None
    version_start_excluding: str | None = None
    version_end_including: str | None = None
    version_end_excluding: str | None = None


@dataclass(slots=True, frozen=True)
class ConfigNode:
    operator: Literal["OR", "AND"] = "OR"
    negate: bool = False
    matches: tuple[CpeMatch, ...] = ()


@dataclass(slots=True, frozen=True)
class Configuration:
    """An NVD configuration: nodes combined with ``operator`` (AND = "running on/with" platforms)."""

    operator: Literal["OR", "AND"] = "OR"
    negate: bool = False
    nodes: tuple[ConfigNode, ...] = ()


@dataclass(slots=True, frozen=True)
class Severity:
    type: Literal["CVSS_V2", "CVSS_V3", "CVSS_V4", "Ubuntu", "other"]
    vector: str  # the vector string (for CVSS) or the label
    source: str | None = None  # e.g. "nvd@nist.gov", "osv"
    base_score: float | None = None  # as published; the scanner recomputes CVSS with the cvss library
    metric_type: str | None = None  # NVD: "Primary" (the NVD's own) or "Secondary" (a CNA's); OSV: None


@dataclass(slots=True)
class Advisory:
    id: str
    source: Source
    modified: dt.datetime
    published: dt.datetime | None = None
    withdrawn: dt.datetime | None = None
    aliases: tuple[str, ...] = ()
    related: tuple[str, ...] = ()
    summary: str | None = None
    details: str | None = None
    severities: tuple[Severity, ...] = ()
    cwes: tuple[str, ...] = ()
    affected: tuple[Affected, ...] = ()
    configurations: tuple[Configuration, ...] = ()
    references: tuple[str, ...] = ()

    def cve_ids(self) -> tuple[str, ...]:
        ids = (self.id, *self.aliases)
        return tuple(i for i in ids if i.startswith("CVE-"))


@dataclass(slots=True, frozen=True)
class KevEntry:
    cve_id: str
    vendor: str
    product: str
    name: str
    date_added: dt.date
    due_date: dt.date | None
    required_action: str
    known_ransomware: str | None = None  # "Known" / "Unknown"
    notes: str | None = None
    description: str | None = None  # KEV shortDescription


@dataclass(slots=True, frozen=True)
class EpssScore:
    cve_id: str
    epss: float
    percentile: float
    date: dt.date | None = None


@dataclass(slots=True)
class Provenance:
    """Where a record came from: the file or URL, its digest, when it was read."""

    source: str  # "osv", "nvd", "kev", "epss"
    location: str
    sha256: str | None = None
    retrieved_at: dt.datetime | None = None


@dataclass(slots=True)
class ImportProblem:
    location: str  # file (and record) that could not be read
    reason: str


@dataclass(slots=True)
class ImportReport:
    source: str
    read: int = 0
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    withdrawn: int = 0
    problems: list[ImportProblem] = field(default_factory=list)
    changed_ids: list[str] = field(default_factory=list)  # advisories added or modified: re-match these
    older: int = 0  # records older (by ``modified``) than the stored version of the same id: kept the stored
    removed: int = 0  # KEV entries no longer in the catalogue (a KEV import replaces the catalogue)
