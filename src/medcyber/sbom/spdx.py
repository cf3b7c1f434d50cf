"""SPDX 2.2/2.3 (JSON and tag-value) and SPDX 3.0 (JSON-LD) into the normalised model.

Why not ``spdx-tools``: its parsers build a full object model with per-field validation (a multiple of the
time of the work done here, and it raises on the first problem instead of reporting all of them with a
location). Instead, tag-value is parsed here into exactly the JSON shape of SPDX 2.x JSON -- the tag
names map one to one onto JSON fields -- so one official JSON schema validates both encodings and one
normaliser reads both. Each JSON pointer of the tag-value form remembers its source line, so schema errors
on tag-value documents are reported with the line they come from.
"""

from __future__ import annotations

import re
from typing import Any

from . import support
from .cyclonedx import normalise_hash_alg, parse_timestamp, support_from_properties
from .model import Component, ComponentType, DeclaredSupport, DocumentInfo, Encoding, Hash, Issue, Sbom

PURPOSE_MAP: dict[str, ComponentType] = {
    "APPLICATION": ComponentType.APPLICATION,
    "FRAMEWORK": ComponentType.FRAMEWORK,
    "LIBRARY": ComponentType.LIBRARY,
    "CONTAINER": ComponentType.CONTAINER,
    "OPERATING-SYSTEM": ComponentType.OPERATING_SYSTEM,
    "OPERATING_SYSTEM": ComponentType.OPERATING_SYSTEM,
    "OPERATINGSYSTEM": ComponentType.OPERATING_SYSTEM,
    "DEVICE": ComponentType.DEVICE,
    "FIRMWARE": ComponentType.FIRMWARE,
    "FILE": ComponentType.FILE,
    "ARCHIVE": ComponentType.FILE,
    "SOURCE": ComponentType.OTHER,
    "INSTALL": ComponentType.OTHER,
    "OTHER": ComponentType.OTHER,
    "DATA": ComponentType.DATA,
    "PLATFORM": ComponentType.PLATFORM,
}

# A depends on B for these relationship types (A RELATION B) ...
_FORWARD = {"DEPENDS_ON", "CONTAINS", "STATIC_LINK", "DYNAMIC_LINK", "HAS_PREREQUISITE"}
# ... and B depends on A for these.
_REVERSE = {
    "DEPENDENCY_OF",
    "CONTAINED_BY",
    "RUNTIME_DEPENDENCY_OF",
    "BUILD_DEPENDENCY_OF",
    "DEV_DEPENDENCY_OF",
    "OPTIONAL_DEPENDENCY_OF",
    "PROVIDED_DEPENDENCY_OF",
    "TEST_DEPENDENCY_OF",
    "PREREQUISITE_FOR",
}
_NO_VALUE = {"NOASSERTION", "NONE", ""}


def _text(value: Any) -> str | None:
    if isinstance(value, str):
        value = value.strip()
        return value if value and value not in _NO_VALUE else None
    return None


def actor_name(value: Any) -> str | None:
    """'Organization: Acme Inc. (x@acme.com)' -> 'Acme Inc.'; NOASSERTION -> None."""
    text = _text(value)
    if text is None:
        return None
    text = re.sub(r"^(Organization|Person|Tool)\s*:\s*", "", text)
    text = re.sub(r"\s*\([^()]*@[^()]*\)\s*$|\s*\(\s*\)\s*$", "", text).strip()
    return text or None


def _annotation_pairs(annotations: Any) -> list[tuple[str, str]]:
    """'Key: value' lines stated in annotation comments ('Level of Support: Actively maintained')."""
    pairs: list[tuple[str, str]] = []
    if not isinstance(annotations, list):
        return pairs
    for ann in annotations:
        comment = ann.get("comment") if isinstance(ann, dict) else None
        if not isinstance(comment, str):
            continue
        for line in re.split(r"[\n;]", comment):
            key, sep, value = line.partition(":")
            if sep and key.strip() and value.strip() and len(key) < 60:
                pairs.append((key.strip(), value.strip()))
    return pairs


