"""The enriched SBOM a manufacturer hands to FDA: CycloneDX 1.4-1.6 JSON or SPDX 2.2/2.3 JSON (pure).

Every component carries FDA's two support elements, with the values in force: the SBOM author's own words
when they were declared (kept verbatim, e.g. "Until hardware support ends"), else what the lifecycle
analysis derived from endoflife.date (e.g. "No longer maintained", "2019-12-31"), else "Unknown" said
plainly. Where each value comes from is written next to it.

CycloneDX: component properties ``Level of Support`` and ``End-of-Support`` (the names the medical-device
practice uses and every reader of this package understands), plus ``medcyber:support:source``,
``medcyber:support:status`` and, when declared and derived disagree, ``medcyber:support:disagreement``.
SPDX: ``validUntilDate`` (2.3) when an end-of-support date is known, and one annotation per package
with "Level of Support: ..." and "End-of-Support: ..." lines.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson

from .. import __version__
from .model import Component, ComponentType, Sbom, SupportLevel
from .support import EOS_KEYS, LEVEL_KEYS, normalise_key

if TYPE_CHECKING:  # the lifecycle analysis is optional for an export
    from ..lifecycle.analysis import ComponentLifecycle, LifecycleReport

CDX_SPECS = ("1.4", "1.5", "1.6")
SPDX_SPECS = ("2.2", "2.3")
TOOL = f"medcyber-{__version__}"
LEVEL_PROPERTY = "Level of Support"
EOS_PROPERTY = "End-of-Support"
UNKNOWN = "Unknown"

LEVEL_WORDS: dict[SupportLevel, str] = {
    SupportLevel.ACTIVELY_MAINTAINED: "Actively maintained",
    SupportLevel.NO_LONGER_MAINTAINED: "No longer maintained",
    SupportLevel.ABANDONED: "Abandoned",
    SupportLevel.UNKNOWN: UNKNOWN,
}


class ExportError(ValueError):
    """The export cannot be made as asked (unknown spec version)."""


# --- the support values in force ---------------------------------------------------------------------


@dataclass(slots=True, frozen=True)
class SupportInForce:
    """FDA's two elements for one component as exported, and where they come from."""

    level_text: str
    eos_text: str
    eos: dt.date | None
    source: str  # "declared", "derived: openssl 1.0.2 (endoflife.date)", "none", or a mix
    status: str | None  # supported / end-of-support / unknown (None without a lifecycle analysis)
    disagreement: str | None = None


def _derived_label(lc: ComponentLifecycle | None) -> str:
    if lc is None or lc.product is None:
        return "derived"
    cycle = f" {lc.cycle}" if lc.cycle else ""
    return f"derived: {lc.product}{cycle} (endoflife.date)"


def support_in_force(component: Component, lifecycle: ComponentLifecycle | None = None) -> SupportInForce:
    """The level of support and end-of-support to publish for a component (pure).

    A declared value is published verbatim unless it only says "unknown" and a derived value exists.
    """
    declared = component.support
    derived_level = derived_eol = None
    ended_without_date = False
    if lifecycle is not None and lifecycle.source != "none":
        ended_without_date = getattr(lifecycle, "derived_eol_flag", None) is True
        derived_level = lifecycle.derived_level
        derived_eol = lifecycle.derived_eol
        if derived_level is None and lifecycle.source == "derived":
            derived_level = lifecycle.support_level
        if derived_eol is None and lifecycle.source == "derived":
            derived_eol = lifecycle.eol

    level_text, level_from = UNKNOWN, "none"
    if (
        declared is not None
        and declared.level_text
        and (declared.level != SupportLevel.UNKNOWN or derived_level in (None, SupportLevel.UNKNOWN))
    ):
        level_text, level_from = declared.level_text, "declared"
    elif derived_level is not None and derived_level != SupportLevel.UNKNOWN:
        level_text, level_from = LEVEL_WORDS[derived_level], "derived"
    elif declared is not None and declared.level_text:
        level_text, level_from = declared.level_text, "declared"

    eos_text, eos, eos_from = UNKNOWN, None, "none"
    if (
        declared is not None
        and declared.end_of_support_text
        and (
            declared.end_of_support is not None
            or declared.eos_rule != "unknown"
            or (derived_eol is None and not ended_without_date)
        )
    ):
        eos_text, eos, eos_from = declared.end_of_support_text, declared.end_of_support, "declared"
    elif derived_eol is not None:
        eos_text, eos, eos_from = derived_eol.isoformat(), derived_eol, "derived"
    elif ended_without_date:
        eos_text, eos_from = "Ended", "derived"  # the catalogue says ended without publishing a date

    origins = {level_from, eos_from} - {"none"}
    if not origins:
        source = "none"
    elif origins == {"declared"}:
        source = "declared"
    elif origins == {"derived"}:
        source = _derived_label(lifecycle)
    else:
        which = "level of support" if level_from == "declared" else "end-of-support"
        other = "end-of-support" if level_from == "declared" else "level of support"
        source = f"declared {which}; {other} {_derived_label(lifecycle)}"
    return SupportInForce(
        level_text=level_text,
        eos_text=eos_text,
        eos=eos,
        source=source,
        status=lifecycle.support_status if lifecycle is not None else None,
        disagreement=lifecycle.disagreement if lifecycle is not None else None,
    )


