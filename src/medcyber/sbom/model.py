"""The normalised SBOM model every format is read into (pure, typed, cheap to build).

Plain dataclasses with slots: a 50,000-component SBOM must normalise in well under a second, so the model
does no validation of its own; the format readers validate against the official schemas first.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal

SbomFormat = Literal["cyclonedx", "spdx"]
Encoding = Literal["json", "xml", "tag-value", "json-ld", "protobuf-text"]


class ComponentType(StrEnum):
    APPLICATION = "application"
    LIBRARY = "library"
    FRAMEWORK = "framework"
    OPERATING_SYSTEM = "operating-system"
    FIRMWARE = "firmware"
    DEVICE = "device"  # hardware
    CONTAINER = "container"
    PLATFORM = "platform"
    FILE = "file"
    DATA = "data"
    SERVICE = "service"
    OTHER = "other"


class SupportLevel(StrEnum):
    """FDA's level of support for a component."""

    ACTIVELY_MAINTAINED = "actively-maintained"
    NO_LONGER_MAINTAINED = "no-longer-maintained"
    ABANDONED = "abandoned"
    UNKNOWN = "unknown"


@dataclass(slots=True, frozen=True)
class Hash:
    alg: str  # normalised upper-case, e.g. "SHA-256"
    value: str


@dataclass(slots=True, frozen=True)
class DeclaredSupport:
    """Support level and end-of-support date as the SBOM's author wrote them, and what they mean.

    The verbatim texts are always kept ("Until hardware support ends", "Actively maintained", "Unknown");
    ``level`` and ``end_of_support`` are the interpretation where one is possible, ``eos_rule`` names a
    non-date rule ("until-hardware-support-ends", "unknown", "none"), ``source`` says where it was found
    (e.g. "property:End-of-Support", "spdx:validUntilDate", "annotation").
    """

    level_text: str | None = None
    level: SupportLevel | None = None
    end_of_support_text: str | None = None
    end_of_support: dt.date | None = None
    eos_rule: str | None = None
    source: str | None = None


@dataclass(slots=True)
class Component:
    ref: str  # bom-ref (CycloneDX) or SPDXID (SPDX), unique within the document
    name: str
    version: str | None = None
    type: ComponentType = ComponentType.LIBRARY
    supplier: str | None = None
    manufacturer: str | None = None  # CycloneDX manufacturer/author/publisher; SPDX originator
    group: str | None = None
    purl: str | None = None
    cpes: tuple[str, ...] = ()
    hashes: tuple[Hash, ...] = ()
    licenses: tuple[str, ...] = ()  # SPDX ids, expressions, or names as written
    description: str | None = None
    properties: tuple[tuple[str, str], ...] = ()
    support: DeclaredSupport | None = None
    parent: str | None = None  # ref of the enclosing component for nested CycloneDX components
    scope: str | None = None  # CycloneDX scope (required/optional/excluded)


@dataclass(slots=True)
class DocumentInfo:
    format: SbomFormat
    spec_version: str  # "1.4", "2.3", ...
    encoding: Encoding
    serial: str | None = None  # CycloneDX serialNumber or SPDX documentNamespace
    version: int | None = None  # CycloneDX BOM version
    name: str | None = None
    timestamp: dt.datetime | None = None
    authors: tuple[str, ...] = ()
    tools: tuple[str, ...] = ()
    supplier: str | None = None
    lifecycles: tuple[str, ...] = ()  # generation context (CycloneDX 1.5+ metadata.lifecycles)
    primary: str | None = None  # ref of the described component (metadata.component / DESCRIBES)


@dataclass(slots=True)
class Sbom:
    document: DocumentInfo
    components: list[Component] = field(default_factory=list)
    dependencies: dict[str, tuple[str, ...]] = field(default_factory=dict)  # ref -> direct dependency refs
    primary_component: Component | None = None  # the device/product the SBOM describes, if given

    def by_ref(self) -> dict[str, Component]:
        return {c.ref: c for c in self.components}

    def direct_dependencies(self) -> set[str]:
        """Refs the primary component depends on directly (empty when the SBOM gives no graph)."""
        if self.document.primary is None:
            return set()
        return set(self.dependencies.get(self.document.primary, ()))

    def transitive_dependencies(self, ref: str) -> set[str]:
        seen: set[str] = set()
        stack = list(self.dependencies.get(ref, ()))
        while stack:
            r = stack.pop()
            if r not in seen:
                seen.add(r)
                stack.extend(self.dependencies.get(r, ()))
        return seen


@dataclass(slots=True, frozen=True)
class Issue:
    """A validation problem: ``path`` is a JSON pointer ("/components/3/hashes/0/alg"), an XPath-like
    element path with its line ("/bom/components/component[4]/hashes (line 52)") or a tag-value line."""

    path: str
    message: str
    severity: Literal["error", "warning"] = "error"

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


@dataclass(slots=True)
class ReadResult:
    """What reading one SBOM gave: the normalised SBOM (None if unreadable), validity and the problems.

    ``valid`` is schema validity. With ``lenient`` reading an invalid document still yields what could be
    read, and ``dropped`` lists what was left out and why.
    """

    source: str
    sbom: Sbom | None
    valid: bool
    errors: list[Issue] = field(default_factory=list)
    warnings: list[Issue] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    format: SbomFormat | None = None
    spec_version: str | None = None
    encoding: Encoding | None = None


class SbomError(ValueError):
    """The input cannot be read as an SBOM at all (not an SBOM, too large, unsafe XML, bad encoding)."""

    def __init__(self, source: str, message: str):
        self.source = source
        super().__init__(f"{source}: {message}")
