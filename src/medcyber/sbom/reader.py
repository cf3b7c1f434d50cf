"""Reading any supported SBOM file into the normalised model: the one entry point for everyone.

Contract of :func:`read_sbom`
-----------------------------
* **Unreadable input raises** :class:`SbomError` with a plain reason and nothing else: too large, empty,
  binary/PDF/ZIP, UTF-16, not well-formed JSON/XML, unsafe XML (any DOCTYPE/ENTITY), nesting deeper than
  the limit, too many components, or content that is no CycloneDX/SPDX SBOM ("not an SBOM: ..."). No other
  exception escapes for bad content.
* **Readable input returns** a :class:`ReadResult`:

  - ``valid`` -- the document conforms to its official schema *and* to the semantic rules the schema
    cannot express (unique refs, dependency graph naming known components, ...). Every problem is an
    :class:`Issue` in ``errors`` with its location (JSON pointer; element path and line for XML; line for
    tag-value; for CycloneDX protobuf text format a JSON pointer into the document mapped to the JSON
    shape, prefixed ``(textproto mapped)``).
  - ``sbom`` -- filled whenever the document was recognised, **also when it is invalid**, so a report can
    still describe it. Callers that store SBOMs must refuse ``valid=False`` unless the user asked for a
    lenient import. (``sbom`` is None only when the document was recognised but is unusable, e.g. a
    CycloneDX XML in an unknown namespace.)
  - ``dropped`` -- what the normalised SBOM leaves out and why (components without a name, unparseable
    timestamps, ...). With ``lenient=True`` the reader also *repairs* what an import cannot keep as is,
    and says so in ``dropped``: duplicate bom-refs are renamed, dependency edges to unknown components
    are removed. Without ``lenient`` the graph is returned as written.
  - ``validate=False`` skips the schema and semantic checks (``valid`` is then True and unverified).

Formats are recognised from the content only, never from the file name (see :mod:`detect`).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import cyclonedx, spdx, textproto
from . import validate as checks
from .detect import Detected, detect
from .model import Issue, ReadResult, Sbom, SbomError

__all__ = ["Limits", "read_sbom", "iter_sbom_files", "SbomError", "ReadResult"]


@dataclass(frozen=True, slots=True)
class Limits:
    """Limits applied before and while parsing (hostile or accidental giant input)."""

    max_bytes: int = 200 * 1024 * 1024
    max_depth: int = 64
    max_components: int = 1_000_000


_DEFAULT_LIMITS = Limits()
_SKIP_SUFFIXES = {".md", ".txt", ".license", ".py", ".yaml", ".yml", ".html", ".png", ".jpg", ".pdf", ".gz"}


def _load(source: Path | str | bytes, label: str, limits: Limits) -> bytes:
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        if len(data) > limits.max_bytes:
            raise SbomError(
                label, f"the content is {len(data):,} bytes, above the limit of {limits.max_bytes:,}"
            )
        return data
    path = Path(source)
    try:
        size = path.stat().st_size
        if not path.is_file():
            raise SbomError(label, "not a regular file")
        if size > limits.max_bytes:
            raise SbomError(label, f"the file is {size:,} bytes, above the limit of {limits.max_bytes:,}")
        with path.open("rb") as fh:
            data = fh.read(limits.max_bytes + 1)
    except OSError as exc:
        raise SbomError(label, f"cannot read the file: {exc.strerror or exc}") from None
    if len(data) > limits.max_bytes:
        raise SbomError(label, f"the file is larger than the limit of {limits.max_bytes:,} bytes")
    return data


def read_sbom(
    source: Path | str | bytes,
    *,
    name: str | None = None,
    lenient: bool = False,
    validate: bool = True,
    limits: Limits = _DEFAULT_LIMITS,
) -> ReadResult:
    """Read, validate and normalise one SBOM (a path, or the bytes of one). See the module contract."""
    label = name or (str(source) if isinstance(source, (str, Path)) else "<bytes>")
    data = _load(source, label, limits)
    det = detect(data, label, max_depth=limits.max_depth)
    del data
    try:
        return _read(det, label, lenient=lenient, validate=validate, limits=limits)
    except SbomError:
        raise
    except RecursionError:
        raise SbomError(label, "the document is nested too deeply to read") from None
    except (TypeError, ValueError, KeyError, AttributeError, IndexError) as exc:
        # A shape no schema allows that slipped through with validate=False: still no traceback.
        raise SbomError(
            label, f"the document has an unexpected structure ({type(exc).__name__}: {exc})"
        ) from None


def _read(det: Detected, label: str, *, lenient: bool, validate: bool, limits: Limits) -> ReadResult:
    result = ReadResult(
        source=label,
        sbom=None,
        valid=True,
        format=det.format,
        spec_version=det.spec_version,
        encoding=det.encoding,
    )
    if det.problem is not None:
        result.valid = False
        result.errors.append(Issue("/", det.problem))
        return result
    errors: list[Issue] = []
    sbom: Sbom
    if det.format == "cyclonedx" and det.encoding == "protobuf-text":
        return _read_textproto(det, result, lenient=lenient, validate=validate, limits=limits)
    if det.format == "cyclonedx":
        if det.encoding == "json":
            doc: dict[str, Any] = det.content
            _check_count(_count_cdx_json(doc), label, limits)
            if validate:
                errors.extend(
                    checks.json_schema_issues(checks.cyclonedx_json_validator(det.spec_version), doc)
                )
        else:
            root = det.content
            count = int(root.xpath("count(//*[local-name()='component'])"))
            _check_count(count, label, limits)
            if validate:
                errors.extend(checks.xml_schema_issues(checks.cyclonedx_xsd(det.spec_version), root))
            doc = cyclonedx.xml_to_doc(root)
        if validate:
            errors.extend(checks.cyclonedx_semantic_issues(doc, det.spec_version))
        sbom, dropped = cyclonedx.normalise(doc, det.spec_version, det.encoding, lenient=lenient)
    elif det.encoding == "json":
        doc = det.content
        packages = doc.get("packages")
        _check_count(len(packages) if isinstance(packages, list) else 0, label, limits)
        if validate:
            errors.extend(_spdx_json_issues(doc, det.spec_version))
        sbom, dropped = spdx.normalise(doc, det.spec_version, "json", lenient=lenient)
    elif det.encoding == "tag-value":
        tv = spdx.parse_tag_value(det.content)
        _check_count(len(tv.doc.get("packages") or ()), label, limits)
        if validate:
            errors.extend(tv.issues)
            errors.extend(tv.locate(issue) for issue in _spdx_json_issues(tv.doc, det.spec_version))
        sbom, dropped = spdx.normalise(tv.doc, det.spec_version, "tag-value", lenient=lenient)
    else:  # SPDX 3 JSON-LD
        doc = det.content
        graph = doc.get("@graph")
        _check_count(len(graph) if isinstance(graph, list) else 0, label, limits)
        if validate:
            result.warnings.append(
                Issue(
                    "/",
                    "SPDX 3.0 JSON-LD is read without schema validation (only the 2.x schemas are shipped)",
                    severity="warning",
                )
            )
        sbom, dropped = spdx.normalise_spdx3(doc, det.spec_version)
    _check_count(len(sbom.components), label, limits)
    result.sbom = sbom
    result.errors = errors
    result.valid = not errors
    result.dropped = dropped
    return result


TEXTPROTO_PREFIX = "(textproto mapped) "


def _read_textproto(
    det: Detected, result: ReadResult, *, lenient: bool, validate: bool, limits: Limits
) -> ReadResult:
    """A text-format Bom: mapped to the CycloneDX JSON shape, then checked and normalised like JSON.

    Issue paths are JSON pointers into the mapped document, prefixed ``(textproto mapped)``.
    """
    bom: textproto.TextprotoBom = det.content
    version = det.spec_version
    doc, notes = textproto.to_cyclonedx_json(bom.message, version)
    warnings = [Issue(TEXTPROTO_PREFIX + (path or "/"), text, severity="warning") for path, text in notes]
    if bom.version_from_header:
        doc["specVersion"] = version
        warnings.append(
            Issue(
                TEXTPROTO_PREFIX + "/specVersion",
                f"the Bom has no spec_version; {version} is taken from the header '# proto-file: "
                f"{bom.proto_file}'",
                severity="warning",
            )
        )
    header_version = textproto.proto_file_version(bom.proto_file)
    if header_version and header_version != version:
        warnings.append(
            Issue(
                TEXTPROTO_PREFIX + "/specVersion",
                f"spec_version is {version} but the header names '{bom.proto_file}'; read and checked as "
                f"CycloneDX {version}",
                severity="warning",
            )
        )
    _check_count(_count_cdx_json(doc), result.source, limits)
    errors: list[Issue] = []
    if validate:
        validator = checks.cyclonedx_json_validator(version)
        schema_errors = checks.json_schema_issues(validator, doc)
        unsigned = textproto.signature_only(
            doc,
            [e.path for e in schema_errors],
            lambda trial: {e.path for e in checks.json_schema_issues(validator, trial)},
        )
        for issue in schema_errors:
            if issue.path in unsigned:
                warnings.append(
                    Issue(
                        TEXTPROTO_PREFIX + issue.path,
                        "no JSF signature: signatures have no protobuf encoding, so the schema's "
                        "signature requirement is not applied to a textproto BOM",
                        severity="warning",
                    )
                )
            else:
                errors.append(Issue(TEXTPROTO_PREFIX + issue.path, issue.message))
        errors.extend(
            Issue(TEXTPROTO_PREFIX + i.path, i.message)
            for i in checks.cyclonedx_semantic_issues(doc, version)
        )
    sbom, dropped = cyclonedx.normalise(doc, version, "protobuf-text", lenient=lenient)
    _check_count(len(sbom.components), result.source, limits)
    result.sbom = sbom
    result.errors = errors
    result.warnings = warnings
    result.valid = not errors
    result.dropped = dropped
    return result


def _spdx_json_issues(doc: dict[str, Any], version: str) -> list[Issue]:
    if version not in checks.SPDX_JSON_VERSIONS:
        return [Issue("/spdxVersion", f"SPDX {version} is not supported (2.2 and 2.3 are)")]
    issues = checks.json_schema_issues(checks.spdx_json_validator(version), doc)
    issues.extend(checks.spdx_semantic_issues(doc))
    return issues


def _count_cdx_json(doc: dict[str, Any]) -> int:
    comps = doc.get("components")
    return len(comps) if isinstance(comps, list) else 0


def _check_count(count: int, label: str, limits: Limits) -> None:
    if count > limits.max_components:
        raise SbomError(label, f"{count:,} components, above the limit of {limits.max_components:,}")


def iter_sbom_files(paths: Iterable[Path]) -> Iterator[Path]:
    """The files named, and every file under the directories named (recursively, sorted, hidden skipped).

    Files given explicitly are always yielded; inside directories, files whose suffix marks them as
    documentation or images (README.md, LICENSE.txt, ...) and files without a suffix named LICENSE/NOTICE
    are skipped -- whether a file is an SBOM is still decided from its content by :func:`read_sbom`.
    """
    for path in paths:
        path = Path(path)
        if path.is_dir():
            for root, dirs, files in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for fname in sorted(files):
                    if fname.startswith("."):
                        continue
                    candidate = Path(root) / fname
                    if candidate.suffix.lower() in _SKIP_SUFFIXES:
                        continue
                    if candidate.suffix == "" and fname.upper() in (
                        "LICENSE",
                        "NOTICE",
                        "COPYING",
                        "AUTHORS",
                    ):
                        continue
                    yield candidate
        else:
            yield path