def _declared_support(pkg: dict[str, Any], pairs: list[tuple[str, str]]) -> DeclaredSupport | None:
    found = support_from_properties(tuple(pairs), prefix="annotation")
    valid_until = _text(pkg.get("validUntilDate"))
    if valid_until is None:
        return found
    if found is not None and found.end_of_support_text is not None:
        return found  # the author's explicit end-of-support statement wins
    level_text = found.level_text if found is not None else None
    sources = [found.source] if found is not None and found.source else []
    sources.append("spdx:validUntilDate")
    return support.declared_support(level_text, valid_until, source=", ".join(sources))


def _package(pkg: dict[str, Any], index: int) -> Component | None:
    name = pkg.get("name")
    if not isinstance(name, str) or not name.strip():
        return None
    ref: str = pkg["SPDXID"] if isinstance(pkg.get("SPDXID"), str) else f"package-{index}"
    purl = None
    cpes: list[str] = []
    for ext in pkg.get("externalRefs") or ():
        if not isinstance(ext, dict):
            continue
        rtype = str(ext.get("referenceType", "")).lower()
        locator = _text(ext.get("referenceLocator"))
        if locator is None:
            continue
        if rtype == "purl" and purl is None:
            purl = locator
        elif rtype in ("cpe23type", "cpe22type") and locator not in cpes:
            cpes.append(locator)
    hashes = tuple(
        Hash(normalise_hash_alg(c["algorithm"]), c["checksumValue"].strip())
        for c in pkg.get("checksums") or ()
        if isinstance(c, dict)
        and isinstance(c.get("algorithm"), str)
        and isinstance(c.get("checksumValue"), str)
    )
    licenses: list[str] = []
    for key in ("licenseDeclared", "licenseConcluded"):
        lic = _text(pkg.get(key))
        if lic and lic not in licenses:
            licenses.append(lic)
    purpose = pkg.get("primaryPackagePurpose")
    ctype = PURPOSE_MAP.get(purpose.upper(), ComponentType.OTHER) if isinstance(purpose, str) else None
    pairs = _annotation_pairs(pkg.get("annotations"))
    return Component(
        ref=ref,
        name=name.strip(),
        version=_text(pkg.get("versionInfo")),
        type=ctype or ComponentType.LIBRARY,
        supplier=actor_name(pkg.get("supplier")),
        manufacturer=actor_name(pkg.get("originator")),
        purl=purl,
        cpes=tuple(cpes),
        hashes=hashes,
        licenses=tuple(licenses),
        description=_text(pkg.get("summary")) or _text(pkg.get("description")),
        properties=tuple(pairs),
        support=_declared_support(pkg, pairs),
    )