def _lifecycle_index(lifecycle: LifecycleReport | None) -> dict[str, ComponentLifecycle]:
    return {c.ref: c for c in lifecycle.components} if lifecycle is not None else {}


def _now(now: dt.datetime | None) -> dt.datetime:
    return (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).replace(microsecond=0)


def _iso_z(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


# --- licences ----------------------------------------------------------------------------------------

_TOKEN = re.compile(r"\(|\)|[^\s()]+")
_REF = re.compile(r"^(DocumentRef-[A-Za-z0-9.-]+:)?LicenseRef-[A-Za-z0-9.-]+$")
_OPERATORS = {"AND", "OR", "WITH"}


def _spdx_id(token: str) -> str | None:
    from cyclonedx.spdx import fixup_id

    plus = token.endswith("+")
    fixed = fixup_id(token[:-1] if plus else token)
    if fixed is None:
        return None
    return fixed + ("+" if plus else "")


def spdx_expression(text: str) -> str | None:
    """``text`` as a valid SPDX license expression with canonical ids, or None when it is not one."""
    tokens = _TOKEN.findall(text)
    if not tokens:
        return None
    out: list[str] = []
    depth = 0
    expect_operand = True
    for tok in tokens:
        up = tok.upper()
        if tok == "(":
            if not expect_operand:
                return None
            depth += 1
            out.append(tok)
        elif tok == ")":
            if expect_operand or depth == 0:
                return None
            depth -= 1
            out.append(tok)
        elif up in _OPERATORS:
            if expect_operand:
                return None
            out.append(up)
            expect_operand = True
        else:
            if not expect_operand:
                return None
            if _REF.match(tok):
                out.append(tok)
            else:
                fixed = _spdx_id(tok)
                if fixed is None:
                    return None
                out.append(fixed)
            expect_operand = False
    if expect_operand or depth != 0:
        return None
    return " ".join(out).replace("( ", "(").replace(" )", ")")


def _is_compound(expression: str) -> bool:
    return any(t.upper() in _OPERATORS for t in _TOKEN.findall(expression))


class _LicenseRefs:
    """Non-SPDX licence names as LicenseRef-... ids (stable within one document)."""

    def __init__(self) -> None:
        self.by_text: dict[str, str] = {}
        self.foreign: dict[str, None] = {}  # LicenseRef-... ids the SBOM itself used

    def extracted_infos(self) -> list[dict[str, str]]:
        """SPDX hasExtractedLicensingInfos: every LicenseRef the document uses must be defined."""
        ours = [{"licenseId": ref, "extractedText": text, "name": text} for text, ref in self.by_text.items()]
        defined = set(self.by_text.values())
        theirs = [
            {"licenseId": ref, "extractedText": "(the licence text was not given in the source SBOM)"}
            for ref in self.foreign
            if ref not in defined
        ]
        return ours + theirs

    def ref(self, text: str) -> str:
        if text not in self.by_text:
            base = "LicenseRef-" + (re.sub(r"[^A-Za-z0-9.]+", "-", text).strip("-") or "unnamed")
            candidate, n = base, 2
            while candidate in self.by_text.values():
                candidate, n = f"{base}-{n}", n + 1
            self.by_text[text] = candidate
        return self.by_text[text]

    def expression(self, licenses: Iterable[str]) -> str | None:
        """One SPDX expression for all of a component's licences (AND), None when there are none."""
        parts: list[str] = []
        for text in licenses:
            expr = spdx_expression(text)
            if expr is None:
                expr = self.ref(text)
            else:
                self.foreign.update((t, None) for t in _TOKEN.findall(expr) if t.startswith("LicenseRef-"))
            parts.append(f"({expr})" if _is_compound(expr) else expr)
        if not parts:
            return None
        if len(parts) == 1 and parts[0].startswith("("):
            return parts[0][1:-1]
        return " AND ".join(dict.fromkeys(parts))


def _cdx_licenses(licenses: tuple[str, ...], refs: _LicenseRefs) -> list[dict[str, Any]]:
    if not licenses:
        return []
    expressions = [spdx_expression(t) for t in licenses]
    if not any(e is not None and _is_compound(e) for e in expressions):
        out: list[dict[str, Any]] = []
        for text in licenses:
            spdx = _spdx_id(text)
            if spdx is not None and not spdx.endswith("+"):
                out.append({"license": {"id": spdx}})
            else:
                out.append({"license": {"name": text}})
        return out
    if len(licenses) == 1 and expressions[0] is not None:
        return [{"expression": expressions[0]}]
    combined = refs.expression(licenses)
    return [{"expression": combined}] if combined else []


# --- hashes ------------------------------------------------------------------------------------------

_CDX_HASH = {
    "MD5": "MD5",
    "SHA1": "SHA-1",
    "SHA256": "SHA-256",
    "SHA384": "SHA-384",
    "SHA512": "SHA-512",
    "SHA3256": "SHA3-256",
    "SHA3384": "SHA3-384",
    "SHA3512": "SHA3-512",
    "BLAKE2B256": "BLAKE2b-256",
    "BLAKE2B384": "BLAKE2b-384",
    "BLAKE2B512": "BLAKE2b-512",
    "BLAKE3": "BLAKE3",
}
_SPDX_HASH = {
    "MD2": "MD2",
    "MD4": "MD4",
    "MD5": "MD5",
    "MD6": "MD6",
    "SHA1": "SHA1",
    "SHA224": "SHA224",
    "SHA256": "SHA256",
    "SHA384": "SHA384",
    "SHA512": "SHA512",
    "SHA3256": "SHA3-256",
    "SHA3384": "SHA3-384",
    "SHA3512": "SHA3-512",
    "BLAKE2B256": "BLAKE2b-256",
    "BLAKE2B384": "BLAKE2b-384",
    "BLAKE2B512": "BLAKE2b-512",
    "BLAKE3": "BLAKE3",
    "ADLER32": "ADLER32",
}
_SPDX22_HASHES = {"SHA1", "SHA224", "SHA256", "SHA384", "SHA512", "MD2", "MD4", "MD5", "MD6"}
_HEX = re.compile(r"^([a-fA-F0-9]{32}|[a-fA-F0-9]{40}|[a-fA-F0-9]{64}|[a-fA-F0-9]{96}|[a-fA-F0-9]{128})$")


def _hash_key(alg: str) -> str:
    return re.sub(r"[^A-Z0-9]", "", alg.upper())


# --- CycloneDX ---------------------------------------------------------------------------------------


def _cdx_type(ctype: ComponentType, spec: str) -> str:
    value = str(ctype)
    if value in ("service", "other"):
        return "application" if value == "service" else "library"
    if spec == "1.4" and value in ("platform", "data"):
        return "application" if value == "platform" else "file"
    return value


def _is_support_property(name: str) -> bool:
    if name.startswith("medcyber:support:"):
        return True
    key = normalise_key(name.rsplit(":", 1)[-1])
    return key in LEVEL_KEYS or key in EOS_KEYS


def _cdx_component(
    c: Component, spec: str, lc: ComponentLifecycle | None, refs: _LicenseRefs, bom_ref: str
) -> dict[str, Any]:
    node: dict[str, Any] = {"type": _cdx_type(c.type, spec), "bom-ref": bom_ref}
    if c.supplier:
        node["supplier"] = {"name": c.supplier}
    if c.manufacturer:
        if spec == "1.6":
            node["manufacturer"] = {"name": c.manufacturer}
        else:
            node["author"] = c.manufacturer
    if c.group:
        node["group"] = c.group
    node["name"] = c.name
    if c.version is not None:
        node["version"] = c.version
    if c.description:
        node["description"] = c.description
    if c.scope in ("required", "optional", "excluded"):
        node["scope"] = c.scope
    hashes = []
    for h in c.hashes:
        alg = _CDX_HASH.get(_hash_key(h.alg))
        if alg and _HEX.match(h.value):
            hashes.append({"alg": alg, "content": h.value})
    if hashes:
        node["hashes"] = hashes
    licenses = _cdx_licenses(c.licenses, refs)
    if licenses:
        node["licenses"] = licenses
    if c.cpes:
        node["cpe"] = c.cpes[0]
    if c.purl:
        node["purl"] = c.purl
    props = [{"name": k, "value": v} for k, v in c.properties if not _is_support_property(k)]
    listed = {v for _, v in c.properties}
    props.extend({"name": "medcyber:cpe", "value": cpe} for cpe in c.cpes[1:] if cpe not in listed)
    support = support_in_force(c, lc)
    props.append({"name": LEVEL_PROPERTY, "value": support.level_text})
    props.append({"name": EOS_PROPERTY, "value": support.eos_text})
    props.append({"name": "medcyber:support:source", "value": support.source})
    if support.status is not None:
        props.append({"name": "medcyber:support:status", "value": support.status})
    if support.disagreement:
        props.append({"name": "medcyber:support:disagreement", "value": support.disagreement})
    node["properties"] = props
    return node


def _unique_refs(components: list[Component], taken: set[str]) -> dict[int, str]:
    out: dict[int, str] = {}
    for i, c in enumerate(components):
        ref, n = c.ref, 2
        while ref in taken:
            ref, n = f"{c.ref}#{n}", n + 1
        taken.add(ref)
        out[i] = ref
    return out


def _prepare(
    sbom: Sbom, lifecycle: LifecycleReport | None, fmt: str, spec: str, offered: tuple[str, ...]
) -> tuple[dict[str, ComponentLifecycle], _LicenseRefs, Component | None, list[Component]]:
    """What both exports start from: the lifecycle by ref, the licence refs, the primary component and
    the other components."""
    if spec not in offered:
        raise ExportError(f"{fmt} {spec} is not offered; choose one of {', '.join(offered)}")
    primary = sbom.primary_component
    members = [c for c in sbom.components if primary is None or c.ref != primary.ref]
    return _lifecycle_index(lifecycle), _LicenseRefs(), primary, members


def to_cyclonedx_json(
    sbom: Sbom,
    lifecycle: LifecycleReport | None = None,
    *,
    spec: str = "1.6",
    now: dt.datetime | None = None,
    serial: str | None = None,
) -> bytes:
    """The SBOM as CycloneDX JSON with FDA's support elements on every component."""
    lcs, refs, primary, members = _prepare(sbom, lifecycle, "CycloneDX", spec, CDX_SPECS)
    moment = _now(now)
    taken = {primary.ref} if primary is not None else set()
    bom_refs = _unique_refs(members, taken)
    nodes: dict[int, dict[str, Any]] = {
        i: _cdx_component(c, spec, lcs.get(c.ref), refs, bom_refs[i]) for i, c in enumerate(members)
    }
    first_index = {c.ref: i for i, c in reversed(list(enumerate(members)))}
    top: list[dict[str, Any]] = []
    under_primary: list[dict[str, Any]] = []
    for i, c in enumerate(members):
        parent = c.parent
        if parent is not None and primary is not None and parent == primary.ref:
            under_primary.append(nodes[i])
        elif parent is not None and parent in first_index and first_index[parent] != i:
            nodes[first_index[parent]].setdefault("components", []).append(nodes[i])
        else:
            top.append(nodes[i])

    metadata: dict[str, Any] = {"timestamp": _iso_z(moment)}
    if spec == "1.4":
        tools: Any = [{"vendor": "medcyber", "name": "medcyber", "version": __version__}]
        tools += [{"name": t} for t in sbom.document.tools]
    else:
        tools = {
            "components": [{"type": "application", "name": "medcyber", "version": __version__}]
            + [{"type": "application", "name": t} for t in sbom.document.tools]
        }
    metadata["tools"] = tools
    if spec != "1.4" and sbom.document.lifecycles:
        phases = {"design", "pre-build", "build", "post-build", "operations", "discovery", "decommission"}
        metadata["lifecycles"] = [
            {"phase": p} if p in phases else {"name": p} for p in dict.fromkeys(sbom.document.lifecycles)
        ]
    if sbom.document.authors:
        metadata["authors"] = [{"name": a} for a in sbom.document.authors]
    if primary is not None:
        main = _cdx_component(primary, spec, lcs.get(primary.ref), refs, primary.ref)
        if under_primary:
            main["components"] = under_primary
        metadata["component"] = main
    if sbom.document.supplier:
        metadata["supplier"] = {"name": sbom.document.supplier}
    if lifecycle is not None:
        metadata["properties"] = [{"name": "medcyber:support:as-of", "value": lifecycle.as_of.isoformat()}]

    known = set(bom_refs.values()) | taken
    dependencies = []
    for ref, targets in sbom.dependencies.items():
        if ref not in known:
            continue
        entry: dict[str, Any] = {"ref": ref}
        depends = [t for t in dict.fromkeys(targets) if t in known and t != ref]
        if depends:
            entry["dependsOn"] = depends
        dependencies.append(entry)

    doc: dict[str, Any] = {
        "bomFormat": "CycloneDX",
        "specVersion": spec,
        "serialNumber": serial or f"urn:uuid:{uuid.uuid4()}",
        "version": 1,
        "metadata": metadata,
        "components": top,
    }
    if dependencies:
        doc["dependencies"] = dependencies
    return orjson.dumps(doc, option=orjson.OPT_INDENT_2)


# --- SPDX --------------------------------------------------------------------------------------------

_PURPOSE = {
    ComponentType.APPLICATION: "APPLICATION",
    ComponentType.LIBRARY: "LIBRARY",
    ComponentType.FRAMEWORK: "FRAMEWORK",
    ComponentType.OPERATING_SYSTEM: "OPERATING_SYSTEM",
    ComponentType.FIRMWARE: "FIRMWARE",
    ComponentType.DEVICE: "DEVICE",
    ComponentType.CONTAINER: "CONTAINER",
    ComponentType.FILE: "FILE",
}


def _spdx_ids(components: list[Component]) -> list[str]:
    used = {"SPDXRef-DOCUMENT"}
    out: list[str] = []
    for c in components:
        body = c.ref.removeprefix("SPDXRef-")
        base = "SPDXRef-" + (re.sub(r"[^A-Za-z0-9.-]+", "-", body).strip("-") or "component")
        candidate, n = base, 2
        while candidate in used:
            candidate, n = f"{base}-{n}", n + 1
        used.add(candidate)
        out.append(candidate)
    return out


def _agent(name: str | None, kind: str = "Organization") -> str:
    if not name:
        return "NOASSERTION"
    if re.match(r"^(Organization|Person|Tool):\s", name) or name == "NOASSERTION":
        return name
    return f"{kind}: {name}"


def _spdx_package(
    c: Component,
    spdx_id: str,
    lc: ComponentLifecycle | None,
    refs: _LicenseRefs,
    spec: str,
    created: str,
) -> dict[str, Any]:
    pkg: dict[str, Any] = {"SPDXID": spdx_id, "name": c.name}
    if c.version:
        pkg["versionInfo"] = c.version
    pkg["supplier"] = _agent(c.supplier)
    if c.manufacturer:
        pkg["originator"] = _agent(c.manufacturer)
    pkg["downloadLocation"] = "NOASSERTION"
    pkg["filesAnalyzed"] = False
    checksums = []
    for h in c.hashes:
        key = _hash_key(h.alg)
        alg = _SPDX_HASH.get(key)
        if alg and (spec == "2.3" or key in _SPDX22_HASHES):
            checksums.append({"algorithm": alg, "checksumValue": h.value})
    if checksums:
        pkg["checksums"] = checksums
    pkg["licenseConcluded"] = "NOASSERTION"
    pkg["licenseDeclared"] = refs.expression(c.licenses) or "NOASSERTION"
    pkg["copyrightText"] = "NOASSERTION"
    if c.description:
        pkg["description"] = c.description
    external = []
    if c.purl:
        external.append(
            {"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl", "referenceLocator": c.purl}
        )
    for cpe in c.cpes:
        kind = "cpe23Type" if cpe.startswith("cpe:2.3:") else "cpe22Type"
        external.append({"referenceCategory": "SECURITY", "referenceType": kind, "referenceLocator": cpe})
    if external:
        pkg["externalRefs"] = external
    support = support_in_force(c, lc)
    if spec == "2.3":
        if c.type in _PURPOSE:
            pkg["primaryPackagePurpose"] = _PURPOSE[c.type]
        if support.eos is not None:
            pkg["validUntilDate"] = f"{support.eos.isoformat()}T00:00:00Z"
    lines = [
        f"{LEVEL_PROPERTY}: {support.level_text}",
        f"{EOS_PROPERTY}: {support.eos_text}",
        f"Support source: {support.source}",
    ]
    if support.status is not None:
        lines.append(f"Support status: {support.status}")
    if support.disagreement:
        lines.append(f"Support disagreement: {support.disagreement}")
    pkg["annotations"] = [
        {
            "annotationDate": created,
            "annotationType": "OTHER",
            "annotator": f"Tool: {TOOL}",
            "comment": "\n".join(lines),
        }
    ]
    return pkg


def to_spdx_json(
    sbom: Sbom,
    lifecycle: LifecycleReport | None = None,
    *,
    spec: str = "2.3",
    now: dt.datetime | None = None,
    namespace: str | None = None,
) -> bytes:
    """The SBOM as an SPDX JSON document with FDA's support elements on every package."""
    lcs, refs, primary, members = _prepare(sbom, lifecycle, "SPDX", spec, SPDX_SPECS)
    created = _iso_z(_now(now))
    everything = ([primary] if primary is not None else []) + members
    ids = _spdx_ids(everything)
    id_of: dict[str, str] = {}
    for c, spdx_id in zip(everything, ids, strict=True):
        id_of.setdefault(c.ref, spdx_id)
    packages = [
        _spdx_package(c, spdx_id, lcs.get(c.ref), refs, spec, created)
        for c, spdx_id in zip(everything, ids, strict=True)
    ]
    relationships: list[dict[str, str]] = []
    if primary is not None:
        described = [id_of[primary.ref]]
    else:
        described = [id_of[c.ref] for c in members if c.parent is None or c.parent not in id_of]
    relationships.extend(
        {"spdxElementId": "SPDXRef-DOCUMENT", "relationshipType": "DESCRIBES", "relatedSpdxElement": d}
        for d in described
    )
    for c in members:
        if c.parent is not None and c.parent in id_of and c.parent != c.ref:
            relationships.append(
                {
                    "spdxElementId": id_of[c.parent],
                    "relationshipType": "CONTAINS",
                    "relatedSpdxElement": id_of[c.ref],
                }
            )
    for ref, targets in sbom.dependencies.items():
        if ref not in id_of:
            continue
        for target in dict.fromkeys(targets):
            if target in id_of and target != ref:
                relationships.append(
                    {
                        "spdxElementId": id_of[ref],
                        "relationshipType": "DEPENDS_ON",
                        "relatedSpdxElement": id_of[target],
                    }
                )
    name = sbom.document.name or (primary.name if primary is not None else None) or "SBOM"
    slug = re.sub(r"[^A-Za-z0-9.-]+", "-", name).strip("-") or "sbom"
    creators = [f"Tool: {TOOL}"]
    if sbom.document.supplier:
        creators.append(_agent(sbom.document.supplier))
    doc: dict[str, Any] = {
        "spdxVersion": f"SPDX-{spec}",
        "dataLicense": "CC0-1.0",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": name,
        "documentNamespace": namespace or f"https://medcyber.invalid/spdxdocs/{slug}-{uuid.uuid4()}",
        "creationInfo": {"created": created, "creators": creators},
        "packages": packages,
        "relationships": relationships,
    }
    if lifecycle is not None:
        doc["comment"] = f"Support status as of {lifecycle.as_of.isoformat()} ({TOOL})."
    extracted = refs.extracted_infos()
    if extracted:
        doc["hasExtractedLicensingInfos"] = extracted
    return orjson.dumps(doc, option=orjson.OPT_INDENT_2)