def normalise(
    doc: dict[str, Any], spec_version: str, encoding: Encoding, *, lenient: bool
) -> tuple[Sbom, list[str]]:
    dropped: list[str] = []
    doc_id = doc.get("SPDXID") if isinstance(doc.get("SPDXID"), str) else "SPDXRef-DOCUMENT"
    comps: list[Component] = []
    for i, pkg in enumerate(doc.get("packages") or ()):
        comp = _package(pkg, i) if isinstance(pkg, dict) else None
        if comp is None:
            dropped.append(f"/packages/{i}: package without a name")
        else:
            comps.append(comp)
    known = {c.ref for c in comps}

    described: list[str] = [d for d in doc.get("documentDescribes") or () if isinstance(d, str)]
    edges: list[tuple[str, str]] = []
    for i, rel in enumerate(doc.get("relationships") or ()):
        if not isinstance(rel, dict):
            continue
        a, kind, b = rel.get("spdxElementId"), rel.get("relationshipType"), rel.get("relatedSpdxElement")
        if not (isinstance(a, str) and isinstance(b, str) and isinstance(kind, str)):
            continue
        kind = kind.upper()
        if kind == "DESCRIBES" and a == doc_id:
            described.append(b)
        elif kind == "DESCRIBED_BY" and b == doc_id:
            described.append(a)
        elif kind in _FORWARD:
            edges.append((a, b))
        elif kind in _REVERSE:
            edges.append((b, a))
        else:
            continue
        if lenient and kind not in ("DESCRIBES", "DESCRIBED_BY") and (a not in known or b not in known):
            dropped.append(f"/relationships/{i}: {a} {kind} {b} names an element that is not a package")
            edges.pop()
    described = list(dict.fromkeys(d for d in described if d in known))

    primary: Component | None = None
    if len(described) == 1:
        primary = next(c for c in comps if c.ref == described[0])
        comps = [c for c in comps if c is not primary]
    deps: dict[str, list[str]] = {}
    for a, b in edges:
        if b not in deps.setdefault(a, []):
            deps[a].append(b)

    creation: dict[str, Any] = doc["creationInfo"] if isinstance(doc.get("creationInfo"), dict) else {}
    tools: list[str] = []
    authors: list[str] = []
    for creator in creation.get("creators") or ():
        if not isinstance(creator, str):
            continue
        name = actor_name(creator)
        if name is None:
            continue
        (tools if creator.strip().startswith("Tool") else authors).append(name)
    raw_ts = creation.get("created")
    timestamp = parse_timestamp(raw_ts)
    if raw_ts is not None and timestamp is None:
        dropped.append(f"/creationInfo/created: {raw_ts!r} is not a date-time")
    info = DocumentInfo(
        format="spdx",
        spec_version=spec_version,
        encoding=encoding,
        serial=_text(doc.get("documentNamespace")),
        name=_text(doc.get("name")),
        timestamp=timestamp,
        authors=tuple(authors),
        tools=tuple(tools),
        supplier=primary.supplier if primary is not None else None,
        primary=primary.ref if primary is not None else None,
    )
    sbom = Sbom(
        document=info,
        components=comps,
        dependencies={k: tuple(v) for k, v in deps.items()},
        primary_component=primary,
    )
    return sbom, dropped


# --- tag-value into the JSON shape ---------------------------------------------------------------------

_DOC_TAGS = {
    "SPDXVersion": "spdxVersion",
    "DataLicense": "dataLicense",
    "DocumentName": "name",
    "DocumentNamespace": "documentNamespace",
    "DocumentComment": "comment",
}
_CREATION_TAGS = {
    "Created": "created",
    "CreatorComment": "comment",
    "LicenseListVersion": "licenseListVersion",
}
_PACKAGE_TAGS = {
    "PackageVersion": "versionInfo",
    "PackageFileName": "packageFileName",
    "PackageSupplier": "supplier",
    "PackageOriginator": "originator",
    "PackageDownloadLocation": "downloadLocation",
    "PackageHomePage": "homepage",
    "PackageSourceInfo": "sourceInfo",
    "PackageLicenseConcluded": "licenseConcluded",
    "PackageLicenseDeclared": "licenseDeclared",
    "PackageLicenseComments": "licenseComments",
    "PackageCopyrightText": "copyrightText",
    "PackageSummary": "summary",
    "PackageDescription": "description",
    "PackageComment": "comment",
    "PrimaryPackagePurpose": "primaryPackagePurpose",
    "ReleaseDate": "releaseDate",
    "BuiltDate": "builtDate",
    "ValidUntilDate": "validUntilDate",
}
_PACKAGE_LISTS = {
    "PackageLicenseInfoFromFiles": "licenseInfoFromFiles",
    "PackageAttributionText": "attributionTexts",
}
_FILE_TAGS = {
    "LicenseConcluded": "licenseConcluded",
    "LicenseComments": "licenseComments",
    "FileCopyrightText": "copyrightText",
    "FileComment": "comment",
    "FileNotice": "noticeText",
}
_FILE_LISTS = {
    "FileType": "fileTypes",
    "LicenseInfoInFile": "licenseInfoInFiles",
    "FileContributor": "fileContributors",
    "FileAttributionText": "attributionTexts",
}
_SNIPPET_TAGS = {
    "SnippetFromFileSPDXID": "snippetFromFile",
    "SnippetLicenseConcluded": "licenseConcluded",
    "SnippetCopyrightText": "copyrightText",
    "SnippetComment": "comment",
    "SnippetName": "name",
    "SnippetLicenseComments": "licenseComments",
}
_LICENSE_TAGS = {"ExtractedText": "extractedText", "LicenseName": "name", "LicenseComment": "comment"}
_IGNORED = {"Reviewer", "ReviewDate", "ReviewComment", "ExternalRefComment", "RelationshipComment"}
_TEXT_BLOCK = re.compile(r"<text>(.*?)</text>", re.DOTALL)


class TagValueDocument:
    """A tag-value document in the SPDX JSON shape, with the source line of each JSON pointer."""

    def __init__(self) -> None:
        self.doc: dict[str, Any] = {}
        self.lines: dict[str, int] = {}
        self.issues: list[Issue] = []

    def line_of(self, pointer: str) -> int | None:
        while True:
            if pointer in self.lines:
                return self.lines[pointer]
            if pointer in ("", "/"):
                return None
            pointer = pointer.rsplit("/", 1)[0]

    def locate(self, issue: Issue) -> Issue:
        line = self.line_of(issue.path)
        where = f"line {line} ({issue.path})" if line else issue.path
        return Issue(where, issue.message, issue.severity)


def _logical_lines(text: str) -> list[tuple[int, str, str]]:
    """(line number, tag, value) with <text>...</text> values joined across lines."""
    out: list[tuple[int, str, str]] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        raw = lines[i]
        number = i + 1
        i += 1
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        tag, sep, value = raw.partition(":")
        if not sep:
            out.append((number, "", raw))
            continue
        value = value.strip()
        if value.startswith("<text>") and "</text>" not in value:
            block = [value]
            while i < len(lines) and "</text>" not in lines[i]:
                block.append(lines[i])
                i += 1
            if i < len(lines):
                block.append(lines[i])
                i += 1
            value = "\n".join(block)
        match = _TEXT_BLOCK.fullmatch(value.strip())
        if match:
            value = match.group(1)
        out.append((number, tag.strip(), value))
    return out


def _checksum(value: str) -> dict[str, str] | None:
    alg, sep, digest = value.partition(":")
    if not sep:
        return None
    return {"algorithm": alg.strip(), "checksumValue": digest.strip()}


def parse_tag_value(text: str) -> TagValueDocument:
    """Tag-value text into the SPDX JSON shape; malformed lines and unknown tags become issues."""
    tv = TagValueDocument()
    doc = tv.doc
    lines = tv.lines
    current: dict[str, Any] | None = None  # the package/file/snippet/license being read
    current_ptr = ""
    section = "document"
    by_id: dict[str, dict[str, Any]] = {}
    pending_annotations: list[tuple[dict[str, Any], int]] = []
    annotation: dict[str, Any] | None = None

    def start(kind: str, node: dict[str, Any], line: int) -> str:
        items = doc.setdefault(kind, [])
        items.append(node)
        ptr = f"/{kind}/{len(items) - 1}"
        lines[ptr] = line
        return ptr

    for line, tag, value in _logical_lines(text):
        if not tag:
            tv.issues.append(Issue(f"line {line}", f"not a 'Tag: value' line: {value.strip()[:60]!r}"))
            continue
        if tag in _DOC_TAGS:
            doc[_DOC_TAGS[tag]] = value
            lines["/" + _DOC_TAGS[tag]] = line
        elif tag == "Creator":
            doc.setdefault("creationInfo", {}).setdefault("creators", []).append(value)
            lines.setdefault("/creationInfo", line)
        elif tag in _CREATION_TAGS:
            doc.setdefault("creationInfo", {})[_CREATION_TAGS[tag]] = value
            lines.setdefault("/creationInfo", line)
        elif tag == "ExternalDocumentRef":
            parts = value.split()
            ref: dict[str, Any] = {}
            if len(parts) >= 3:
                ref = {"externalDocumentId": parts[0], "spdxDocument": parts[1]}
                checksum = _checksum(" ".join(parts[2:]))
                if checksum:
                    ref["checksum"] = checksum
            else:
                tv.issues.append(
                    Issue(f"line {line}", "ExternalDocumentRef needs: id, document URI, checksum")
                )
            doc.setdefault("externalDocumentRefs", []).append(ref)
        elif tag == "SPDXID":
            target = current if current is not None else doc
            target["SPDXID"] = value
            by_id[value] = target
            lines[(current_ptr or "") + "/SPDXID"] = line
        elif tag == "PackageName":
            section, current = "packages", {"name": value}
            current_ptr = start("packages", current, line)
        elif tag == "FileName":
            section, current = "files", {"fileName": value}
            current_ptr = start("files", current, line)
        elif tag == "SnippetSPDXID":
            section, current = "snippets", {"SPDXID": value}
            current_ptr = start("snippets", current, line)
            by_id[value] = current
        elif tag == "LicenseID":
            section, current = "hasExtractedLicensingInfos", {"licenseId": value}
            current_ptr = start("hasExtractedLicensingInfos", current, line)
        elif tag == "Relationship":
            parts = value.split()
            rel: dict[str, Any] = {}
            if len(parts) == 3:
                rel = {
                    "spdxElementId": parts[0],
                    "relationshipType": parts[1],
                    "relatedSpdxElement": parts[2],
                }
            else:
                tv.issues.append(Issue(f"line {line}", f"Relationship needs 'A TYPE B', got {value!r}"))
            ptr = start("relationships", rel, line)
            del ptr
        elif tag == "Annotator":
            annotation = {"annotator": value}
            pending_annotations.append((annotation, line))
        elif tag in ("AnnotationDate", "AnnotationType", "AnnotationComment", "SPDXREF"):
            if annotation is None:
                tv.issues.append(Issue(f"line {line}", f"{tag} before any Annotator"))
                continue
            key = {
                "AnnotationDate": "annotationDate",
                "AnnotationType": "annotationType",
                "AnnotationComment": "comment",
                "SPDXREF": "_target",
            }[tag]
            annotation[key] = value
        elif section == "packages" and current is not None and tag in _PACKAGE_TAGS:
            if tag == "PrimaryPackagePurpose":  # tag-value writes OPERATING-SYSTEM, JSON OPERATING_SYSTEM
                value = value.replace("-", "_")
            current[_PACKAGE_TAGS[tag]] = value
            lines[f"{current_ptr}/{_PACKAGE_TAGS[tag]}"] = line
        elif section == "packages" and current is not None and tag == "FilesAnalyzed":
            current["filesAnalyzed"] = value.strip().lower() == "true"
            lines[f"{current_ptr}/filesAnalyzed"] = line
        elif section == "packages" and current is not None and tag == "PackageVerificationCode":
            code, _, excluded = value.partition("(")
            current["packageVerificationCode"] = {"packageVerificationCodeValue": code.strip()}
            if excluded:
                excl = excluded.rstrip(")").replace("excludes:", "").strip()
                current["packageVerificationCode"]["packageVerificationCodeExcludedFiles"] = [excl]
        elif section == "packages" and current is not None and tag == "PackageChecksum":
            checksum = _checksum(value)
            if checksum is None:
                tv.issues.append(Issue(f"line {line}", f"PackageChecksum needs 'ALG: value', got {value!r}"))
            else:
                current.setdefault("checksums", []).append(checksum)
                lines[f"{current_ptr}/checksums/{len(current['checksums']) - 1}"] = line
        elif section == "packages" and current is not None and tag in _PACKAGE_LISTS:
            current.setdefault(_PACKAGE_LISTS[tag], []).append(value)
        elif section == "packages" and current is not None and tag == "ExternalRef":
            parts = value.split(None, 2)
            if len(parts) != 3:
                tv.issues.append(
                    Issue(f"line {line}", f"ExternalRef needs 'CATEGORY TYPE LOCATOR', got {value!r}")
                )
                continue
            current.setdefault("externalRefs", []).append(
                {"referenceCategory": parts[0], "referenceType": parts[1], "referenceLocator": parts[2]}
            )
            lines[f"{current_ptr}/externalRefs/{len(current['externalRefs']) - 1}"] = line
        elif section == "files" and current is not None and tag in _FILE_TAGS:
            current[_FILE_TAGS[tag]] = value
        elif section == "files" and current is not None and tag in _FILE_LISTS:
            current.setdefault(_FILE_LISTS[tag], []).append(value)
        elif section == "files" and current is not None and tag == "FileChecksum":
            checksum = _checksum(value)
            if checksum is not None:
                current.setdefault("checksums", []).append(checksum)
        elif section == "snippets" and current is not None and tag in _SNIPPET_TAGS:
            current[_SNIPPET_TAGS[tag]] = value
        elif section == "snippets" and current is not None and tag == "LicenseInfoInSnippet":
            current.setdefault("licenseInfoInSnippets", []).append(value)
        elif (
            section == "snippets" and current is not None and tag in ("SnippetByteRange", "SnippetLineRange")
        ):
            start_s, _, end_s = value.partition(":")
            kind = "offset" if tag == "SnippetByteRange" else "lineNumber"
            target_file = current.get("snippetFromFile")
            if start_s.strip().isdigit() and end_s.strip().isdigit():
                current.setdefault("ranges", []).append(
                    {
                        "startPointer": {kind: int(start_s), "reference": target_file},
                        "endPointer": {kind: int(end_s), "reference": target_file},
                    }
                )
        elif section == "hasExtractedLicensingInfos" and current is not None and tag in _LICENSE_TAGS:
            current[_LICENSE_TAGS[tag]] = value
        elif (
            section == "hasExtractedLicensingInfos" and current is not None and tag == "LicenseCrossReference"
        ):
            current.setdefault("seeAlsos", []).append(value)
        elif tag in _IGNORED:
            continue
        else:
            tv.issues.append(Issue(f"line {line}", f"unknown or misplaced tag {tag!r}"))

    for ann, _line in pending_annotations:
        target_id = ann.pop("_target", None)
        owner = by_id.get(target_id) if isinstance(target_id, str) else None
        (doc if owner is None else owner).setdefault("annotations", []).append(ann)
    return tv


# --- SPDX 3.0 JSON-LD -----------------------------------------------------------------------------------

_SPDX3_FORWARD = {"dependsOn", "contains", "hasStaticLink", "hasDynamicLink", "hasPrerequisite"}


def normalise_spdx3(doc: dict[str, Any], spec_version: str) -> tuple[Sbom, list[str]]:
    """SPDX 3.0 JSON-LD: software_Package elements, their relationships, creation info and licences."""
    dropped: list[str] = []
    graph: list[Any] = doc["@graph"] if isinstance(doc.get("@graph"), list) else [doc]
    elements = {e.get("spdxId") or e.get("@id"): e for e in graph if isinstance(e, dict)}

    def names(refs: Any) -> str | None:
        if isinstance(refs, str):
            refs = [refs]
        for r in refs or ():
            el = elements.get(r) if isinstance(r, str) else r
            if isinstance(el, dict) and isinstance(el.get("name"), str):
                return el["name"]
        return None

    packages = [e for e in graph if isinstance(e, dict) and e.get("type") in ("software_Package", "Package")]
    license_of: dict[str, list[str]] = {}
    edges: list[tuple[str, str]] = []
    described: list[str] = []
    for e in graph:
        if not isinstance(e, dict) or e.get("type") not in ("Relationship", "LifecycleScopedRelationship"):
            continue
        src, kind, targets = e.get("from"), e.get("relationshipType"), e.get("to") or []
        if not isinstance(src, str) or not isinstance(kind, str):
            continue
        for t in targets if isinstance(targets, list) else [targets]:
            if not isinstance(t, str):
                continue
            if kind in ("hasDeclaredLicense", "hasConcludedLicense"):
                lic = elements.get(t)
                text = None
                if isinstance(lic, dict):
                    text = lic.get("simplelicensing_licenseExpression") or lic.get("name")
                if isinstance(text, str):
                    license_of.setdefault(src, []).append(text)
            elif kind in _SPDX3_FORWARD:
                edges.append((src, t))
            elif kind == "describes":
                described.append(t)
    for e in graph:
        if isinstance(e, dict) and e.get("type") == "SpdxDocument":
            roots = e.get("rootElement") or []
            described.extend(r for r in (roots if isinstance(roots, list) else [roots]) if isinstance(r, str))

    comps: list[Component] = []
    for i, pkg in enumerate(packages):
        name = pkg.get("name")
        ref = pkg.get("spdxId") or pkg.get("@id")
        if not isinstance(name, str) or not isinstance(ref, str):
            dropped.append(f"/@graph package {i}: no name or spdxId")
            continue
        cpes = tuple(
            x["identifier"]
            for x in pkg.get("externalIdentifier") or ()
            if isinstance(x, dict) and str(x.get("externalIdentifierType", "")).startswith("cpe")
        )
        hashes = tuple(
            Hash(normalise_hash_alg(h["algorithm"]), h["hashValue"])
            for h in pkg.get("verifiedUsing") or ()
            if isinstance(h, dict)
            and isinstance(h.get("algorithm"), str)
            and isinstance(h.get("hashValue"), str)
        )
        purpose = pkg.get("software_primaryPurpose")
        ctype = (
            PURPOSE_MAP.get(
                purpose.upper().replace("OPERATINGSYSTEM", "OPERATING-SYSTEM"), ComponentType.OTHER
            )
            if isinstance(purpose, str)
            else ComponentType.LIBRARY
        )
        comps.append(
            Component(
                ref=ref,
                name=name,
                version=_text(pkg.get("software_packageVersion")),
                type=ctype,
                supplier=names(pkg.get("suppliedBy")),
                manufacturer=names(pkg.get("originatedBy")),
                purl=_text(pkg.get("software_packageUrl")),
                cpes=cpes,
                hashes=hashes,
                licenses=tuple(license_of.get(ref, ())),
                description=_text(pkg.get("summary")) or _text(pkg.get("description")),
                support=support.declared_support(
                    None, _text(pkg.get("validUntilTime")), source="spdx:validUntilTime"
                )
                if _text(pkg.get("validUntilTime"))
                else None,
            )
        )
    known = {c.ref for c in comps}
    described = [d for d in dict.fromkeys(described) if d in known]
    primary = next((c for c in comps if c.ref == described[0]), None) if len(described) == 1 else None
    if primary is not None:
        comps = [c for c in comps if c is not primary]
    deps: dict[str, list[str]] = {}
    for a, b in edges:
        if b not in deps.setdefault(a, []):
            deps[a].append(b)
    creation: dict[str, Any] = next(
        (e for e in graph if isinstance(e, dict) and e.get("type") == "CreationInfo"), {}
    )
    tools = tuple(n for n in (names([t]) for t in creation.get("createdUsing") or ()) if n)
    authors = tuple(n for n in (names([a]) for a in creation.get("createdBy") or ()) if n)
    spdx_doc: dict[str, Any] = next(
        (e for e in graph if isinstance(e, dict) and e.get("type") == "SpdxDocument"), {}
    )
    info = DocumentInfo(
        format="spdx",
        spec_version=spec_version,
        encoding="json-ld",
        serial=_text(spdx_doc.get("spdxId")),
        name=_text(spdx_doc.get("name")),
        timestamp=parse_timestamp(creation.get("created")),
        authors=authors,
        tools=tools,
        primary=primary.ref if primary is not None else None,
    )
    sbom = Sbom(info, comps, {k: tuple(v) for k, v in deps.items()}, primary)
    return sbom, dropped
